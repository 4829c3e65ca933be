import { z } from 'zod';
import { parseDuration } from '../util/duration.ts';

/**
 * The weir.yaml schema. One zod schema gives the TypeScript type, the runtime check and (through
 * `z.toJSONSchema`) the JSON Schema document; cross-field rules (weights name declared versions, …)
 * live in validate.ts, which also turns zod's issues into path-precise messages.
 */

const duration = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a duration: use a number of milliseconds or a string like 250ms, 10s, 1m` });
    return z.NEVER;
  }
  return ms;
});

const byteSize = z.union([z.number().int().nonnegative(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') return v;
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?$/i.exec(v.trim());
  if (!m) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a size: use a number of bytes or a string like 64KiB, 10MB` });
    return z.NEVER;
  }
  const unit = (m[2] ?? 'b').toLowerCase();
  const mult: Record<string, number> = { b: 1, kb: 1e3, kib: 1024, mb: 1e6, mib: 1024 ** 2, gb: 1e9, gib: 1024 ** 3 };
  return Math.round(Number(m[1]) * mult[unit]);
});

const listen = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, {
  message: 'must be host:port, e.g. 127.0.0.1:8080 (use port 0 for any free port)',
});

const url = z.string().refine((v) => {
  try {
    const u = new URL(v);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}, { message: 'must be an http:// or https:// URL, e.g. http://127.0.0.1:9001' });

export const timeoutsSchema = z.strictObject({
  /** Time to open a TCP connection to an instance. */
  connect: duration.optional(),
  /** Time from sending the request to the upstream's response headers. */
  headers: duration.optional(),
  /** Longest gap between two body chunks of the response. */
  idle: duration.optional(),
  /** Whole exchange, request start to last response byte; 0 = none. */
  total: duration.optional(),
});

export const limitsSchema = z.strictObject({
  /** Largest request body accepted (413 above it). */
  requestBody: byteSize.optional(),
  /** Largest response body passed on (502 above it when known in advance, reset otherwise). */
  responseBody: byteSize.optional(),
  /** Most requests in flight to one instance of this version before 503 OVERLOADED. */
  maxPending: z.number().int().positive().optional(),
});

const versionObject = z.strictObject({
  upstreams: z.array(url).min(1, { message: 'needs at least one upstream URL' }),
  timeouts: timeoutsSchema.optional(),
  limits: limitsSchema.optional(),
});

export const versionSchema = z.union([url, z.array(url).min(1, { message: 'needs at least one upstream URL' }), versionObject]);

const cohortMatch = z.strictObject({
  header: z.string().min(1).optional(),
  cookie: z.string().min(1).optional(),
  exact: z.string().optional(),
  prefix: z.string().optional(),
  in: z.array(z.string()).optional(),
});

export const cohortSchema = z.strictObject({
  match: cohortMatch,
  version: z.string(),
});

export const serviceSchema = z.strictObject({
  match: z.strictObject({
    host: z.string().min(1).optional(),
    pathPrefix: z.string().startsWith('/', { message: 'must start with /' }).optional(),
  }),
  versions: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: 'version names use letters, digits, ., _ and -' }), versionSchema),
  /** The baseline version: the one that takes the remaining traffic and that canaries are judged against. Default: the first declared. */
  stable: z.string().optional(),
  weights: z.record(z.string(), z.number().min(0).max(100)).optional(),
  /** header:NAME, cookie:NAME, query:NAME, ip, or none (a random choice per request). */
  stickyBy: z.string().optional(),
  testTraffic: z.strictObject({ tokens: z.array(z.string()) }).optional(),
  cohorts: z.array(cohortSchema).optional(),
  /** Passive outlier ejection. */
  outlier: z.strictObject({
    consecutiveFailures: z.number().int().positive().optional(),
    cooldown: duration.optional(),
  }).optional(),
  timeouts: timeoutsSchema.optional(),
  limits: limitsSchema.optional(),
});

export const configSchema = z.strictObject({
  proxy: z.strictObject({
    listen: listen.optional(),
    /** Extra worker processes sharing the listen socket (weir up --workers overrides). */
    workers: z.number().int().min(1).max(64).optional(),
    /** Largest request head (request line + headers); 431 above it. */
    maxHeaderBytes: byteSize.optional(),
    /** How long SIGTERM waits for in-flight requests. */
    drainTimeout: duration.optional(),
    timeouts: timeoutsSchema.optional(),
    limits: limitsSchema.optional(),
  }).optional(),
  control: z.strictObject({
    listen: listen.optional(),
  }).optional(),
  dataDir: z.string().min(1).optional(),
  events: z.strictObject({
    /** Events held in memory before new ones are dropped (and counted). */
    bufferSize: z.number().int().positive().optional(),
    /** How often the sink writes, at most this much is lost on a crash. */
    flushInterval: duration.optional(),
    /** Request headers recorded as `http.request.header.<name>` fields. */
    captureHeaders: z.array(z.string().min(1)).optional(),
    /** Record the raw sticky key as well as its hash. */
    rawStickyKey: z.boolean().optional(),
    /** Write the JSON-lines access log (dataDir/events.jsonl). */
    accessLog: z.boolean().optional(),
  }).optional(),
  /** Feature flags in flagd's format (JSON or YAML), served over OFREP on the control listener. */
  flags: z.strictObject({
    files: z.array(z.string().min(1)).min(1, { message: 'list at least one flag file, e.g. [flags.yaml]' }),
  }).optional(),
  services: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: 'service names use letters, digits, ., _ and -' }), serviceSchema),
});

/** weir.yaml as written (after `${VAR}` substitution and duration/size parsing). */
export type WeirConfig = z.output<typeof configSchema>;
export type ServiceConfig = z.output<typeof serviceSchema>;
export type VersionConfig = z.output<typeof versionSchema>;
export type TimeoutsConfig = z.output<typeof timeoutsSchema>;
export type LimitsConfig = z.output<typeof limitsSchema>;
