import { HEATMAP_BUCKETS } from './plan.ts';
import type { NormalizedQuery } from './spec.ts';

export type Cell = string | number | boolean | null | Heatmap;

/** A HEATMAP value: counts per bucket of equal width between the field's min and max in the query. */
export interface Heatmap {
  min: number | null;
  max: number | null;
  buckets: { lower: number; upper: number; count: number }[];
}

/** One group's totals, Honeycomb style: breakdown values and calculations side by side in `data`. */
export interface ResultRow {
  data: Record<string, Cell>;
}

/** One point of a group's time series. */
export interface SeriesPoint {
  /** Bucket start, ISO 8601. */
  time: string;
  data: Record<string, Cell>;
}

export interface QueryResult {
  data: { results: ResultRow[]; series: SeriesPoint[] };
  meta: {
    start_time: string;
    end_time: string;
    /** Seconds per series bucket. */
    granularity: number;
    groups: number;
    /** True when the series hit the row limit and was cut. */
    truncated: boolean;
    elapsed_ms: number;
  };
}

/** DuckDB hands back BIGINT as bigint and MAP as [{ key, value }]; the API speaks JSON numbers. */
export function plain(v: unknown): string | number | boolean | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  return String(v);
}

/** The field's [lo, hi] for each HEATMAP calculation, read from the first heatmap bounds. */
export function heatmap(entries: unknown, lo: number | null, hi: number | null): Heatmap {
  const counts = new Map<number, number>();
  if (Array.isArray(entries)) for (const e of entries as { key: unknown; value: unknown }[]) counts.set(Number(e.key), Number(e.value));
  if (lo === null || hi === null) return { min: null, max: null, buckets: [] };
  const width = (hi - lo) / HEATMAP_BUCKETS;
  const buckets = [...counts.entries()].sort((a, b) => a[0] - b[0]).map(([i, count]) => ({
    lower: lo + i * width,
    upper: hi === lo ? hi : lo + (i + 1) * width,
    count,
  }));
  return { min: lo, max: hi, buckets };
}

/**
 * Turns the rows of the totals and series queries into the result: names from the spec, RATE_*
 * series as differences between successive buckets' aggregates within a group, RATE_* totals as the
 * mean of those differences.
 */
export function shapeResult(
  q: NormalizedQuery,
  totals: Record<string, unknown>[],
  series: Record<string, unknown>[],
  bounds: Map<number, [number | null, number | null]>,
  meta: { truncated: boolean; elapsedMs: number },
): QueryResult {
  const cell = (ci: number, v: unknown): Cell => {
    if (q.calculations[ci].op === 'HEATMAP') {
      const [lo, hi] = bounds.get(ci) ?? [null, null];
      return heatmap(v, lo, hi);
    }
    return plain(v);
  };
  const groupKey = (row: Record<string, unknown>) => JSON.stringify(q.breakdowns.map((_, i) => plain(row[`g${i}`])));
  const rates = q.calculations.map((c, i) => [c, i] as const).filter(([c]) => c.op.startsWith('RATE_'));
  const rateSums = new Map<string, { sum: number[]; n: number[] }>();

  const points: SeriesPoint[] = [];
  const prev = new Map<string, (number | null)[]>();
  for (const row of series) {
    const data: Record<string, Cell> = {};
    q.breakdowns.forEach((b, i) => (data[b.name] = plain(row[`g${i}`])));
    q.calculations.forEach((c, i) => (data[c.name] = cell(i, row[`c${i}`])));
    if (rates.length > 0) {
      const key = groupKey(row);
      const last = prev.get(key);
      const now = rates.map(([, i]) => plain(row[`c${i}`]) as number | null);
      const acc = rateSums.get(key) ?? { sum: rates.map(() => 0), n: rates.map(() => 0) };
      rates.forEach(([c], j) => {
        const before = last?.[j];
        const cur = now[j];
        const rate = before === undefined || before === null || cur === null ? null : cur - before;
        data[c.name] = rate;
        if (rate !== null) {
          acc.sum[j] += rate;
          acc.n[j] += 1;
        }
      });
      rateSums.set(key, acc);
      prev.set(key, now);
    }
    points.push({ time: new Date(Number(row.t)).toISOString(), data });
  }

  const results: ResultRow[] = totals.map((row) => {
    const data: Record<string, Cell> = {};
    q.breakdowns.forEach((b, i) => (data[b.name] = plain(row[`g${i}`])));
    q.calculations.forEach((c, i) => (data[c.name] = cell(i, row[`c${i}`])));
    if (rates.length > 0) {
      const acc = rateSums.get(groupKey(row));
      rates.forEach(([c], j) => (data[c.name] = acc && acc.n[j] > 0 ? acc.sum[j] / acc.n[j] : null));
    }
    return { data };
  });

  return {
    data: { results, series: points },
    meta: {
      start_time: new Date(q.startMs).toISOString(),
      end_time: new Date(q.endMs).toISOString(),
      granularity: q.granularityMs / 1000,
      groups: results.length,
      truncated: meta.truncated,
      elapsed_ms: Math.round(meta.elapsedMs * 10) / 10,
    },
  };
}
