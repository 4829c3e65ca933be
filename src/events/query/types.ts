import type { FieldInfo } from '../columns.ts';

/** Honeycomb's percentile operators and the fraction each stands for. */
export const PERCENTILES = {
  P001: 0.001, P01: 0.01, P05: 0.05, P10: 0.1, P20: 0.2, P25: 0.25, P50: 0.5,
  P75: 0.75, P80: 0.8, P90: 0.9, P95: 0.95, P99: 0.99, P999: 0.999,
} as const;
export type PercentileOp = keyof typeof PERCENTILES;

export const CALC_OPS = [
  'COUNT', 'CONCURRENCY', 'SUM', 'AVG', 'MIN', 'MAX', 'COUNT_DISTINCT', 'HEATMAP', 'RATE_AVG', 'RATE_SUM', 'RATE_MAX',
  ...(Object.keys(PERCENTILES) as PercentileOp[]),
] as const;
export type CalcOp = (typeof CALC_OPS)[number];

export const FILTER_OPS = [
  '=', '!=', '>', '>=', '<', '<=', 'starts-with', 'does-not-start-with', 'ends-with', 'does-not-end-with',
  'exists', 'does-not-exist', 'contains', 'does-not-contain', 'in', 'not-in',
] as const;
export type FilterOp = (typeof FILTER_OPS)[number];

export const HAVING_OPS = ['=', '!=', '>', '>=', '<', '<='] as const;
export type HavingOp = (typeof HAVING_OPS)[number];

export type Scalar = string | number | boolean;

/** The query as Honeycomb's Query Specification spells it (times in seconds). */
export interface QuerySpec {
  calculations?: { op: string; column?: string | null }[];
  filters?: { column: string; op: string; value?: Scalar | Scalar[] | null }[];
  filter_combination?: 'AND' | 'OR';
  breakdowns?: string[];
  orders?: { op?: string; column?: string | null; order?: 'ascending' | 'descending' }[];
  havings?: { calculate_op: string; column?: string | null; op: string; value: number }[];
  limit?: number;
  /** Seconds. */
  time_range?: number;
  /** Unix seconds. */
  start_time?: number;
  end_time?: number;
  /** Seconds per time-series bucket. */
  granularity?: number;
  /** Weir extension: `false` skips the time series (cheaper, e.g. for rollout analysis). */
  series?: boolean;
}

export interface Calc {
  op: CalcOp;
  field?: FieldInfo;
  /** Honeycomb's name: `COUNT`, `P99(duration_ms)`, the column as the spec wrote it. */
  name: string;
}

export interface Filter {
  field: FieldInfo;
  op: FilterOp;
  /** Already coerced to the column's type; an array for `in` / `not-in`; absent for exists. */
  value?: Scalar | Scalar[];
}

export interface Order {
  /** Index into calculations, or undefined when ordering by a breakdown. */
  calc?: number;
  breakdown?: number;
  descending: boolean;
}

export interface Having {
  calc: number;
  op: HavingOp;
  value: number;
}

/** A validated query: fields resolved against the catalog, times in milliseconds. */
export interface NormalizedQuery {
  calculations: Calc[];
  filters: Filter[];
  combination: 'AND' | 'OR';
  breakdowns: { field: FieldInfo; name: string }[];
  orders: Order[];
  havings: Having[];
  limit: number;
  startMs: number;
  endMs: number;
  granularityMs: number;
  series: boolean;
}

export interface QueryLimits {
  /** Most groups a query may return (the `limit` ceiling). */
  maxGroups: number;
  /** Most time buckets per series. */
  maxBuckets: number;
}

export const DEFAULT_LIMITS: QueryLimits = { maxGroups: 10_000, maxBuckets: 1000 };
const NUMERIC = new Set(['BIGINT', 'INTEGER', 'DOUBLE']);

export function isNumeric(field: FieldInfo): boolean {
  return NUMERIC.has(field.type);
}

/** Honeycomb's name for a calculation: `COUNT`, `CONCURRENCY`, `P99(duration_ms)`. */
export function calcName(op: string, column?: string | null): string {
  return column ? `${op}(${column})` : op;
}

/**
 * Parses `P99(duration_ms)`, `COUNT`, `count_distinct(user)` into a calculation spec.
 *
 * @example
 *   parseCalc('P99(duration_ms)') // { op: 'P99', column: 'duration_ms' }
 */
export function parseCalc(text: string): { op: string; column?: string } {
  const m = /^\s*([A-Za-z_0-9]+)\s*(?:\(\s*([^)]*?)\s*\))?\s*$/.exec(text);
  if (!m) return { op: text };
  return m[2] ? { op: m[1].toUpperCase(), column: m[2] } : { op: m[1].toUpperCase() };
}
