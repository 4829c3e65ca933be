import { EVENTS_TABLE } from './query/plan.ts';
import { plain } from './query/shape.ts';
import type { EventStore } from './store.ts';

/** One error fingerprint as `GET /api/v1/errors` lists it. */
export interface ErrorGroup {
  fingerprint: string;
  /** `TypeError: cannot read <str> of undefined`, or `HTTP 503 GET shop/api` for a bare 5xx. */
  title: string;
  count: number;
  first_seen: string;
  last_seen: string;
  /** Counts per service and version. */
  versions: { service: string | null; version: string | null; count: number }[];
  /** Set when the fingerprint was seen in exactly one version of a service that had other versions running in the window. */
  new_in?: string;
  /** The latest event with this fingerprint (its main fields). */
  example: Record<string, string | number | boolean | null>;
}

export interface ListErrorsOptions {
  /** Window start, ms (default: 24 h before the store's clock). */
  since?: number;
  until?: number;
  service?: string;
  /** Most fingerprints returned, by count (default 100). */
  limit?: number;
}

const EXAMPLE_FIELDS = [
  'timestamp', 'service.name', 'service.version', 'exception.type', 'exception.message', 'exception.stacktrace', 'error.type',
  'http.response.status_code', 'http.request.method', 'http.route', 'url.path', 'trace.trace_id', 'request.id', 'name',
  'otel.status_description',
] as const;

function title(ex: Record<string, unknown>): string {
  const type = ex['exception.type'];
  const message = ex['exception.message'] ?? ex['otel.status_description'];
  const http = `HTTP ${ex['http.response.status_code'] ?? '?'} ${ex['http.request.method'] ?? ''} ${ex['http.route'] ?? ex['url.path'] ?? ''}`.replace(/\s+/g, ' ').trim();
  if (type || message) return `${type ?? 'Error'}${message ? `: ${String(message).split('\n')[0].slice(0, 200)}` : ''}`;
  if (ex['error.type']) return `${ex['error.type']}${ex['http.response.status_code'] !== undefined ? ` (${http})` : ''}`;
  return ex['http.response.status_code'] === undefined && ex.name ? `ERROR ${ex.name}` : http;
}

/**
 * Lists error fingerprints in a window with counts per service and version, first and last seen, an
 * example, and `new_in` for fingerprints only one version of a multi-version service produced.
 *
 * @example
 *   const { errors } = await listErrors(store, { service: 'shop', since: Date.now() - 3_600_000 });
 */
export async function listErrors(store: EventStore, opts: ListErrorsOptions = {}): Promise<{ errors: ErrorGroup[] }> {
  const until = opts.until ?? store.clock() + 1;
  const since = opts.since ?? until - 86_400_000;
  const limit = Math.max(1, Math.min(opts.limit ?? 100, 1000));
  const params: (string | number)[] = [since, until];
  let where = `"timestamp" >= $1 AND "timestamp" < $2`;
  if (opts.service !== undefined) {
    params.push(opts.service);
    where += ` AND "service.name" = $${params.length}`;
  }
  const present = EXAMPLE_FIELDS.filter((f) => store.catalog.get(f));
  const exampleCols = present.map((f, i) => `arg_max("${f}", "timestamp") AS x${i}`).join(', ');
  const groups = await store.sql(
    `SELECT "error.fingerprint" AS fp, count(*) AS n, min("timestamp") AS first, max("timestamp") AS last, ${exampleCols}
     FROM ${EVENTS_TABLE} WHERE ${where} AND "error.fingerprint" IS NOT NULL GROUP BY 1 ORDER BY n DESC, fp LIMIT ${limit}`, params);
  if (groups.length === 0) return { errors: [] };
  const fps = groups.map((g) => String(g.fp));
  const inList = fps.map((_, i) => `$${params.length + i + 1}`).join(', ');
  const perVersion = await store.sql(
    `SELECT "error.fingerprint" AS fp, "service.name" AS s, "service.version" AS v, count(*) AS n
     FROM ${EVENTS_TABLE} WHERE ${where} AND "error.fingerprint" IN (${inList}) GROUP BY ALL ORDER BY n DESC, s, v`, [...params, ...fps]);
  const running = await store.sql(
    `SELECT "service.name" AS s, count(DISTINCT "service.version") AS n FROM ${EVENTS_TABLE} WHERE ${where} GROUP BY 1`, params);
  const versionsRunning = new Map(running.map((r) => [r.s, Number(r.n)]));

  const errors = groups.map((g): ErrorGroup => {
    const example: ErrorGroup['example'] = {};
    present.forEach((f, i) => {
      const v = plain(g[`x${i}`]);
      if (v !== null) example[f] = typeof v === 'string' && f === 'exception.stacktrace' ? v.slice(0, 4000) : v;
    });
    const versions = perVersion.filter((r) => r.fp === g.fp).map((r) => ({ service: plain(r.s) as string | null, version: plain(r.v) as string | null, count: Number(r.n) }));
    const group: ErrorGroup = {
      fingerprint: String(g.fp), title: title(example), count: Number(g.n),
      first_seen: new Date(Number(g.first)).toISOString(), last_seen: new Date(Number(g.last)).toISOString(),
      versions, example,
    };
    const services = new Set(versions.map((v) => v.service));
    if (versions.length === 1 && services.size === 1 && versions[0].version !== null && (versionsRunning.get(versions[0].service) ?? 0) > 1) {
      group.new_in = versions[0].version;
    }
    return group;
  });
  return { errors };
}

export interface NewError {
  fingerprint: string;
  title: string;
  /** Occurrences in the candidate version since `since`. */
  count: number;
  /** Share of the candidate's events (in the window) that carry this fingerprint. */
  rate: number;
  first_seen: string;
  example: Record<string, string | number | boolean | null>;
}

/**
 * Error fingerprints the candidate `version` of `service` produced since `since` that the `baseline`
 * version never produced in the store's lookback (default 7 days before `since`, up to now). For the
 * rollout analysis: a non-empty list is evidence against the candidate.
 *
 * @example
 *   const fresh = await newErrorsIn(store, { service: 'shop', version: 'v2', baseline: 'v1', since: stepStartedAt });
 *   if (fresh.length > 0) verdict = { phase: 'Failed', reason: `new error: ${fresh[0].title}` };
 */
export async function newErrorsIn(store: EventStore, opts: { service: string; version: string; baseline: string; since: number; lookbackMs?: number }): Promise<NewError[]> {
  const lookbackStart = opts.since - (opts.lookbackMs ?? 7 * 86_400_000);
  const { errors } = await listErrors(store, { service: opts.service, since: opts.since, limit: 1000 });
  const candidate = errors.filter((e) => e.versions.some((v) => v.version === opts.version));
  if (candidate.length === 0) return [];
  const fps = candidate.map((e) => e.fingerprint);
  const seen = await store.sql(
    `SELECT DISTINCT "error.fingerprint" AS fp FROM ${EVENTS_TABLE}
     WHERE "service.name" = $1 AND "service.version" = $2 AND "timestamp" >= $3 AND "error.fingerprint" IN (${fps.map((_, i) => `$${i + 4}`).join(', ')})`,
    [opts.service, opts.baseline, lookbackStart, ...fps]);
  const inBaseline = new Set(seen.map((r) => String(r.fp)));
  const [{ n }] = await store.sql(`SELECT count(*) AS n FROM ${EVENTS_TABLE} WHERE "service.name" = $1 AND "service.version" = $2 AND "timestamp" >= $3`, [opts.service, opts.version, opts.since]);
  const total = Math.max(1, Number(n));
  return candidate.filter((e) => !inBaseline.has(e.fingerprint)).map((e) => {
    const count = e.versions.filter((v) => v.version === opts.version).reduce((a, v) => a + v.count, 0);
    return { fingerprint: e.fingerprint, title: e.title, count, rate: count / total, first_seen: e.first_seen, example: e.example };
  });
}
