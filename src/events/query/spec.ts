import { WeirError } from '../../errors.ts';
import { closest } from '../../util/suggest.ts';
import type { FieldCatalog, FieldInfo } from '../columns.ts';
import { CALC_OPS, DEFAULT_LIMITS, FILTER_OPS, HAVING_OPS, PERCENTILES, calcName, isNumeric, parseCalc } from './types.ts';
import type { Calc, CalcOp, Filter, FilterOp, Having, HavingOp, NormalizedQuery, Order, QueryLimits, Scalar } from './types.ts';

export * from './types.ts';

const DEFAULT_TIME_RANGE_S = 7200;
/** The largest time in seconds a query may name: 9999-12-31T23:59:59Z (JavaScript dates and the bucket labels end there). */
const MAX_TIME_S = 253_402_300_799;
const DEFAULT_LIMIT = 1000;
const NICE_GRANULARITIES_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 604800];
const NUMERIC = new Set(['BIGINT', 'INTEGER', 'DOUBLE']);
const NEEDS_NUMERIC = new Set<string>(['SUM', 'AVG', 'MIN', 'MAX', 'HEATMAP', 'RATE_AVG', 'RATE_SUM', 'RATE_MAX', ...Object.keys(PERCENTILES)]);

class Problems {
  readonly list: { path: string; message: string }[] = [];
  add(path: string, message: string): void {
    this.list.push({ path, message });
  }
}

function fieldOf(catalog: FieldCatalog, name: unknown, path: string, p: Problems): FieldInfo | undefined {
  if (typeof name !== 'string' || name === '') {
    p.add(path, 'must be a field name');
    return undefined;
  }
  const f = catalog.resolve(name);
  if (!f) {
    const hint = closest(name, catalog.list().map((x) => x.name));
    p.add(path, `unknown field "${name}"${hint ? `; did you mean "${hint}"?` : ''}`);
  }
  return f;
}

function coerce(field: FieldInfo, value: unknown, path: string, p: Problems, op: FilterOp): Scalar | undefined {
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    p.add(path, 'must be a string, number or boolean');
    return undefined;
  }
  const textOp = op.includes('start') || op.includes('end') || op.includes('contain');
  if (textOp) return String(value);
  if (NUMERIC.has(field.type)) {
    const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
    if (!Number.isFinite(n)) {
      p.add(path, `${JSON.stringify(value)} is not a number, and ${field.name} is numeric`);
      return undefined;
    }
    return n;
  }
  if (field.type === 'BOOLEAN') {
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === 'false') return value === 'true';
    p.add(path, `${JSON.stringify(value)} is not true or false, and ${field.name} is boolean`);
    return undefined;
  }
  return String(value);
}

function chooseGranularity(rangeS: number, maxBuckets: number): number {
  const wanted = rangeS / 100;
  return NICE_GRANULARITIES_S.find((g) => g >= wanted && rangeS / g <= maxBuckets) ?? Math.ceil(rangeS / maxBuckets);
}

/**
 * Validates a Honeycomb query specification against the known fields and resolves it. Collects every
 * problem with its path and throws one WeirError `QUERY_INVALID` whose details list them.
 *
 * @example
 *   validateQuery({ calculations: [{ op: 'P99', column: 'duration_ms' }], breakdowns: ['version'] }, catalog, Date.now())
 */
export function validateQuery(input: unknown, catalog: FieldCatalog, nowMs: number, limits: QueryLimits = DEFAULT_LIMITS): NormalizedQuery {
  const p = new Problems();
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new WeirError('QUERY_INVALID', 'query: must be a JSON object (a Honeycomb query specification)', { details: [{ path: '', message: 'must be an object' }] });
  }
  const spec = input as Record<string, unknown>;
  const known = new Set(['calculations', 'filters', 'filter_combination', 'breakdowns', 'orders', 'havings', 'limit', 'time_range', 'start_time', 'end_time', 'granularity', 'series']);
  for (const k of Object.keys(spec)) if (!known.has(k)) p.add(k, `unknown key${closest(k, known) ? `; did you mean "${closest(k, known)}"?` : ''}`);

  const calculations: Calc[] = [];
  const rawCalcs = spec.calculations ?? [{ op: 'COUNT' }];
  if (!Array.isArray(rawCalcs)) p.add('calculations', 'must be an array');
  else {
    rawCalcs.forEach((c: unknown, i) => {
      const path = `calculations[${i}]`;
      const obj = (typeof c === 'string' ? parseCalc(c) : c) as { op?: unknown; column?: unknown } | null;
      const op = typeof obj?.op === 'string' ? obj.op.toUpperCase() : undefined;
      if (!op || !(CALC_OPS as readonly string[]).includes(op)) {
        const hint = typeof obj?.op === 'string' ? closest(obj.op.toUpperCase(), CALC_OPS) : undefined;
        p.add(`${path}.op`, `unknown calculation ${JSON.stringify(obj?.op)}${hint ? `; did you mean ${hint}?` : ''}; one of ${CALC_OPS.join(', ')}`);
        return;
      }
      const column = obj?.column ?? undefined;
      if (op === 'COUNT' || op === 'CONCURRENCY') {
        if (column !== undefined && column !== null) p.add(`${path}.column`, `${op} takes no column`);
        calculations.push({ op: op as CalcOp, name: op });
        return;
      }
      const field = fieldOf(catalog, column, `${path}.column`, p);
      if (!field) return;
      if (NEEDS_NUMERIC.has(op) && !isNumeric(field)) p.add(`${path}.column`, `${op} needs a numeric field; ${field.name} is ${field.type}`);
      calculations.push({ op: op as CalcOp, field, name: calcName(op, column as string) });
    });
  }

  const filters: Filter[] = [];
  const rawFilters = spec.filters ?? [];
  if (!Array.isArray(rawFilters)) p.add('filters', 'must be an array');
  else {
    rawFilters.forEach((f: unknown, i) => {
      const path = `filters[${i}]`;
      const obj = f as { column?: unknown; op?: unknown; value?: unknown } | null;
      if (typeof obj !== 'object' || obj === null) return p.add(path, 'must be an object { column, op, value }');
      const op = obj.op as FilterOp;
      if (!(FILTER_OPS as readonly string[]).includes(op)) return p.add(`${path}.op`, `unknown filter op ${JSON.stringify(obj.op)}; one of ${FILTER_OPS.join(', ')}`);
      const field = fieldOf(catalog, obj.column, `${path}.column`, p);
      if (!field) return;
      if (op === 'exists' || op === 'does-not-exist') return void filters.push({ field, op });
      if (op === 'in' || op === 'not-in') {
        if (!Array.isArray(obj.value) || obj.value.length === 0) return p.add(`${path}.value`, `${op} needs a non-empty array`);
        const values = obj.value.map((v, j) => coerce(field, v, `${path}.value[${j}]`, p, op));
        if (values.every((v) => v !== undefined)) filters.push({ field, op, value: values as Scalar[] });
        return;
      }
      if ((op === '>' || op === '>=' || op === '<' || op === '<=') && field.type === 'BOOLEAN') return p.add(`${path}.op`, `${op} does not apply to boolean ${field.name}`);
      const value = coerce(field, obj.value, `${path}.value`, p, op);
      if (value !== undefined) filters.push({ field, op, value });
    });
  }

  const combination = spec.filter_combination ?? 'AND';
  if (combination !== 'AND' && combination !== 'OR') p.add('filter_combination', 'must be "AND" or "OR"');

  const breakdowns: NormalizedQuery['breakdowns'] = [];
  const rawBreakdowns = spec.breakdowns ?? [];
  if (!Array.isArray(rawBreakdowns)) p.add('breakdowns', 'must be an array of field names');
  else rawBreakdowns.forEach((b: unknown, i) => {
    const field = fieldOf(catalog, b, `breakdowns[${i}]`, p);
    if (field) breakdowns.push({ field, name: b as string });
  });

  const findCalc = (op: unknown, column: unknown): number => {
    const name = calcName(String(op).toUpperCase(), typeof column === 'string' ? column : undefined);
    const resolved = typeof column === 'string' ? catalog.resolve(column)?.name : undefined;
    return calculations.findIndex((c) => c.name === name || (c.op === String(op).toUpperCase() && c.field !== undefined && c.field.name === resolved));
  };

  const orders: Order[] = [];
  const rawOrders = spec.orders ?? [];
  if (!Array.isArray(rawOrders)) p.add('orders', 'must be an array');
  else rawOrders.forEach((o: unknown, i) => {
    const path = `orders[${i}]`;
    const obj = o as { op?: unknown; column?: unknown; order?: unknown } | null;
    if (typeof obj !== 'object' || obj === null) return p.add(path, 'must be an object { op?, column?, order? }');
    if (obj.order !== undefined && obj.order !== 'ascending' && obj.order !== 'descending') p.add(`${path}.order`, 'must be "ascending" or "descending"');
    const descending = obj.order === 'descending';
    if (obj.op !== undefined && obj.op !== null) {
      const idx = findCalc(obj.op, obj.column);
      if (idx < 0) return p.add(path, `orders by ${calcName(String(obj.op), obj.column as string)}, which is not in calculations`);
      const op = calculations[idx].op;
      if (op === 'HEATMAP' || op.startsWith('RATE_')) return p.add(path, `cannot order by ${op}`);
      orders.push({ calc: idx, descending });
    } else {
      const field = fieldOf(catalog, obj.column, `${path}.column`, p);
      if (!field) return;
      const idx = breakdowns.findIndex((b) => b.field.name === field.name);
      if (idx < 0) return p.add(`${path}.column`, `${String(obj.column)} is not in breakdowns; order by a breakdown or give an op`);
      orders.push({ breakdown: idx, descending });
    }
  });

  const havings: Having[] = [];
  const rawHavings = spec.havings ?? [];
  if (!Array.isArray(rawHavings)) p.add('havings', 'must be an array');
  else rawHavings.forEach((h: unknown, i) => {
    const path = `havings[${i}]`;
    const obj = h as { calculate_op?: unknown; column?: unknown; op?: unknown; value?: unknown } | null;
    if (typeof obj !== 'object' || obj === null) return p.add(path, 'must be an object { calculate_op, column?, op, value }');
    if (!(HAVING_OPS as readonly string[]).includes(obj.op as string)) return p.add(`${path}.op`, `must be one of ${HAVING_OPS.join(' ')}`);
    if (typeof obj.value !== 'number' || !Number.isFinite(obj.value)) return p.add(`${path}.value`, 'must be a number');
    const idx = findCalc(obj.calculate_op, obj.column);
    if (idx < 0) return p.add(path, `${calcName(String(obj.calculate_op), obj.column as string)} is not in calculations`);
    const op = calculations[idx].op;
    if (op === 'HEATMAP' || op.startsWith('RATE_')) return p.add(path, `cannot filter groups on ${op}`);
    havings.push({ calc: idx, op: obj.op as HavingOp, value: obj.value });
  });

  const limit = spec.limit ?? Math.min(DEFAULT_LIMIT, limits.maxGroups);
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > limits.maxGroups) p.add('limit', `must be an integer from 1 to ${limits.maxGroups}`);

  const num = (k: string): number | undefined => {
    const v = spec[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      p.add(k, 'must be a non-negative number of seconds');
      return undefined;
    }
    if (v > MAX_TIME_S) {
      p.add(k, `must be at most ${MAX_TIME_S} seconds (9999-12-31, the last time a timestamp can hold)`);
      return undefined;
    }
    return v;
  };
  const timeRange = num('time_range');
  let start = num('start_time');
  let end = num('end_time');
  if (start !== undefined && end !== undefined) {
    if (timeRange !== undefined) p.add('time_range', 'give at most two of time_range, start_time, end_time');
  } else if (start !== undefined) end = start + (timeRange ?? DEFAULT_TIME_RANGE_S);
  else if (end !== undefined) start = end - (timeRange ?? DEFAULT_TIME_RANGE_S);
  else {
    // Relative to now, and including events stamped exactly now (the range's end is exclusive).
    end = (nowMs + 1) / 1000;
    start = end - (timeRange ?? DEFAULT_TIME_RANGE_S);
  }
  if (start! >= end!) p.add('end_time', 'must be after start_time');
  const rangeS = Math.max(end! - start!, 1);
  let granularity = num('granularity');
  if (granularity !== undefined && (granularity < 1 || rangeS / granularity > limits.maxBuckets)) {
    p.add('granularity', `must be at least 1 second and at least time_range / ${limits.maxBuckets} (${Math.ceil(rangeS / limits.maxBuckets)}s here)`);
  }
  granularity ??= chooseGranularity(rangeS, limits.maxBuckets);
  if (spec.series !== undefined && typeof spec.series !== 'boolean') p.add('series', 'must be a boolean');

  if (p.list.length > 0) {
    throw new WeirError('QUERY_INVALID', p.list.map((x) => `${x.path}: ${x.message}`).join('; '), { details: p.list });
  }
  const hasRate = calculations.some((c) => c.op.startsWith('RATE_'));
  return {
    calculations, filters, combination: combination as 'AND' | 'OR', breakdowns, orders, havings,
    limit: limit as number,
    startMs: Math.round(start! * 1000), endMs: Math.round(end! * 1000), granularityMs: Math.round(granularity * 1000),
    series: hasRate || spec.series !== false,
  };
}
