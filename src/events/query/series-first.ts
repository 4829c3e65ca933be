/**
 * Series first, then exact percentile totals from a narrow window of values.
 *
 * A percentile's total over a group cannot be added up from its series, but the series says where
 * it lies: the total sits between the smallest and the largest value the group's buckets had, and
 * only the values in that window (plus how many fall below it) are needed to find the same two
 * order statistics DuckDB's `quantile_cont` interpolates between. The totals query therefore reads
 * a few thousand values per group instead of collecting every value and selecting in it, and checks
 * that the ranks it needs fell inside the window; a group where they did not (a sparse group, whose
 * few buckets say little) gets the plain `quantile_cont` over its own events. The answer is the same
 * as `quantile_cont`'s either way.
 */
import { quoteIdent } from '../columns.ts';
import { EVENTS_TABLE, Params, calcSql, heatmapJoin, orderSql, whereSql } from './plan.ts';
import type { HeatmapBounds, SqlPlan } from './plan.ts';
import { PERCENTILES } from './spec.ts';
import type { NormalizedQuery, PercentileOp } from './spec.ts';

/** True for the calculations this plan takes from a window of values. */
export function isPercentile(op: string): op is PercentileOp {
  return Object.hasOwn(PERCENTILES, op);
}

/**
 * A group's breakdown values as a map key: bigint, NaN and ±Infinity are told apart from each other
 * and from null (plain JSON would write the last three as null and refuse the first).
 */
export function groupKey(values: readonly unknown[]): string {
  return JSON.stringify(values, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : typeof v === 'number' && !Number.isFinite(v) ? `${v}` : v));
}

/** One group of the series, with each percentile's count and the range of its bucket values. */
export interface SeriesGroup {
  /** Breakdown values, as DuckDB returned them. */
  values: unknown[];
  /** Per calculation index: values counted (non-null), smallest and largest bucket value. */
  windows: Map<number, { n: number; lo: number | null; hi: number | null }>;
}

/**
 * Collects the groups of a series that holds every group (not restricted, not cut), with the count
 * columns `n<i>` that `planSeries(..., { counts: true })` adds for each percentile.
 */
export function seriesGroups(q: NormalizedQuery, series: readonly Record<string, unknown>[]): SeriesGroup[] {
  const pct = q.calculations.flatMap((c, i) => (isPercentile(c.op) ? [i] : []));
  const groups = new Map<string, SeriesGroup>();
  for (const row of series) {
    const values = q.breakdowns.map((_, i) => row[`g${i}`] ?? null);
    const key = groupKey(values);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { values, windows: new Map(pct.map((i) => [i, { n: 0, lo: null, hi: null }])) }));
    for (const i of pct) {
      const w = g.windows.get(i)!;
      w.n += Number(row[`n${i}`] ?? 0);
      const v = row[`c${i}`];
      if (v === null || v === undefined) continue;
      const x = Number(v);
      if (w.lo === null || x < w.lo) w.lo = x;
      if (w.hi === null || x > w.hi) w.hi = x;
    }
  }
  return [...groups.values()];
}

/** Validated integers are written inline. */
function int(n: number): string {
  if (!Number.isSafeInteger(n)) throw new RangeError(`not an integer: ${n}`);
  return String(n);
}

/**
 * The totals query for groups already known from the series: one row per kept group (columns ord,
 * g0..gN, c0..cM, after HAVING, ORDER BY and LIMIT). Percentiles come from the window, with DuckDB's
 * own interpolation `lo * (1 - d) + hi * d` at rank (n - 1) * p; a group whose ranks fell outside its
 * window gets `quantile_cont` over that group's events alone, in the same statement.
 */
export function planWindowTotals(q: NormalizedQuery, groups: readonly SeriesGroup[], bounds?: HeatmapBounds): SqlPlan {
  const p = new Params();
  let whereText: string | undefined;
  const where = () => (whereText ??= whereSql(q, p)); // only when a query below reads the events
  const pct = q.calculations.flatMap((c, i) => (isPercentile(c.op) ? [i] : []));
  const rest = q.calculations.flatMap((c, i) => (!isPercentile(c.op) && !c.op.startsWith('RATE_') ? [i] : []));
  const gCols = q.breakdowns.map((b) => quoteIdent(b.field.name));
  const k = q.breakdowns.map((_, i) => `k${i}`);

  // The groups and, per percentile, its window and the ranks DuckDB interpolates between.
  const rows = groups.map((g, id) => {
    const cells = [int(id), ...g.values.map((v, i) => (v === null ? 'NULL' : p.add(typeof v === 'bigint' ? Number(v) : (v as string | number | boolean))) + `::${q.breakdowns[i].field.type}`)];
    for (const i of pct) {
      const w = g.windows.get(i)!;
      const rank = Math.max(w.n - 1, 0) * PERCENTILES[q.calculations[i].op as PercentileOp];
      const f = Math.floor(rank);
      const dbl = (x: number | null) => (x === null ? 'NULL::DOUBLE' : `${p.add(x)}::DOUBLE`);
      cells.push(int(w.n), int(f), int(Math.ceil(rank)), dbl(rank - f), dbl(w.lo), dbl(w.hi));
    }
    return `(${cells.join(', ')})`;
  });
  const bCols = ['id', ...k, ...pct.flatMap((i) => [`n${i}`, `f${i}`, `r${i}`, `d${i}`, `lo${i}`, `hi${i}`])];
  const ctes = [`b AS (SELECT * FROM (VALUES ${rows.join(', ')}) AS v(${bCols.join(', ')}))`];
  // The events as the percentile reads see them: breakdowns k<i>, percentile fields x<i>.
  const eCols = [...gCols.map((c, i) => `${c} AS k${i}`), ...pct.map((i) => `${quoteIdent(q.calculations[i].field!.name)} AS x${i}`)];
  const on = (a: string, b: string) => (k.length === 0 ? 'true' : k.map((x) => `${a}.${x} IS NOT DISTINCT FROM ${b}.${x}`).join(' AND '));

  if (pct.length > 0) {
    // Only rows at or above the lowest window of any group reach the join.
    const floors = pct.map((i) => {
      const lowest = groups.reduce<number | null>((m, g) => {
        const lo = g.windows.get(i)!.lo;
        return lo === null || (m !== null && m <= lo) ? m : lo;
      }, null);
      return lowest === null ? 'false' : `${quoteIdent(q.calculations[i].field!.name)} >= ${p.add(lowest)}`;
    });
    const aggs = pct.flatMap((i) => [
      `count(e.x${i}) FILTER (e.x${i} >= b.lo${i}) AS above${i}`,
      `list_sort(list(e.x${i}) FILTER (e.x${i} >= b.lo${i} AND e.x${i} <= b.hi${i})) AS w${i}`,
    ]);
    ctes.push(`e AS (SELECT ${eCols.join(', ')} FROM ${EVENTS_TABLE} WHERE ${where()} AND (${floors.join(' OR ')}))`);
    ctes.push(`w AS (SELECT b.id, ${aggs.join(', ')} FROM b LEFT JOIN e ON ${on('e', 'b')} GROUP BY b.id)`);
  }
  if (rest.length > 0) {
    let widthParam: string | undefined;
    const width = () => (widthParam ??= p.add(Math.max(q.endMs - q.startMs, 1)));
    const select = [...gCols.map((c, i) => `${c} AS k${i}`), ...rest.map((i) => `${calcSql(q.calculations[i], i, width)} AS c${i}`)];
    ctes.push(`o AS (SELECT ${select.join(', ')} FROM ${EVENTS_TABLE}${heatmapJoin(q, bounds, p)} WHERE ${where()}${gCols.length > 0 ? ` GROUP BY ${gCols.join(', ')}` : ''})`);
  }

  // Ranks f and r (0-based) must both fall in the window: below <= f and r < below + m.
  const outside = (i: number) => `(n${i} > 0 AND (below${i} > f${i} OR r${i} >= below${i} + m${i}))`;
  const value = (i: number) => {
    const at = (r: string) => `w${i}[${r}${i} - below${i} + 1]::DOUBLE`;
    return `CASE WHEN n${i} = 0 OR miss${i} THEN NULL WHEN d${i} = 0 THEN ${at('f')} ELSE ${at('f')} * (1::DOUBLE - d${i}) + ${at('r')} * d${i} END`;
  };
  const cols = q.calculations.map((c, i) => (isPercentile(c.op) ? `CASE WHEN bw.miss${i} THEN x.c${i} ELSE bw.v${i} END AS c${i}` : rest.includes(i) ? `o.c${i}` : `NULL AS c${i}`));
  let from = 'b AS bw';
  if (pct.length > 0) {
    // `below` is how many values lie under the window: the group's count less those at or above it.
    const measured = `SELECT *, ${pct.map((i) => `n${i} - above${i} AS below${i}, coalesce(len(w${i}), 0) AS m${i}`).join(', ')} FROM b JOIN w USING (id)`;
    const flagged = `SELECT *, ${pct.map((i) => `${outside(i)} AS miss${i}`).join(', ')} FROM (${measured})`;
    ctes.push(`bw AS (SELECT *, ${pct.map((i) => `${value(i)} AS v${i}`).join(', ')} FROM (${flagged}))`);
    // A group whose window missed (a sparse one, typically) gets quantile_cont over its own events.
    const missed = `(SELECT ${['id', ...k].join(', ')} FROM bw WHERE ${pct.map((i) => `miss${i}`).join(' OR ')}) AS mg`;
    const exact = pct.map((i) => `quantile_cont(ev.x${i}, ${PERCENTILES[q.calculations[i].op as PercentileOp]}) AS c${i}`);
    ctes.push(`x AS (SELECT mg.id, ${exact.join(', ')} FROM (SELECT ${eCols.join(', ')} FROM ${EVENTS_TABLE} WHERE ${where()}) AS ev JOIN ${missed} ON ${on('ev', 'mg')} GROUP BY mg.id)`);
    from = 'bw LEFT JOIN x USING (id)';
  }
  if (rest.length > 0) from += ` LEFT JOIN o ON ${on('o', 'bw')}`;
  ctes.push(`t AS (SELECT ${[...k.map((x, i) => `bw.${x} AS g${i}`), ...cols].join(', ')} FROM ${from})`);
  const having = q.havings.map((h) => ` AND c${h.calc} ${h.op === '!=' ? '<>' : h.op} ${p.add(h.value)}`).join('');
  ctes.push(`kept AS (SELECT *, row_number() OVER (ORDER BY ${orderSql(q)}) AS ord FROM t WHERE true${having} QUALIFY ord <= ${int(q.limit)})`);
  const out = [...q.breakdowns.map((_, i) => `g${i}`), ...q.calculations.map((_, i) => `c${i}`)];
  const sql = `WITH ${ctes.join(', ')} SELECT ord, ${out.join(', ')} FROM kept`;
  return { sql, params: p.values };
}
