import { quoteIdent } from '../columns.ts';
import { EVENTS_TABLE, Params, planHeatmapBounds, planOnePass, planSeries, planTotals, whereSql } from './plan.ts';
import type { HeatmapBounds, SqlPlan } from './plan.ts';
import { groupKey, isPercentile, planWindowTotals, seriesGroups } from './series-first.ts';
import { shapeResult } from './shape.ts';
import type { QueryResult } from './shape.ts';
import type { NormalizedQuery, Scalar } from './spec.ts';

/** Runs SQL and returns rows as objects; the store's `sql` (with its time and row limits). */
export type SqlRunner = (sql: string, params: readonly Scalar[]) => Promise<Record<string, unknown>[]>;

/**
 * How totals and series are computed: in one pass (GROUPING SETS; best with few groups), in two
 * (totals, then the series of the kept groups only; best with many), series first (every group's
 * series, then totals whose percentiles read only the values between the group's smallest and
 * largest bucket value; best with percentiles and few groups), or chosen from a 1% sample.
 */
export type QueryStrategy = 'auto' | 'one-pass' | 'two-pass' | 'series-first';

/** Up to this many distinct groups in the sample, one pass (or series first) is cheaper than two. */
export const ONE_PASS_MAX_GROUPS = 500;

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

async function estimateGroups(q: NormalizedQuery, run: SqlRunner): Promise<number> {
  const p = new Params();
  const where = whereSql(q, p);
  const cols = q.breakdowns.map((b) => quoteIdent(b.field.name)).join(', ');
  const [row] = await run(`SELECT count(*) AS n FROM (SELECT DISTINCT ${cols} FROM ${EVENTS_TABLE} TABLESAMPLE 1% (system) WHERE ${where})`, p.values);
  return Number(row?.n ?? 0);
}

const rowKey = (q: NormalizedQuery) => (row: Record<string, unknown>) => groupKey(q.breakdowns.map((_, i) => row[`g${i}`] ?? null));

/**
 * Series first (see QueryStrategy): the series of every group with each percentile's count, then
 * the totals (percentiles from windows of values), the series kept for the kept groups. Undefined
 * when the series was cut at maxRows (the caller plans another way).
 */
async function seriesFirst(q: NormalizedQuery, run: SqlRunner, maxRows: number, bounds: HeatmapBounds): Promise<{ totals: Record<string, unknown>[]; series: Record<string, unknown>[] } | undefined> {
  const plan = planSeries(q, undefined, maxRows, bounds, { counts: true });
  const all = await run(plan.sql, plan.params);
  if (all.length > maxRows) return undefined;
  let totals: Record<string, unknown>[];
  if (all.length > 0) {
    const windowPlan = planWindowTotals(q, seriesGroups(q, all), bounds);
    totals = (await run(windowPlan.sql, windowPlan.params)).sort((a, b) => Number(a.ord) - Number(b.ord));
  } else {
    // No events in range: the plain totals say what that looks like (one row of zeros without breakdowns).
    const totalsPlan = planTotals(q, bounds);
    totals = await run(totalsPlan.sql, totalsPlan.params);
  }
  const key = rowKey(q);
  const kept = new Set(totals.map(key));
  return { totals, series: all.filter((r) => kept.has(key(r))) };
}

/**
 * Runs a validated query: HEATMAP bounds first when needed, then totals and series in one or two
 * passes or series first (see QueryStrategy); the two-pass series is restricted to the groups the
 * totals kept (no restriction when every group made it).
 */
export async function executeQuery(q: NormalizedQuery, run: SqlRunner, maxRows: number, startedAt = performance.now(), strategy: QueryStrategy = 'auto'): Promise<QueryResult> {
  const bounds = new Map<number, [number | null, number | null]>();
  const boundsPlan = planHeatmapBounds(q);
  if (boundsPlan) {
    const [row] = await run(boundsPlan.sql, boundsPlan.params);
    q.calculations.forEach((c, i) => {
      if (c.op === 'HEATMAP') bounds.set(i, [num(row?.[`lo${i}`]), num(row?.[`hi${i}`])]);
    });
  }
  let totals: Record<string, unknown>[];
  let series: Record<string, unknown>[] = [];
  let truncated = false;
  let few: boolean | undefined;
  const fewGroups = async () => (few ??= q.breakdowns.length === 0 || (await estimateGroups(q, run)) <= ONE_PASS_MAX_GROUPS);
  const first = q.series && (strategy === 'series-first' ||
    (strategy === 'auto' && q.calculations.some((c) => isPercentile(c.op)) && (await fewGroups())))
    ? await seriesFirst(q, run, maxRows, bounds)
    : undefined;
  const onePass = first === undefined && q.series && (strategy === 'one-pass' || ((strategy === 'auto' || strategy === 'series-first') && (await fewGroups())));
  if (first) {
    totals = first.totals;
    series = first.series;
  } else if (onePass) {
    const plan = planOnePass(q, maxRows, bounds);
    const rows = await run(plan.sql, plan.params);
    totals = rows.filter((r) => r.ord !== null).sort((a, b) => Number(a.ord) - Number(b.ord));
    series = rows.filter((r) => r.ord === null);
    // GROUPING SETS over no rows yields no totals row; a plain aggregate yields one. Keep the latter.
    if (q.breakdowns.length === 0 && totals.length === 0 && q.havings.length === 0) totals = [Object.fromEntries(q.calculations.map((c, i) => [`c${i}`, c.op === 'COUNT' || c.op === 'COUNT_DISTINCT' || c.op === 'CONCURRENCY' ? 0 : null]))];
  } else {
    const totalsPlan: SqlPlan = planTotals(q, bounds);
    totals = await run(totalsPlan.sql, totalsPlan.params);
    if (q.series && totals.length > 0) {
      const complete = totals.length < q.limit && q.havings.length === 0;
      const groups = complete ? undefined : totals.map((row) => q.breakdowns.map((_, i) => toScalar(row[`g${i}`])));
      const seriesPlan = planSeries(q, groups, maxRows, bounds);
      series = await run(seriesPlan.sql, seriesPlan.params);
    }
  }
  if (series.length > maxRows) {
    truncated = true;
    series = series.slice(0, maxRows);
  }
  // Sorted here rather than in SQL: the rows are few, and RATE_* needs each group in time order.
  series.sort((a, b) => Number(a.t) - Number(b.t));
  return shapeResult(q, totals, series, bounds, { truncated, elapsedMs: performance.now() - startedAt });
}

function toScalar(v: unknown): Scalar | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  return v as Scalar;
}
