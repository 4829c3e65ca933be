import { quoteIdent } from '../columns.ts';
import { PERCENTILES } from './spec.ts';
import type { Calc, Filter, NormalizedQuery, PercentileOp, Scalar } from './spec.ts';

/** SQL text plus its positional parameters ($1, $2, ...). Field names only ever appear quoted. */
export interface SqlPlan {
  sql: string;
  params: Scalar[];
}

/** HEATMAP buckets between the field's minimum and maximum in the query's time range and filters. */
export const HEATMAP_BUCKETS = 20;
export const EVENTS_TABLE = 'events';

/** Collects positional parameters while SQL is built. */
export class Params {
  readonly values: Scalar[] = [];
  add(v: Scalar): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

/** Validated integers (limits, bucket widths) are written inline; anything from a user is a parameter. */
function int(n: number): string {
  if (!Number.isSafeInteger(n)) throw new RangeError(`not an integer: ${n}`);
  return String(n);
}

const TEXT = (col: string) => `CAST(${col} AS VARCHAR)`;

function filterSql(f: Filter, p: Params): string {
  const col = quoteIdent(f.field.name);
  const v = f.value;
  switch (f.op) {
    case '=': return `${col} = ${p.add(v as Scalar)}`;
    case '!=': return `${col} IS DISTINCT FROM ${p.add(v as Scalar)}`;
    case '>': case '>=': case '<': case '<=': return `${col} ${f.op} ${p.add(v as Scalar)}`;
    case 'starts-with': return `starts_with(${TEXT(col)}, ${p.add(v as Scalar)})`;
    case 'does-not-start-with': return `(${col} IS NULL OR NOT starts_with(${TEXT(col)}, ${p.add(v as Scalar)}))`;
    case 'ends-with': return `suffix(${TEXT(col)}, ${p.add(v as Scalar)})`;
    case 'does-not-end-with': return `(${col} IS NULL OR NOT suffix(${TEXT(col)}, ${p.add(v as Scalar)}))`;
    case 'contains': return `contains(${TEXT(col)}, ${p.add(v as Scalar)})`;
    case 'does-not-contain': return `(${col} IS NULL OR NOT contains(${TEXT(col)}, ${p.add(v as Scalar)}))`;
    case 'exists': return `${col} IS NOT NULL`;
    case 'does-not-exist': return `${col} IS NULL`;
    case 'in': return `${col} IN (${(v as Scalar[]).map((x) => p.add(x)).join(', ')})`;
    case 'not-in': return `(${col} IS NULL OR ${col} NOT IN (${(v as Scalar[]).map((x) => p.add(x)).join(', ')}))`;
  }
}

/** The WHERE clause: the time range, then the filters combined with AND or OR. */
export function whereSql(q: Pick<NormalizedQuery, 'startMs' | 'endMs' | 'filters' | 'combination'>, p: Params): string {
  const parts = [`"timestamp" >= ${p.add(q.startMs)}`, `"timestamp" < ${p.add(q.endMs)}`];
  if (q.filters.length > 0) parts.push(filtersSql(q.filters, q.combination, p));
  return parts.join(' AND ');
}

/** The filters alone, combined with AND or OR, as one parenthesised boolean expression. */
export function filtersSql(filters: readonly Filter[], combination: 'AND' | 'OR', p: Params): string {
  if (filters.length === 0) return 'true';
  return `(${filters.map((f) => filterSql(f, p)).join(combination === 'OR' ? ' OR ' : ' AND ')})`;
}

function heatBucket(col: string, i: number): string {
  return `CASE WHEN ${col} IS NULL THEN NULL WHEN hm.hi${i} = hm.lo${i} THEN 0 ELSE least(floor((${col} - hm.lo${i}) / (hm.hi${i} - hm.lo${i}) * ${HEATMAP_BUCKETS}), ${HEATMAP_BUCKETS - 1})::INTEGER END`;
}

/** The SQL aggregate for one calculation; `widthMs` is the span CONCURRENCY divides by. */
export function calcSql(c: Calc, i: number, widthMs: () => string): string {
  const col = c.field ? quoteIdent(c.field.name) : '';
  switch (c.op) {
    case 'COUNT': return 'count(*)';
    case 'CONCURRENCY': return `coalesce(sum("duration_ms"), 0) / ${widthMs()}`;
    case 'SUM': return `sum(${col})`;
    case 'AVG': return `avg(${col})`;
    case 'MIN': return `min(${col})`;
    case 'MAX': return `max(${col})`;
    case 'COUNT_DISTINCT': return `count(DISTINCT ${col})`;
    case 'HEATMAP': return `histogram(${heatBucket(col, i)})`;
    case 'RATE_AVG': return `avg(${col})`;
    case 'RATE_SUM': return `sum(${col})`;
    case 'RATE_MAX': return `max(${col})`;
    default: return `quantile_cont(${col}, ${PERCENTILES[c.op as PercentileOp]})`;
  }
}

/** Each HEATMAP field's [min, max] over the whole query, by calculation index. */
export type HeatmapBounds = ReadonlyMap<number, readonly [number | null, number | null]>;

/**
 * HEATMAP needs the field's range over the whole query first, so that its buckets line up across
 * groups and time: this query finds it once (columns lo<i>, hi<i>), or returns undefined without HEATMAP.
 */
export function planHeatmapBounds(q: NormalizedQuery): SqlPlan | undefined {
  const heat = q.calculations.map((c, i) => [c, i] as const).filter(([c]) => c.op === 'HEATMAP');
  if (heat.length === 0) return undefined;
  const p = new Params();
  const where = whereSql(q, p);
  const cols = heat.map(([c, i]) => `min(${quoteIdent(c.field!.name)})::DOUBLE AS lo${i}, max(${quoteIdent(c.field!.name)})::DOUBLE AS hi${i}`).join(', ');
  return { sql: `SELECT ${cols} FROM ${EVENTS_TABLE} WHERE ${where}`, params: p.values };
}

/** The CROSS JOIN that hands each HEATMAP calculation its bounds (as parameters), or ''. */
export function heatmapJoin(q: NormalizedQuery, bounds: HeatmapBounds | undefined, p: Params): string {
  const heat = q.calculations.map((c, i) => [c, i] as const).filter(([c]) => c.op === 'HEATMAP');
  if (heat.length === 0) return '';
  const value = (v: number | null | undefined) => (v === null || v === undefined ? 'NULL::DOUBLE' : `${p.add(v)}::DOUBLE`);
  const cols = heat.map(([, i]) => `${value(bounds?.get(i)?.[0])} AS lo${i}, ${value(bounds?.get(i)?.[1])} AS hi${i}`).join(', ');
  return ` CROSS JOIN (SELECT ${cols}) AS hm`;
}

/**
 * The totals query: one row per group with every calculation (RATE_* totals are derived from the
 * series), HAVING, ORDER BY and LIMIT applied. Columns: g0..gN (breakdowns), c0..cM (calculations).
 *
 * @example
 *   planTotals(validateQuery({ calculations: ['P99(duration_ms)'], breakdowns: ['version'] }, catalog, now))
 *   // { sql: 'SELECT "service.version" AS g0, quantile_cont("duration_ms", 0.99) AS c0 FROM events WHERE ... GROUP BY ALL ...', params: [...] }
 */
export function planTotals(q: NormalizedQuery, bounds?: HeatmapBounds): SqlPlan {
  const p = new Params();
  const where = whereSql(q, p);
  let widthParam: string | undefined;
  const width = () => (widthParam ??= p.add(Math.max(q.endMs - q.startMs, 1)));
  const select = [
    ...q.breakdowns.map((b, i) => `${quoteIdent(b.field.name)} AS g${i}`),
    ...q.calculations.map((c, i) => `${c.op.startsWith('RATE_') ? 'NULL' : calcSql(c, i, width)} AS c${i}`),
  ];
  let sql = `SELECT ${select.join(', ')} FROM ${EVENTS_TABLE}${heatmapJoin(q, bounds, p)} WHERE ${where}`;
  // GROUP BY names the columns, not the aliases: a custom field could be called g0 (ORDER BY prefers aliases).
  if (q.breakdowns.length > 0) sql += ` GROUP BY ${q.breakdowns.map((b) => quoteIdent(b.field.name)).join(', ')}`;
  if (q.havings.length > 0) {
    sql += ` HAVING ${q.havings.map((h) => `${calcSql(q.calculations[h.calc], h.calc, width)} ${h.op === '!=' ? '<>' : h.op} ${p.add(h.value)}`).join(' AND ')}`;
  }
  if (q.breakdowns.length > 0) sql += ` ORDER BY ${orderSql(q)}`;
  sql += ` LIMIT ${int(q.limit)}`;
  return { sql, params: p.values };
}

/** The groups' order: the spec's orders (default: first calculation descending), then the breakdowns. */
export function orderSql(q: NormalizedQuery): string {
  const orders = q.orders.map((o) => (o.calc !== undefined ? `c${o.calc}` : `g${o.breakdown}`) + (o.descending ? ' DESC' : ' ASC') + ' NULLS LAST');
  if (orders.length === 0) {
    const first = q.calculations.findIndex((c) => c.op !== 'HEATMAP' && !c.op.startsWith('RATE_'));
    if (first >= 0) orders.push(`c${first} DESC NULLS LAST`);
  }
  orders.push(...q.breakdowns.map((_, i) => `g${i} ASC NULLS LAST`));
  return orders.length > 0 ? orders.join(', ') : '1';
}

/**
 * Totals and series in one pass over the events (GROUPING SETS), for queries with few groups: the
 * totals rows carry `ord` (their rank after HAVING and ORDER BY, at most `limit`), the series rows a
 * null `ord` and only for the kept groups. Columns: ord, g0..gN, t, c0..cM. With many groups the
 * two-pass plan is cheaper, because the series then only aggregates the kept groups.
 */
export function planOnePass(q: NormalizedQuery, maxRows: number, bounds?: HeatmapBounds): SqlPlan {
  const p = new Params();
  const where = whereSql(q, p);
  const heat = heatmapJoin(q, bounds, p);
  const gran = int(q.granularityMs);
  let rangeParam: string | undefined;
  const bucket = `("timestamp" // ${gran}) * ${gran}`;
  const width = () => `CASE WHEN GROUPING(${bucket}) = 1 THEN ${(rangeParam ??= p.add(Math.max(q.endMs - q.startMs, 1)))} ELSE ${gran} END`;
  const g = q.breakdowns.map((_, i) => `g${i}`);
  const gCols = q.breakdowns.map((b) => quoteIdent(b.field.name));
  const c = q.calculations.map((_, i) => `c${i}`);
  const select = [
    ...q.breakdowns.map((b, i) => `${quoteIdent(b.field.name)} AS g${i}`),
    `${bucket} AS t`,
    ...q.calculations.map((calc, i) => `${calcSql(calc, i, width)} AS c${i}`),
    `GROUPING(${bucket}) AS grp`,
  ];
  const having = q.havings.map((h) => ` AND c${h.calc} ${h.op === '!=' ? '<>' : h.op} ${p.add(h.value)}`).join('');
  const match = g.length === 0 ? 'true' : g.map((x) => `a.${x} IS NOT DISTINCT FROM k.${x}`).join(' AND ');
  const cols = [...g, 't', ...c].join(', ');
  const sql = `WITH agg AS (SELECT ${select.join(', ')} FROM ${EVENTS_TABLE}${heat} WHERE ${where} GROUP BY GROUPING SETS ((${[...gCols, bucket].join(', ')}), (${gCols.join(', ')}))),`
    + ` kept AS (SELECT *, row_number() OVER (ORDER BY ${orderSql(q)}) AS ord FROM agg WHERE grp = 1${having} QUALIFY ord <= ${int(q.limit)})`
    + ` SELECT ord, ${cols} FROM kept`
    + ` UNION ALL SELECT * FROM (SELECT NULL AS ord, ${[...g, 't', ...c].map((x) => `a.${x}`).join(', ')} FROM agg a SEMI JOIN kept k ON ${match} WHERE a.grp = 0 LIMIT ${int(maxRows + 1)})`;
  return { sql, params: p.values };
}

/**
 * The series query: per group and time bucket, every calculation. `groups` restricts it to the groups
 * the totals returned (pass undefined when the totals held every group). Columns: g0..gN, t (bucket
 * start, ms), c0..cM; with `counts`, also n<i> (values counted) for each percentile calculation i.
 */
export function planSeries(q: NormalizedQuery, groups: readonly (readonly Scalar[] | readonly (Scalar | null)[])[] | undefined, maxRows: number, bounds?: HeatmapBounds, opts: { counts?: boolean } = {}): SqlPlan {
  const p = new Params();
  let where = whereSql(q, p);
  const heat = heatmapJoin(q, bounds, p);
  const gran = int(q.granularityMs);
  const select = [
    ...q.breakdowns.map((b, i) => `${quoteIdent(b.field.name)} AS g${i}`),
    `("timestamp" // ${gran}) * ${gran} AS t`,
    ...q.calculations.map((c, i) => `${calcSql(c, i, () => gran)} AS c${i}`),
    ...(opts.counts ? q.calculations.flatMap((c, i) => (Object.hasOwn(PERCENTILES, c.op) ? [`count(${quoteIdent(c.field!.name)}) AS n${i}`] : [])) : []),
  ];
  if (groups !== undefined && q.breakdowns.length > 0) {
    if (groups.length === 0) where += ' AND false';
    else if (q.breakdowns.length === 1) {
      const col = quoteIdent(q.breakdowns[0].field.name);
      const nonNull = groups.map((g) => g[0]).filter((v): v is Scalar => v !== null);
      const parts = nonNull.length > 0 ? [`${col} IN (${nonNull.map((v) => p.add(v)).join(', ')})`] : [];
      if (nonNull.length < groups.length) parts.push(`${col} IS NULL`);
      where += ` AND (${parts.join(' OR ')})`;
    } else {
      const ors = groups.map((g) => `(${q.breakdowns.map((b, i) => (g[i] === null ? `${quoteIdent(b.field.name)} IS NULL` : `${quoteIdent(b.field.name)} = ${p.add(g[i] as Scalar)}`)).join(' AND ')})`);
      where += ` AND (${ors.join(' OR ')})`;
    }
  }
  const groupBy = [...q.breakdowns.map((b) => quoteIdent(b.field.name)), `("timestamp" // ${gran}) * ${gran}`].join(', ');
  const sql = `SELECT ${select.join(', ')} FROM ${EVENTS_TABLE}${heat} WHERE ${where} GROUP BY ${groupBy} LIMIT ${int(maxRows + 1)}`;
  return { sql, params: p.values };
}
