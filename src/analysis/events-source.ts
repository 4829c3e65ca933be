import type { EventStore } from '../events/index.ts';
import { newErrorsIn } from '../events/index.ts';

/** The part of the event store analysis uses (so a test or another backend can stand in). */
export type EventsLike = Pick<EventStore, 'sql' | 'query' | 'flush'> & Partial<Pick<EventStore, 'clock'>>;

/** One version's traffic in a window. */
export interface VersionWindow {
  service: string;
  version: string;
  from: number;
  to: number;
  traffic: 'live' | 'test';
}

/** What the judge needs about one version in a window. */
export interface VersionData {
  requests: number;
  errors: number;
  /** Percent of requests that were not errors (5xx or a Weir error); null without requests. */
  successRate: number | null;
  /** Duration percentiles, ms. */
  percentiles: Record<string, number | null>;
  /** ln(duration) mean and variance, for the sequential latency test. */
  logLatency: { n: number; mean: number; variance: number };
  /** A reservoir sample of durations (at most 5000, seeded) for the Mann–Whitney comparison. */
  durations: number[];
  /** Error rate per time bucket, for the Kayenta-style comparison of error rates. */
  errorRateSeries: number[];
  /** Errors per URL path (the most frequent 20 paths). */
  errorsByPath: Record<string, number>;
}

export const PERCENTILE_KEYS = ['p50', 'p75', 'p90', 'p95', 'p99', 'p999'] as const;
const PCT: Record<string, number> = { p50: 0.5, p75: 0.75, p90: 0.9, p95: 0.95, p99: 0.99, p999: 0.999 };
const ERR = `("http.response.status_code" >= 500 OR "error.type" IS NOT NULL)`;
/** Requests, errors, and the mean and variance of ln(latency): what every analysis read starts with. */
const COUNTS_AND_MOMENTS = `count(*) AS n, count(*) FILTER (WHERE ${ERR}) AS errors,
  avg(ln(greatest(duration_ms, 0.001))) AS lmean, coalesce(var_samp(ln(greatest(duration_ms, 0.001))), 0) AS lvar`;

/**
 * The WHERE clause every analysis query shares. Only the traffic kind asked for counts (live for a
 * canary: test, shadow and replay never pass or fail one); for live traffic only requests the split
 * placed (decision weight or random): cohort and flag routing are chosen, not random, and would bias
 * the comparison.
 */
function where(w: VersionWindow): { sql: string; params: (string | number)[] } {
  const params: (string | number)[] = [w.service, w.version, w.from, w.to, w.traffic];
  let sql = `"service.name" = $1 AND "service.version" = $2 AND "timestamp" >= $3 AND "timestamp" < $4 AND "weir.traffic" = $5`;
  if (w.traffic === 'live') sql += ` AND coalesce("weir.decision", 'weight') IN ('weight', 'random')`;
  return { sql, params };
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/**
 * Reads one version's numbers for a window from the event store.
 *
 * @example
 *   const d = await versionData(store, { service: 'shop', version: 'canary', from, to, traffic: 'live' });
 */
export async function versionData(store: EventsLike, w: VersionWindow, bucketMs: number): Promise<VersionData> {
  const { sql, params } = where(w);
  const pcts = PERCENTILE_KEYS.map((k) => `quantile_cont(duration_ms, ${PCT[k]}) AS ${k}`).join(', ');
  const [row] = await store.sql(
    `SELECT ${COUNTS_AND_MOMENTS}, ${pcts} FROM events WHERE ${sql}`, params);
  const requests = Number(row?.n ?? 0);
  const errors = Number(row?.errors ?? 0);
  const durations = requests === 0 ? [] : (await store.sql(
    `SELECT duration_ms AS d FROM (SELECT duration_ms FROM events WHERE ${sql}) USING SAMPLE reservoir(5000 ROWS) REPEATABLE (7)`, params)).map((r) => Number(r.d));
  const series = requests === 0 ? [] : (await store.sql(
    `SELECT avg(CASE WHEN ${ERR} THEN 1.0 ELSE 0.0 END) AS rate FROM events WHERE ${sql} GROUP BY floor("timestamp" / ${Math.max(1, Math.floor(bucketMs))}) ORDER BY 1`, params)).map((r) => Number(r.rate));
  const byPath = errors === 0 ? {} : await errorsByPath(store, sql, params);
  return {
    requests, errors,
    successRate: requests ? (100 * (requests - errors)) / requests : null,
    percentiles: Object.fromEntries(PERCENTILE_KEYS.map((k) => [k, num(row?.[k])])),
    logLatency: { n: requests, mean: Number(row?.lmean ?? 0), variance: Number(row?.lvar ?? 0) },
    durations, errorRateSeries: series,
    errorsByPath: byPath,
  };
}

/** Errors per URL path, the most frequent 20. */
async function errorsByPath(store: EventsLike, sql: string, params: (string | number)[]): Promise<Record<string, number>> {
  const rows = await store.sql(`SELECT "url.path" AS k, count(*) AS e FROM events WHERE ${sql} AND ${ERR} GROUP BY 1 ORDER BY 2 DESC LIMIT 20`, params);
  return Object.fromEntries(rows.map((r) => [String(r.k), Number(r.e)]));
}

/**
 * Only what the sequential test needs of a version (counts, ln-latency moments, errors per path):
 * cheap enough for the controller to read every second between analysis runs.
 *
 * @example
 *   const d = await sequentialData(store, { service: 'shop', version: 'canary', from, to, traffic: 'live' });
 */
export async function sequentialData(store: EventsLike, w: VersionWindow): Promise<Pick<VersionData, 'requests' | 'errors' | 'logLatency' | 'errorsByPath'>> {
  const { sql, params } = where(w);
  const [row] = await store.sql(
    `SELECT ${COUNTS_AND_MOMENTS} FROM events WHERE ${sql}`, params);
  const requests = Number(row?.n ?? 0);
  const errors = Number(row?.errors ?? 0);
  return {
    requests, errors,
    logLatency: { n: requests, mean: Number(row?.lmean ?? 0), variance: Number(row?.lvar ?? 0) },
    errorsByPath: errors === 0 ? {} : await errorsByPath(store, sql, params),
  };
}

/** Errors of one path, for a key the other version did not have in its top list. */
export async function errorsOnPath(store: EventsLike, w: VersionWindow, path: string): Promise<number> {
  const { sql, params } = where(w);
  const [row] = await store.sql(`SELECT count(*) AS e FROM events WHERE ${sql} AND ${ERR} AND "url.path" = $6`, [...params, path]);
  return Number(row?.e ?? 0);
}

/**
 * A query-spec calculation (`P95(duration_ms)`, `COUNT`, `AVG(x)`) for one version, through the
 * store's Honeycomb-style query API, with the metric's own filters added.
 */
export async function calculation(store: EventsLike, w: VersionWindow, calc: string, filters: { column: string; op: string; value?: unknown }[] = []): Promise<number | null> {
  const m = /^([A-Z_0-9]+)(?:\((.*)\))?$/i.exec(calc.trim());
  if (!m) return null;
  const op = m[1].toUpperCase();
  const spec = {
    calculations: [{ op, column: m[2] || undefined }],
    filters: [
      { column: 'service.name', op: '=', value: w.service },
      { column: 'service.version', op: '=', value: w.version },
      { column: 'weir.traffic', op: '=', value: w.traffic },
      ...(w.traffic === 'live' ? [{ column: 'weir.decision', op: 'in', value: ['weight', 'random'] }] : []),
      ...filters,
    ],
    start_time: Math.floor(w.from / 1000),
    end_time: Math.ceil(w.to / 1000),
    series: false,
  };
  const r = await store.query(spec);
  const data = r.data.results[0]?.data ?? {};
  const v = Object.values(data).find((x) => typeof x === 'number');
  return typeof v === 'number' ? v : null;
}

/**
 * Error fingerprints only the canary produced (the events module's `newErrorsIn`), kept when they
 * occurred on the traffic kind analysed.
 */
export async function canaryOnlyErrors(store: EventsLike, o: { service: string; canary: string; baseline: string; since: number; traffic: 'live' | 'test' }): Promise<{ fingerprint: string; title: string; count: number; rate: number }[]> {
  const found = await newErrorsIn(store as EventStore, { service: o.service, version: o.canary, baseline: o.baseline, since: o.since });
  const out = [];
  for (const e of found) {
    const [row] = await store.sql(
      `SELECT count(*) AS n FROM events WHERE "error.fingerprint" = $1 AND "service.name" = $2 AND "service.version" = $3 AND "timestamp" >= $4 AND "weir.traffic" = $5`,
      [e.fingerprint, o.service, o.canary, o.since, o.traffic]);
    const n = Number(row?.n ?? 0);
    if (n > 0) out.push({ fingerprint: e.fingerprint, title: e.title, count: n, rate: e.rate });
  }
  return out;
}
