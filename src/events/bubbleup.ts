import { WeirError } from '../errors.ts';
import { quoteIdent } from './columns.ts';
import type { FieldInfo } from './columns.ts';
import { EVENTS_TABLE, Params, filtersSql, whereSql } from './query/plan.ts';
import { isNumeric, validateQuery } from './query/spec.ts';
import type { NormalizedQuery, Scalar } from './query/spec.ts';
import { plain } from './query/shape.ts';
import type { EventStore } from './store.ts';

/**
 * What BubbleUp compares: the `selection` (events matching its filters) against the baseline (every
 * other event in the same time range that matches the optional outer `filters`).
 */
export interface BubbleUpSpec {
  selection: { filters: unknown[]; filter_combination?: 'AND' | 'OR' };
  filters?: unknown[];
  filter_combination?: 'AND' | 'OR';
  time_range?: number;
  start_time?: number;
  end_time?: number;
  /** Only these fields (default: every field but the timestamp and the selection's own fields). */
  fields?: string[];
  /** Values shown per categorical field (default 5). */
  top?: number;
}

export interface ValueShare {
  value: string | number | boolean | null;
  selection: number;
  baseline: number;
  selection_count: number;
  baseline_count: number;
}

export interface HistogramBucket {
  lower: number;
  upper: number;
  /** Share of the side's events with a value in the bucket. */
  selection: number;
  baseline: number;
}

export interface Dimension {
  field: string;
  kind: 'categorical' | 'numeric';
  /** Total variation distance between the two sides' distributions, 0 (same) to 1 (disjoint). */
  score: number;
  /** Distinct values (or non-empty buckets) seen. */
  cardinality: number;
  values: ValueShare[];
  histogram?: HistogramBucket[];
}

export interface BubbleUpResult {
  selection: { count: number };
  baseline: { count: number };
  dimensions: Dimension[];
  skipped: { field: string; reason: string }[];
  meta: { start_time: string; end_time: string; elapsed_ms: number };
}

export const BUBBLEUP_BUCKETS = 20;

/**
 * Total variation distance between two distributions given as counts per value: half the sum of the
 * absolute differences of the shares. Missing values count as a value of their own.
 *
 * @example
 *   totalVariation(new Map([['a', 9], ['b', 1]]), new Map([['a', 1], ['b', 9]])) // 0.8
 */
export function totalVariation(selection: ReadonlyMap<unknown, number>, baseline: ReadonlyMap<unknown, number>): number {
  const s = [...selection.values()].reduce((a, b) => a + b, 0);
  const b = [...baseline.values()].reduce((a, x) => a + x, 0);
  if (s === 0 || b === 0) return 0;
  let sum = 0;
  for (const k of new Set([...selection.keys(), ...baseline.keys()])) sum += Math.abs((selection.get(k) ?? 0) / s - (baseline.get(k) ?? 0) / b);
  return sum / 2;
}

/** Skip fields whose values are nearly all distinct (ids): every id differs between sides, which says nothing. */
const ID_LIKE_SHARE = 0.5;
/** Values kept apart when scoring a categorical field; the rest count as one "other" value. */
export const SCORE_VALUES = 50;
/** Categorical fields with more distinct values than this get a query of their own (see bubbleUp). */
const NARROW_VALUES = 1000;
const SKIP = new Set(['timestamp']);

/**
 * Ranks every field by how differently its values are distributed in the selection and the baseline.
 *
 * @example
 *   await bubbleUp(store, { selection: { filters: [{ column: 'duration_ms', op: '>', value: 800 }] }, time_range: 3600 })
 */
export async function bubbleUp(store: EventStore, input: unknown): Promise<BubbleUpResult> {
  const t0 = performance.now();
  if (typeof input !== 'object' || input === null) throw new WeirError('QUERY_INVALID', 'bubbleup: must be an object { selection: { filters }, time_range?, filters? }');
  const spec = input as BubbleUpSpec;
  if (typeof spec.selection !== 'object' || spec.selection === null || !Array.isArray(spec.selection.filters) || spec.selection.filters.length === 0) {
    throw new WeirError('QUERY_INVALID', 'selection.filters: must be a non-empty array of filters', { details: [{ path: 'selection.filters', message: 'must be a non-empty array' }] });
  }
  const now = store.clock();
  const time = { time_range: spec.time_range, start_time: spec.start_time, end_time: spec.end_time, series: false };
  const base = validateQuery({ ...time, filters: spec.filters ?? [], filter_combination: spec.filter_combination }, store.catalog, now);
  let sel: NormalizedQuery;
  try {
    sel = validateQuery({ ...time, filters: spec.selection.filters, filter_combination: spec.selection.filter_combination }, store.catalog, now);
  } catch (err) {
    if (err instanceof WeirError) throw new WeirError('QUERY_INVALID', err.message.replaceAll('filters[', 'selection.filters['), { details: err.details });
    throw err;
  }
  const top = spec.top ?? 5;
  const selFields = new Set(sel.filters.map((f) => f.field.name));
  let fields: FieldInfo[];
  if (spec.fields) {
    fields = spec.fields.map((name, i) => {
      const f = store.catalog.resolve(name);
      if (!f) throw new WeirError('QUERY_INVALID', `fields[${i}]: unknown field "${name}"`, { details: [{ path: `fields[${i}]`, message: 'unknown field' }] });
      return f;
    });
  } else fields = store.fields().filter((f) => !SKIP.has(f.name) && !selFields.has(f.name));

  const p = new Params();
  const where = whereSql(base, p);
  const whereParams = [...p.values];
  const selExpr = `coalesce(${filtersSql(sel.filters, sel.combination, p)}, false)`;
  const params = p.values;
  const [counts] = await store.sql(`SELECT count(*) FILTER (WHERE ${selExpr}) AS s, count(*) FILTER (WHERE NOT ${selExpr}) AS b FROM ${EVENTS_TABLE} WHERE ${where}`, params);
  const S = Number(counts.s);
  const B = Number(counts.b);
  const result: BubbleUpResult = {
    selection: { count: S },
    baseline: { count: B },
    dimensions: [],
    skipped: [],
    meta: { start_time: new Date(base.startMs).toISOString(), end_time: new Date(base.endMs).toISOString(), elapsed_ms: 0 },
  };
  if (S === 0 || B === 0) {
    result.meta.elapsed_ms = performance.now() - t0;
    return result;
  }

  // One pass for every field's non-null count, approximate distinct count and numeric range: empty
  // fields and id-like fields then cost nothing more.
  const stats = fields.length === 0 ? {} : (await store.sql(`SELECT ${fields.map((f, i) => {
    const col = quoteIdent(f.name);
    return `count(${col}) AS n${i}, ${isNumeric(f) ? `min(${col})::DOUBLE AS lo${i}, max(${col})::DOUBLE AS hi${i}` : `approx_count_distinct(${col}) AS d${i}`}`;
  }).join(', ')} FROM ${EVENTS_TABLE} WHERE ${where}`, whereParams))[0];
  // Which fields to compare, and as what: a categorical field by value, a numeric one by bucket.
  const kept: { field: FieldInfo; expr: string; range?: [number, number] }[] = [];
  const wide: FieldInfo[] = [];
  const qp: Scalar[] = [...params];
  for (const [i, f] of fields.entries()) {
    if (Number(stats[`n${i}`]) === 0) {
      result.skipped.push({ field: f.name, reason: 'no values in range' });
      continue;
    }
    const col = quoteIdent(f.name);
    if (!isNumeric(f)) {
      const distinct = Number(stats[`d${i}`]);
      if (distinct > 20 && distinct > ID_LIKE_SHARE * (S + B)) {
        result.skipped.push({ field: f.name, reason: `high cardinality (about ${distinct} distinct values): looks like an id` });
        continue;
      }
      if (distinct > NARROW_VALUES) wide.push(f);
      else kept.push({ field: f, expr: col });
      continue;
    }
    const range: [number, number] = [Number(stats[`lo${i}`]), Number(stats[`hi${i}`])];
    qp.push(range[0], range[1]);
    const lo = `$${qp.length - 1}::DOUBLE`;
    const hi = `$${qp.length}::DOUBLE`;
    kept.push({ field: f, range, expr: `CASE WHEN ${col} IS NULL THEN NULL WHEN ${hi} = ${lo} THEN 0 ELSE least(floor((${col} - ${lo}) / (${hi} - ${lo}) * ${BUBBLEUP_BUCKETS}), ${BUBBLEUP_BUCKETS - 1})::INTEGER END` });
  }
  if (kept.length > 0) {
    // Every field's distribution on both sides in a single scan: one grouping set per field.
    const rows = await store.sql(
      `SELECT ${kept.map((k, j) => `${k.expr} AS v${j}, GROUPING(${k.expr}) AS r${j}`).join(', ')},
         count(*) FILTER (WHERE ${selExpr}) AS s, count(*) FILTER (WHERE NOT ${selExpr}) AS b
       FROM ${EVENTS_TABLE} WHERE ${where} GROUP BY GROUPING SETS (${kept.map((k) => `(${k.expr})`).join(', ')})`, qp);
    const byField: { v: string | number | boolean | null; s: number; b: number }[][] = kept.map(() => []);
    for (const row of rows) {
      const j = kept.findIndex((_, x) => Number(row[`r${x}`]) === 0);
      if (j >= 0) byField[j].push({ v: plain(row[`v${j}`]), s: Number(row.s), b: Number(row.b) });
    }
    kept.forEach((k, j) => result.dimensions.push(dimension(k.field, k.range, byField[j], S, B, top)));
  }
  // Fields with many values: one query each, scored in SQL so that only the top values come back.
  const shareDiff = `abs(s / ${S}::DOUBLE - b / ${B}::DOUBLE)`;
  for (const f of wide) {
    const col = quoteIdent(f.name);
    const rows = await store.sql(
      `WITH g AS (SELECT ${col} AS v, count(*) FILTER (WHERE ${selExpr}) AS s, count(*) FILTER (WHERE NOT ${selExpr}) AS b FROM ${EVENTS_TABLE} WHERE ${where} GROUP BY 1),
       r AS (SELECT *, row_number() OVER (ORDER BY s + b DESC, v NULLS FIRST) AS rk, count(*) OVER () AS n FROM g),
       lumped AS (SELECT sum(s) AS s, sum(b) AS b FROM r GROUP BY CASE WHEN rk <= ${SCORE_VALUES} THEN rk ELSE 0 END),
       score AS (SELECT sum(${shareDiff}) / 2 AS tvd FROM lumped)
       SELECT v, s, b, (SELECT tvd FROM score) AS tvd, n FROM r ORDER BY ${shareDiff} DESC, s DESC, v LIMIT ${Math.max(1, Math.floor(top))}`, params);
    if (rows.length === 0) continue;
    result.dimensions.push({
      field: f.name, kind: 'categorical', score: Number(rows[0].tvd), cardinality: Number(rows[0].n),
      values: rows.map((r) => share({ v: plain(r.v), s: Number(r.s), b: Number(r.b) }, S, B)),
    });
  }
  result.dimensions.sort((a, b) => b.score - a.score || a.field.localeCompare(b.field));
  result.meta.elapsed_ms = Math.round((performance.now() - t0) * 10) / 10;
  return result;
}

function share(r: { v: Scalar | null; s: number; b: number }, S: number, B: number): ValueShare {
  return { value: r.v, selection: r.s / S, baseline: r.b / B, selection_count: r.s, baseline_count: r.b };
}

function compareValues(a: Scalar | null, b: Scalar | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

/**
 * One field's dimension from its value (or bucket) counts on both sides. Categorical fields are scored
 * with their values past the SCORE_VALUES most frequent merged into one; numeric ones over buckets.
 */
export function dimension(field: FieldInfo, range: [number, number] | undefined, counts: { v: Scalar | null; s: number; b: number }[], S: number, B: number, top: number): Dimension {
  const diff = (r: { s: number; b: number }) => Math.abs(r.s / S - r.b / B);
  const dim: Dimension = { field: field.name, kind: range ? 'numeric' : 'categorical', score: 0, cardinality: counts.length, values: [] };
  if (range) {
    dim.score = counts.reduce((a, r) => a + diff(r), 0) / 2;
    const [lo, hi] = range;
    const width = (hi - lo) / BUBBLEUP_BUCKETS;
    dim.histogram = counts.filter((r) => r.v !== null).sort((a, b) => Number(a.v) - Number(b.v)).map((r) => ({
      lower: lo + Number(r.v) * width, upper: hi === lo ? hi : lo + (Number(r.v) + 1) * width, selection: r.s / S, baseline: r.b / B,
    }));
    const missing = counts.find((r) => r.v === null);
    if (missing) dim.values.push(share(missing, S, B));
    return dim;
  }
  const byFrequency = [...counts].sort((a, b) => b.s + b.b - (a.s + a.b) || (a.v === null ? -1 : b.v === null ? 1 : compareValues(a.v, b.v)));
  const other = { s: 0, b: 0 };
  let score = 0;
  byFrequency.forEach((r, i) => {
    if (i < SCORE_VALUES) score += diff(r);
    else {
      other.s += r.s;
      other.b += r.b;
    }
  });
  dim.score = (score + diff(other)) / 2;
  dim.values = [...counts].sort((a, b) => diff(b) - diff(a) || b.s - a.s || compareValues(a.v, b.v)).slice(0, Math.max(1, Math.floor(top))).map((r) => share(r, S, B));
  return dim;
}
