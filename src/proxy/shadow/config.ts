import { z } from 'zod';
import { byteCount, durationMs, requestMatchOf, requestMatchSchema } from '../zod-units.ts';
import type { RequestMatch } from '../zod-units.ts';

/**
 * The `shadow:` block of a service (traffic mirroring, "dark traffic"): copies of live requests go to
 * a version no user sees, fire-and-forget, and its answers are measured and thrown away.
 *
 * ```yaml
 * services:
 *   shop:
 *     versions: { stable: http://10.0.0.1:8080, next: http://10.0.0.2:8080 }
 *     shadow:
 *       version: next
 *       percent: 10                       # like Istio's mirrorPercentage
 *       match: { methods: [GET], pathPrefix: /api }
 *       credentials: { authorization: 'Bearer ${SHADOW_TOKEN}' }
 *       maxConcurrent: 64
 *       maxRps: 500
 *       maxLoad: 0.8                      # no copies while the proxy is over 80% busy
 *       maxBodyBytes: 64KiB
 *       timeout: 5s
 * ```
 * @example shadowSchema.parse({ version: 'next', percent: 10, maxBodyBytes: '64KiB' }).maxBodyBytes // → 65536
 */
export const shadowSchema = z.strictObject({
  /** The version that receives the copies. */
  version: z.string().min(1),
  /** Share of matching requests copied, percent (0–100). Default 100. */
  percent: z.number().min(0).max(100).optional(),
  match: requestMatchSchema.optional(),
  /** Copy POST, PUT, PATCH and DELETE too (each copy carries `x-weir-shadow: 1`). Default false. */
  allowUnsafeMethods: z.boolean().optional(),
  /** Append `-shadow` to the Host header of copies, as Envoy does. Default false. */
  hostSuffix: z.boolean().optional(),
  /**
   * The shadow's own credentials. The user's `Authorization` and `Cookie` never reach a shadow: they are
   * removed, and these (e.g. `${SHADOW_TOKEN}`) are sent instead when given.
   */
  credentials: z.strictObject({ authorization: z.string().optional(), cookie: z.string().optional() }).optional(),
  headers: z.strictObject({
    /** Header names removed from copies. */
    remove: z.array(z.string().min(1)).optional(),
    /** Headers set (replaced) on copies. */
    set: z.record(z.string().min(1), z.string()).optional(),
  }).optional(),
  /** Most copies in flight; more are dropped and counted. Default 64. */
  maxConcurrent: z.number().int().positive().optional(),
  /** Most copies started per second (a token bucket, burst = one second's worth); more are dropped and counted. Default: no limit. */
  maxRps: z.number().positive().optional(),
  /**
   * The proxy's busy share (its event loop's utilization over the last 100 ms, 0..1) above which copies
   * are dropped and counted as `overload`: users' requests come first when the proxy nears saturation.
   * 1 never drops. Default 0.8.
   */
  maxLoad: z.number().gt(0).max(1).optional(),
  /** Largest request body copied; a larger body drops the copy. Default 64 KiB. */
  maxBodyBytes: byteCount.optional(),
  /** Whole time a copy may take; then it is abandoned. Default 5 s. */
  timeout: durationMs.optional(),
});

export type ShadowConfig = z.output<typeof shadowSchema>;

/** The shadow settings of a service in the routing table (JSON-serialisable, defaults applied). */
export interface ShadowRoute {
  version: string;
  percent: number;
  match: RequestMatch;
  allowUnsafeMethods: boolean;
  hostSuffix: boolean;
  /** Lower-case names removed from copies (always includes authorization and cookie). */
  removeHeaders: string[];
  /** Lower-case name → value, set on copies (credentials included). */
  setHeaders: Record<string, string>;
  maxConcurrent: number;
  /** 0 = no limit. */
  maxRps: number;
  /** Busy share (0..1) above which copies are dropped as `overload`. */
  maxLoad: number;
  maxBodyBytes: number;
  timeoutMs: number;
}

export const SHADOW_DEFAULTS = { percent: 100, maxConcurrent: 64, maxLoad: 0.8, maxBodyBytes: 64 * 1024, timeoutMs: 5_000 } as const;

/**
 * The table's shadow settings for a `shadow:` block.
 * @example shadowRouteOf(shadowSchema.parse({ version: 'next', percent: 5 })).maxConcurrent // → 64
 */
export function shadowRouteOf(c: ShadowConfig): ShadowRoute {
  const set: Record<string, string> = {};
  for (const [k, v] of Object.entries(c.headers?.set ?? {})) set[k.toLowerCase()] = v;
  if (c.credentials?.authorization !== undefined) set.authorization = c.credentials.authorization;
  if (c.credentials?.cookie !== undefined) set.cookie = c.credentials.cookie;
  const remove = new Set(['authorization', 'cookie', ...(c.headers?.remove ?? []).map((h) => h.toLowerCase())]);
  return {
    version: c.version,
    percent: c.percent ?? SHADOW_DEFAULTS.percent,
    match: requestMatchOf(c.match),
    allowUnsafeMethods: c.allowUnsafeMethods ?? false,
    hostSuffix: c.hostSuffix ?? false,
    removeHeaders: [...remove],
    setHeaders: set,
    maxConcurrent: c.maxConcurrent ?? SHADOW_DEFAULTS.maxConcurrent,
    maxRps: c.maxRps ?? 0,
    maxLoad: c.maxLoad ?? SHADOW_DEFAULTS.maxLoad,
    maxBodyBytes: c.maxBodyBytes ?? SHADOW_DEFAULTS.maxBodyBytes,
    timeoutMs: c.timeout ?? SHADOW_DEFAULTS.timeoutMs,
  };
}
