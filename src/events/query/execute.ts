import { planSeries, planTotals } from './plan.ts';
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
  const totalsPlan: SqlPlan = planTotals(q);
  const totals = await run(totalsPlan.sql, totalsPlan.params);
  const bounds = new Map<number, [number | null, number | null]>();
  q.calculations.forEach((c, i) => {
    if (c.op === 'HEATMAP') bounds.set(i, [num(totals[0]?.[`lo${i}`]), num(totals[0]?.[`hi${i}`])]);
  });
  let series: Record<string, unknown>[] = [];
  let truncated = false;
  if (q.series && totals.length > 0) {
    const complete = totals.length < q.limit && q.havings.length === 0;
    const groups = complete ? undefined : totals.map((row) => q.breakdowns.map((_, i) => toScalar(row[`g${i}`])));
    const seriesPlan = planSeries(q, groups, maxRows);
    series = await run(seriesPlan.sql, seriesPlan.params);
    if (series.length > maxRows) {
      truncated = true;
      series = series.slice(0, maxRows);
    }
  }
  return shapeResult(q, totals, series, bounds, { truncated, elapsedMs: performance.now() - startedAt });
}

function toScalar(v: unknown): Scalar | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  return v as Scalar;
}
