/**
 * An independent, plain-JS evaluation of a Honeycomb query over in-memory events: the expected
 * answers for the store's integration tests. It shares no code with the planner.
 */
import { FIELD_ALIASES } from '../../src/events/schema.ts';
import type { WideEvent } from '../../src/events/schema.ts';

type V = string | number | boolean | null | undefined;
export interface OFilter { column: string; op: string; value?: unknown }
export interface OSpec {
  calculations: { op: string; column?: string }[];
  filters?: OFilter[];
  filter_combination?: 'AND' | 'OR';
  breakdowns?: string[];
  havings?: { calculate_op: string; column?: string; op: string; value: number }[];
  orders?: { op?: string; column?: string; order?: 'ascending' | 'descending' }[];
  limit?: number;
  startMs: number;
  endMs: number;
}

const canon = (f: string) => FIELD_ALIASES[f] ?? f;
const present = (v: V): v is string | number | boolean => v !== undefined && v !== null;

function eq(v: string | number | boolean, x: unknown): boolean {
  if (typeof v === 'number') return v === Number(x);
  if (typeof v === 'boolean') return v === (x === true || x === 'true');
  return v === String(x);
}

export function matches(e: WideEvent, f: OFilter): boolean {
  const v = e[canon(f.column)] as V;
  const s = present(v) ? String(v) : '';
  const x = f.value;
  switch (f.op) {
    case '=': return present(v) && eq(v, x);
    case '!=': return !present(v) || !eq(v, x);
    case '>': return present(v) && (typeof v === 'number' ? v > Number(x) : String(v) > String(x));
    case '>=': return present(v) && (typeof v === 'number' ? v >= Number(x) : String(v) >= String(x));
    case '<': return present(v) && (typeof v === 'number' ? v < Number(x) : String(v) < String(x));
    case '<=': return present(v) && (typeof v === 'number' ? v <= Number(x) : String(v) <= String(x));
    case 'starts-with': return present(v) && s.startsWith(String(x));
    case 'does-not-start-with': return !present(v) || !s.startsWith(String(x));
    case 'ends-with': return present(v) && s.endsWith(String(x));
    case 'does-not-end-with': return !present(v) || !s.endsWith(String(x));
    case 'contains': return present(v) && s.includes(String(x));
    case 'does-not-contain': return !present(v) || !s.includes(String(x));
    case 'exists': return present(v);
    case 'does-not-exist': return !present(v);
    case 'in': return present(v) && (x as unknown[]).some((y) => eq(v, y));
    case 'not-in': return !present(v) || !(x as unknown[]).some((y) => eq(v, y));
    default: throw new Error(`oracle: unknown op ${f.op}`);
  }
}

export function quantile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * p;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

const P: Record<string, number> = { P001: 0.001, P01: 0.01, P05: 0.05, P10: 0.1, P20: 0.2, P25: 0.25, P50: 0.5, P75: 0.75, P80: 0.8, P90: 0.9, P95: 0.95, P99: 0.99, P999: 0.999 };

export function calc(op: string, column: string | undefined, events: WideEvent[], widthMs: number): number | null {
  const vals = column ? events.map((e) => e[canon(column)] as V).filter(present) : [];
  const nums = vals.map(Number);
  switch (op) {
    case 'COUNT': return events.length;
    case 'CONCURRENCY': return events.reduce((a, e) => a + Number(e.duration_ms ?? 0), 0) / widthMs;
    case 'SUM': return nums.length ? nums.reduce((a, b) => a + b, 0) : null;
    case 'AVG': return nums.length ? nums.reduce((a, b) => a + b, 0) / nums.length : null;
    case 'MIN': return nums.length ? Math.min(...nums) : null;
    case 'MAX': return nums.length ? Math.max(...nums) : null;
    case 'COUNT_DISTINCT': return new Set(vals).size;
    default:
      if (op in P) return quantile(nums, P[op]);
      throw new Error(`oracle: unsupported calc ${op}`);
  }
}

export interface ORow { group: V[]; calcs: (number | null)[] }

export function nameOf(c: { op: string; column?: string }): string {
  return c.column ? `${c.op}(${c.column})` : c.op;
}

/** Totals per group with havings, orders (default: first calculation descending) and limit. */
export function evaluate(all: WideEvent[], spec: OSpec): ORow[] {
  const inRange = all.filter((e) => e.timestamp >= spec.startMs && e.timestamp < spec.endMs);
  const fs = spec.filters ?? [];
  const selected = fs.length === 0 ? inRange : inRange.filter((e) => (spec.filter_combination === 'OR' ? fs.some((f) => matches(e, f)) : fs.every((f) => matches(e, f))));
  const bds = (spec.breakdowns ?? []).map(canon);
  const groups = new Map<string, { group: V[]; events: WideEvent[] }>();
  for (const e of selected) {
    const g = bds.map((b) => (present(e[b] as V) ? (e[b] as V) : null));
    const k = JSON.stringify(g);
    let entry = groups.get(k);
    if (!entry) groups.set(k, (entry = { group: g, events: [] }));
    entry.events.push(e);
  }
  if (bds.length === 0 && groups.size === 0) groups.set('[]', { group: [], events: [] });
  const width = spec.endMs - spec.startMs;
  let rows: ORow[] = [...groups.values()].map((g) => ({ group: g.group, calcs: spec.calculations.map((c) => calc(c.op, c.column, g.events, width)) }));
  const idx = (op: string, column?: string) => spec.calculations.findIndex((c) => c.op === op && c.column === column);
  for (const h of spec.havings ?? []) {
    const i = idx(h.calculate_op, h.column);
    rows = rows.filter((r) => {
      const v = r.calcs[i];
      if (v === null) return false;
      return { '=': v === h.value, '!=': v !== h.value, '>': v > h.value, '>=': v >= h.value, '<': v < h.value, '<=': v <= h.value }[h.op];
    });
  }
  const orders = spec.orders?.length ? spec.orders : [{ op: spec.calculations[0].op, column: spec.calculations[0].column, order: 'descending' as const }];
  const cmpV = (a: V, b: V) => (a === b ? 0 : a === null ? 1 : b === null ? -1 : (a as number | string) < (b as number | string) ? -1 : 1);
  rows.sort((a, b) => {
    for (const o of orders) {
      const [x, y] = o.op ? [a.calcs[idx(o.op, o.column ?? undefined)], b.calcs[idx(o.op, o.column ?? undefined)]] : [a.group[bds.indexOf(canon(o.column!))], b.group[bds.indexOf(canon(o.column!))]];
      let c = cmpV(x, y);
      if (c !== 0 && o.order === 'descending' && x !== null && y !== null) c = -c;
      if (c !== 0) return c;
    }
    for (let i = 0; i < bds.length; i++) {
      const c = cmpV(a.group[i], b.group[i]);
      if (c !== 0) return c;
    }
    return 0;
  });
  return rows.slice(0, spec.limit ?? 1000);
}

/** Events per (group, bucket start) for the series checks. */
export function bucketCounts(all: WideEvent[], spec: OSpec, granularityMs: number): Map<string, number> {
  const bds = (spec.breakdowns ?? []).map(canon);
  const out = new Map<string, number>();
  for (const e of all) {
    if (e.timestamp < spec.startMs || e.timestamp >= spec.endMs) continue;
    const fs = spec.filters ?? [];
    if (!(spec.filter_combination === 'OR' ? fs.some((f) => matches(e, f)) : fs.every((f) => matches(e, f)))) continue;
    const k = JSON.stringify([...bds.map((b) => (present(e[b] as V) ? e[b] : null)), Math.floor(e.timestamp / granularityMs) * granularityMs]);
    out.set(k, (out.get(k) ?? 0) + 1);
  }
  return out;
}
