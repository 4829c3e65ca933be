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

  const numeric = fields.filter(isNumeric);
  const bounds = new Map<string, [number, number]>();
  if (numeric.length > 0) {
    const cols = numeric.map((f, i) => `min(${quoteIdent(f.name)})::DOUBLE AS lo${i}, max(${quoteIdent(f.name)})::DOUBLE AS hi${i}`).join(', ');
    const [row] = await store.sql(`SELECT ${cols} FROM ${EVENTS_TABLE} WHERE ${where}`, whereParams);
    numeric.forEach((f, i) => {
      if (row[`lo${i}`] !== null) bounds.set(f.name, [Number(row[`lo${i}`]), Number(row[`hi${i}`])]);
    });
  }
  const shareDiff = `abs(s / ${S}::DOUBLE - b / ${B}::DOUBLE)`;
  for (const f of fields) {
    const col = quoteIdent(f.name);
    const range = bounds.get(f.name);
    const numericField = isNumeric(f);
    if (numericField && !range) {
      result.skipped.push({ field: f.name, reason: 'no values in range' });
      continue;
    }
    const qp = numericField ? [...params, range![0], range![1]] : params;
    const lo = `$${params.length + 1}::DOUBLE`;
    const hi = `$${params.length + 2}::DOUBLE`;
    const value = numericField
      ? `CASE WHEN ${col} IS NULL THEN NULL WHEN ${hi} = ${lo} THEN 0 ELSE least(floor((${col} - ${lo}) / (${hi} - ${lo}) * ${BUBBLEUP_BUCKETS}), ${BUBBLEUP_BUCKETS - 1})::INTEGER END`
      : col;
    const limit = numericField ? BUBBLEUP_BUCKETS + 1 : top;
    const order = numericField ? 'v NULLS LAST' : `${shareDiff} DESC, s DESC, v`;
    const rows = await store.sql(
      `WITH g AS (SELECT ${value} AS v, count(*) FILTER (WHERE ${selExpr}) AS s, count(*) FILTER (WHERE NOT ${selExpr}) AS b FROM ${EVENTS_TABLE} WHERE ${where} GROUP BY 1)
       SELECT v, s, b, sum(${shareDiff}) OVER () / 2 AS tvd, count(*) OVER () AS n FROM g ORDER BY ${order} LIMIT ${limit}`, qp);
    if (rows.length === 0) continue;
    const cardinality = Number(rows[0].n);
    if (!numericField && cardinality > 20 && cardinality > ID_LIKE_SHARE * (S + B)) {
      result.skipped.push({ field: f.name, reason: `high cardinality (${cardinality} distinct values): looks like an id` });
      continue;
    }
    const dim: Dimension = { field: f.name, kind: numericField ? 'numeric' : 'categorical', score: Number(rows[0].tvd), cardinality, values: [] };
    if (numericField) {
      const [lo, hi] = range!;
      const width = (hi - lo) / BUBBLEUP_BUCKETS;
      dim.histogram = rows.filter((r) => r.v !== null).map((r) => ({
        lower: lo + Number(r.v) * width, upper: hi === lo ? hi : lo + (Number(r.v) + 1) * width,
        selection: Number(r.s) / S, baseline: Number(r.b) / B,
      }));
      const missing = rows.find((r) => r.v === null);
      if (missing) dim.values.push(share(null, missing, S, B));
    } else {
      dim.values = rows.map((r) => share(plain(r.v), r, S, B));
    }
    result.dimensions.push(dim);
  }
  result.dimensions.sort((a, b) => b.score - a.score || a.field.localeCompare(b.field));
  result.meta.elapsed_ms = Math.round((performance.now() - t0) * 10) / 10;
  return result;
}

function share(value: Scalar | null, r: Record<string, unknown>, S: number, B: number): ValueShare {
  const s = Number(r.s);
  const b = Number(r.b);
  return { value, selection: s / S, baseline: b / B, selection_count: s, baseline_count: b };
}
