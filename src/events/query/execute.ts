import { planHeatmapBounds, planSeries, planTotals } from './plan.ts';
import type { SqlPlan } from './plan.ts';
import { shapeResult } from './shape.ts';
import type { QueryResult } from './shape.ts';
import type { NormalizedQuery, Scalar } from './spec.ts';

/** Runs SQL and returns rows as objects; the store's `sql` (with its time and row limits). */
export type SqlRunner = (sql: string, params: readonly Scalar[]) => Promise<Record<string, unknown>[]>;

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/**
 * Runs a validated query: the totals first, then the series for the groups the totals kept (no
 * restriction when every group made it, which saves a second pass over the groups).
 */
export async function executeQuery(q: NormalizedQuery, run: SqlRunner, maxRows: number, startedAt = performance.now()): Promise<QueryResult> {
  const bounds = new Map<number, [number | null, number | null]>();
  const boundsPlan = planHeatmapBounds(q);
  if (boundsPlan) {
    const [row] = await run(boundsPlan.sql, boundsPlan.params);
    q.calculations.forEach((c, i) => {
      if (c.op === 'HEATMAP') bounds.set(i, [num(row?.[`lo${i}`]), num(row?.[`hi${i}`])]);
    });
  }
  const totalsPlan: SqlPlan = planTotals(q, bounds);
  const totals = await run(totalsPlan.sql, totalsPlan.params);
  let series: Record<string, unknown>[] = [];
  let truncated = false;
  if (q.series && totals.length > 0) {
    const complete = totals.length < q.limit && q.havings.length === 0;
    const groups = complete ? undefined : totals.map((row) => q.breakdowns.map((_, i) => toScalar(row[`g${i}`])));
    const seriesPlan = planSeries(q, groups, maxRows, bounds);
    series = await run(seriesPlan.sql, seriesPlan.params);
    if (series.length > maxRows) {
      truncated = true;
      series = series.slice(0, maxRows);
    }
    // Sorted here rather than in SQL: the rows are few, and RATE_* needs each group in time order.
    series.sort((a, b) => Number(a.t) - Number(b.t));
  }
  return shapeResult(q, totals, series, bounds, { truncated, elapsedMs: performance.now() - startedAt });
}

function toScalar(v: unknown): Scalar | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  return v as Scalar;
}
