import { z } from 'zod';
import { parseDuration } from '../../util/duration.ts';
import { WeirError } from '../../errors.ts';
import type { DiffRules } from './types.ts';
import type { CompareCollectorOptions, CompareEndpoint } from './collector.ts';

/**
 * The `compare:` block of a service in weir.yaml (tap compare), to embed in the service schema:
 *
 * ```yaml
 * services:
 *   orders:
 *     versions: { v1: http://10.0.0.1:8080, v1b: http://10.0.0.2:8080, v2: http://10.0.0.3:8080 }
 *     compare:
 *       candidate: v2        # the new code
 *       secondary: v1b       # a second instance of the stable code (the noise baseline)
 *       sampleRate: 0.01     # share of live requests compared
 *       maxConcurrent: 16
 *       ignore: { headers: [x-served-by], paths: [meta.generatedAt, 'items[*].cacheKey'] }
 *       arraysAsSets: [tags]
 *       endpoints:
 *         - { name: get-order, method: GET, path: /orders/:id, ignore: { paths: [eta] } }
 * ```
 */

const duration = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a duration: use a number of milliseconds or a string like 250ms, 10s` });
    return z.NEVER;
  }
  return ms;
});

const versionName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: 'must name a version of this service' });
const httpMethod = z.string().regex(/^(\*|[A-Za-z]+)$/, { message: 'must be an HTTP method such as GET, or *' });

export const compareIgnoreSchema = z.strictObject({
  /** Header names not compared, case-insensitive, `*` wildcards (added to the defaults: date, etag, …). */
  headers: z.array(z.string().min(1)).optional(),
  /** Body field-path globs not compared: `meta.generatedAt`, `items[*].cacheKey`, `**.traceId`. */
  paths: z.array(z.string().min(1)).optional(),
  /** Do not compare status codes. */
  status: z.boolean().optional(),
});

export const compareEndpointSchema = z.strictObject({
  name: z.string().min(1),
  /** HTTP method; absent or `*` for any. */
  method: httpMethod.optional(),
  /** Path pattern: `/orders/:id`, `/orders/{id}/items`, `*` one segment, `**` the rest. */
  path: z.string().startsWith('/', { message: 'must start with /' }),
  ignore: compareIgnoreSchema.optional(),
  arraysAsSets: z.array(z.string().min(1)).optional(),
});

export const compareThresholdsSchema = z.strictObject({
  /** Minimum relative difference between candidate and noise counts, percent. Default 20. */
  relative: z.number().min(0).max(100).optional(),
  /** Minimum absolute difference, percent of the endpoint's requests. Default 0.03. */
  absolute: z.number().min(0).max(100).optional(),
  /** Relative to C+N (Diffy's rule, default) or to C. */
  relativeTo: z.enum(['sum', 'candidate']).optional(),
});

/**
 * The `compare:` block of a service (see the top of this file for the YAML).
 * @example const cfg = compareSchema.parse({ candidate: 'v2', secondary: 'v1b', sampleRate: 0.05 });
 */
export const compareSchema = z.strictObject({
  /** The version under test. */
  candidate: versionName,
  /** A second instance of the stable code; its disagreements with primary measure the noise. */
  secondary: versionName,
  /** The reference version. Default: the service's stable version. */
  primary: versionName.optional(),
  /** Share of live requests compared, 0..1. Default 0.01. */
  sampleRate: z.number().min(0).max(1).optional(),
  /** Most comparisons in flight; requests sampled beyond it are skipped (and counted). Default 16. */
  maxConcurrent: z.number().int().positive().optional(),
  /** The proxy's busy share (0..1, as the shadow's `maxLoad`) above which comparisons are skipped as `overload`. Default 0.8. */
  maxLoad: z.number().gt(0).max(1).optional(),
  /** Time allowed for each of the three responses. Default 10s. */
  timeout: duration.optional(),
  /** Compare requests with side effects (anything but GET/HEAD/OPTIONS) too. Default false. */
  allowSideEffects: z.boolean().optional(),
  ignore: compareIgnoreSchema.optional(),
  arraysAsSets: z.array(z.string().min(1)).optional(),
  endpoints: z.array(compareEndpointSchema).optional(),
  thresholds: compareThresholdsSchema.optional(),
  /** Examples kept per field. Default 3. */
  examples: z.number().int().min(0).max(100).optional(),
});

export type CompareConfig = z.output<typeof compareSchema>;
export type CompareEndpointConfig = z.output<typeof compareEndpointSchema>;

/** Defaults for the live integration (the proxy applies them). */
export const COMPARE_DEFAULTS = { sampleRate: 0.01, maxConcurrent: 16, maxLoad: 0.8, timeoutMs: 10_000, allowSideEffects: false } as const;

function rulesOf(ignore: z.output<typeof compareIgnoreSchema> | undefined, arraysAsSets: string[] | undefined): DiffRules {
  return { ignoreHeaders: ignore?.headers, ignorePaths: ignore?.paths, ignoreStatus: ignore?.status, arraysAsSets };
}

/**
 * The collector options a `compare:` block describes.
 * @example
 * const cfg = compareSchema.parse(yaml.services.orders.compare);
 * const collector = createCompareCollector({ ...collectorOptionsFromConfig(cfg), redact });
 */
export function collectorOptionsFromConfig(cfg: CompareConfig): CompareCollectorOptions {
  const endpoints: CompareEndpoint[] = (cfg.endpoints ?? []).map((e) => ({
    name: e.name,
    method: e.method,
    path: e.path,
    rules: rulesOf(e.ignore, e.arraysAsSets),
  }));
  return {
    rules: rulesOf(cfg.ignore, cfg.arraysAsSets),
    endpoints,
    thresholds: cfg.thresholds,
    maxExamples: cfg.examples,
  };
}

/**
 * True for methods compared without `allowSideEffects`.
 * @example isSafeMethod('get') // → true; isSafeMethod('POST') // → false
 */
export function isSafeMethod(method: string): boolean {
  const m = method.toUpperCase();
  return m === 'GET' || m === 'HEAD' || m === 'OPTIONS';
}

/**
 * Validates a `compare:` block on its own (weir.yaml embeds {@link compareSchema} instead), collecting
 * every problem with its path. Throws WeirError CONFIG_INVALID with `details: [{ path, message }]`.
 * @example parseCompareConfig({ candidate: 'v2', secondary: 'v1b', sampleRate: 0.05 })
 */
export function parseCompareConfig(input: unknown, at = 'compare'): CompareConfig {
  const r = compareSchema.safeParse(input);
  if (r.success) return r.data;
  const details = r.error.issues.map((i) => ({
    path: [at, ...i.path].map((p, k) => (typeof p === 'number' ? `[${p}]` : k === 0 ? String(p) : `.${String(p)}`)).join(''),
    message: i.message,
  }));
  throw new WeirError('CONFIG_INVALID', details.map((d) => `${d.path}: ${d.message}`).join('\n'), { details });
}
