import { z } from 'zod';
import { parseDuration } from '../util/duration.ts';
import { shadowSchema } from '../proxy/shadow/config.ts';
import { compareSchema } from '../proxy/compare/config.ts';
import { faultsSchema } from '../proxy/faults/config.ts';
import { experimentsSchema } from '../experiments/config.ts';

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

/** One rollout step: exactly one of setWeight, pause or analysis (checked in validate.ts). */
export const rolloutStepSchema = z.strictObject({
  setWeight: z.number().min(0).max(100).optional(),
  /** `{}` waits for a person (`weir rollout promote`); `{ duration: 1m }` waits that long. */
  pause: z.strictObject({ duration: duration.optional() }).optional(),
  /** Runs the service's analysis `count` times, every `interval`. */
  analysis: z.strictObject({ interval: duration.optional(), count: z.number().int().positive().optional() }).optional(),
});

const thresholdRange = z.strictObject({ min: z.number().optional(), max: z.number().optional() });

/** One analysis metric: a built-in, an event-store calculation, a PromQL query or a webhook (exactly one). */
export const analysisMetricSchema = z.strictObject({
  name: z.string().min(1),
  /** request-success-rate, request-duration-pNN (e.g. p99), error-count. */
  builtin: z.string().optional(),
  /** An event-store calculation per version, e.g. `P95(duration_ms)`, with optional query-spec filters. */
  query: z.strictObject({ calculation: z.string().min(1), filters: z.array(z.strictObject({ column: z.string(), op: z.string(), value: z.unknown().optional() })).optional() }).optional(),
  /** PromQL over Prometheus' HTTP API; `{{version}}`, `{{service}}`, `{{interval}}` are substituted. */
  prometheus: z.strictObject({ address: url, query: z.string().min(1) }).optional(),
  /** A URL whose JSON answer is the value (a number, or `{ "value": n }`). */
  webhook: z.strictObject({ url, timeout: duration.optional() }).optional(),
  thresholdRange: thresholdRange.optional(),
  /** Also compare canary against baseline with the Mann–Whitney judge (event-store metrics). Default true for built-ins. */
  compare: z.boolean().optional(),
  critical: z.boolean().optional(),
});

const webhookSchema = z.strictObject({
  name: z.string().min(1),
  type: z.enum(['confirm-rollout', 'pre-rollout', 'confirm-promotion', 'event']),
  url,
  timeout: duration.optional(),
});

/** A time range during which no rollout advances, e.g. weekdays 17:00–21:00 Europe/Berlin. */
export const blackoutSchema = z.strictObject({
  days: z.array(z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'])).optional(),
  start: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { message: 'must be HH:MM, e.g. 17:00' }),
  end: z.string().regex(/^([01]\d|2[0-4]):[0-5]\d$/, { message: 'must be HH:MM, e.g. 21:00' }),
  timeZone: z.string().optional(),
});

/** How a service's new versions are released (src/rollout/, docs/rollouts.md). */
export const rolloutSchema = z.strictObject({
  strategy: z.enum(['canary', 'blueGreen']).optional(),
  steps: z.array(rolloutStepSchema).optional(),
  analysis: z.strictObject({
    /** Fewer live requests than this per version makes a run Inconclusive (default 100). */
    minSamples: z.number().int().nonnegative().optional(),
    interval: duration.optional(),
    /** Inconclusive runs in a row before the rollout pauses for a person (default 10). */
    inconclusiveLimit: z.number().int().positive().optional(),
    metrics: z.array(analysisMetricSchema).optional(),
    judge: z.strictObject({ compare: z.enum(['baseline', 'none']).optional(), pass: z.number().min(0).max(100).optional(), marginal: z.number().min(0).max(100).optional() }).optional(),
    /** The anytime-valid sequential test (docs/statistics.md); `false` turns it off. */
    sequential: z.union([z.literal(false), z.strictObject({
      alpha: z.number().gt(0).lt(1).optional(),
      allowedLatencyIncrease: z.number().min(0).optional(),
      /** How often the controller checks the sequential test between analysis runs (default 1s); false: only at runs. */
      watch: z.union([z.literal(false), duration]).optional(),
    })]).optional(),
    /** An error fingerprint only the canary has: fail (default) or ignore. */
    newErrors: z.enum(['fail', 'ignore']).optional(),
  }).optional(),
  /** Highest weight a canary step may set (the last step still promotes to 100). */
  maxWeight: z.number().min(0).max(100).optional(),
  blueGreen: z.strictObject({
    /** Promote after the preview analysis without waiting for a person (default false). */
    autoPromote: z.boolean().optional(),
    /** How long the old version stays ready for an instant rollback after the switch (default 10m). */
    keepWarm: duration.optional(),
  }).optional(),
  webhooks: z.array(webhookSchema).optional(),
  blackouts: z.array(blackoutSchema).optional(),
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
  /** The version chosen by a flag's variant (docs/flags.md, flags at the edge): after test overrides and cohorts, before weights. */
  flag: z.strictObject({
    key: z.string().min(1),
    /** Variant name → version name; a variant not listed falls through to the weights. */
    versions: z.record(z.string(), z.string()),
    /** Also send the variant to the upstream in this request header. */
    forwardHeader: z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, { message: 'must be a valid header name' }).optional(),
    /** Request headers the flag's rule may read as `headers.<name>` (the sticky key is always the targetingKey). */
    contextHeaders: z.array(z.string().min(1)).optional(),
  }).optional(),
  /** Passive outlier ejection. */
  outlier: z.strictObject({
    consecutiveFailures: z.number().int().positive().optional(),
    cooldown: duration.optional(),
  }).optional(),
  timeouts: timeoutsSchema.optional(),
  limits: limitsSchema.optional(),
  rollout: rolloutSchema.optional(),
  /** Copies of live requests to a version no user sees (docs/shadow-traffic.md). */
  shadow: shadowSchema.optional(),
  /** Live tap compare (docs/tap-compare.md). */
  compare: compareSchema.optional(),
  /** Fault injection (docs/fault-injection.md). */
  faults: faultsSchema.optional(),
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
  /** The state store: a postgres:// URL (`${VAR}` keeps the password out of the file) or a SQLite path; default dataDir/state.db. Read at start. */
  store: z.string().min(1).optional(),
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
    /** Keep events in the embedded, queryable store (dataDir/events.duckdb). Default true. */
    store: z.boolean().optional(),
    /** How long and how much the event store keeps. Defaults: 7d, 5GiB. */
    retention: z.strictObject({ maxAge: duration.optional(), maxSize: byteSize.optional() }).optional(),
    /** Also export every event as a span over OTLP/HTTP protobuf (bounded queue, retried, drop-and-count). */
    export: z.strictObject({
      otlp: url,
      headers: z.record(z.string(), z.string()).optional(),
    }).optional(),
  }).optional(),
  /** Feature flags in flagd's format (JSON or YAML), served over OFREP on the control listener. */
  flags: z.strictObject({
    files: z.array(z.string().min(1)).min(1, { message: 'list at least one flag file, e.g. [flags.yaml]' }).optional(),
    /** A local overrides file (development only): its flags win over files and the API; refused when NODE_ENV=production. */
    overrides: z.string().min(1).optional(),
  }).optional(),
  /** A/B experiments on flags: arms, allocation, metrics and guardrails (docs/experiments.md). */
  experiments: experimentsSchema.optional(),
  services: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: 'service names use letters, digits, ., _ and -' }), serviceSchema),
});

/** weir.yaml as written (after `${VAR}` substitution and duration/size parsing). */
export type WeirConfig = z.output<typeof configSchema>;
export type ServiceConfig = z.output<typeof serviceSchema>;
export type VersionConfig = z.output<typeof versionSchema>;
export type TimeoutsConfig = z.output<typeof timeoutsSchema>;
export type LimitsConfig = z.output<typeof limitsSchema>;
export type RolloutConfig = z.output<typeof rolloutSchema>;
export type RolloutStepConfig = z.output<typeof rolloutStepSchema>;
export type AnalysisMetricConfig = z.output<typeof analysisMetricSchema>;
export type BlackoutConfig = z.output<typeof blackoutSchema>;
