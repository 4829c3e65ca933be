import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { apiCall, resolveTarget } from '../client.ts';
import { parse } from '../args.ts';
import { UsageError } from '../command.ts';
import type { Command } from '../command.ts';
import { parseDuration } from '../../util/duration.ts';
import { parseCalc } from '../../events/query/spec.ts';
import type { QuerySpec, Scalar } from '../../events/query/spec.ts';
import type { Cell, Heatmap, QueryResult } from '../../events/query/shape.ts';

const WORD_OPS = ['does-not-start-with', 'starts-with', 'does-not-end-with', 'ends-with', 'does-not-contain', 'contains', 'not-in', 'in', 'does-not-exist', 'exists'];

function value(text: string): Scalar {
  const t = text.trim().replace(/^(["'])(.*)\1$/, '$2');
  if (t !== text.trim()) return t;
  if (/^-?\d+(?:\.\d+)?$/.test(t)) return Number(t);
  if (t === 'true' || t === 'false') return t === 'true';
  return t;
}

/**
 * Parses one `--where`: `status>=500`, `version=v2`, `path starts-with /api`, `error exists`,
 * `method in GET,POST`.
 *
 * @example
 *   parseWhere('status>=500') // { column: 'status', op: '>=', value: 500 }
 */
export function parseWhere(text: string): NonNullable<QuerySpec['filters']>[number] {
  const word = new RegExp(`^(\\S+)\\s+(${WORD_OPS.join('|')})(?:\\s+(.*))?$`).exec(text.trim());
  if (word) {
    const [, column, op, rest] = word;
    if (op === 'exists' || op === 'does-not-exist') return { column, op };
    if (rest === undefined) throw new UsageError(`--where "${text}": ${op} needs a value`);
    if (op === 'in' || op === 'not-in') return { column, op, value: rest.split(',').map(value) };
    return { column, op, value: String(value(rest)) };
  }
  const sym = /^([^<>=!\s]+)\s*(>=|<=|!=|=|>|<)\s*(.*)$/.exec(text.trim());
  if (!sym) throw new UsageError(`--where "${text}": write FIELD OP VALUE, e.g. status>=500 or "path starts-with /api"`);
  return { column: sym[1], op: sym[2], value: value(sym[3]) };
}

function parseOrder(text: string): NonNullable<QuerySpec['orders']>[number] {
  const m = /^(.+?)(?:\s+(asc|ascending|desc|descending))?$/i.exec(text.trim());
  if (!m) throw new UsageError(`--order "${text}": write CALC or FIELD, then asc or desc`);
  const order = m[2]?.toLowerCase().startsWith('desc') ? 'descending' : m[2] ? 'ascending' : undefined;
  const what = m[1].trim();
  const calc = parseCalc(what);
  const isCalc = /\(/.test(what) || ['COUNT', 'CONCURRENCY'].includes(what.toUpperCase());
  const o: NonNullable<QuerySpec['orders']>[number] = isCalc ? { op: calc.op, column: calc.column } : { column: what };
  if (order) o.order = order;
  else if (isCalc) o.order = 'descending';
  return o;
}

function parseHaving(text: string): NonNullable<QuerySpec['havings']>[number] {
  const m = /^(.+?)\s*(>=|<=|!=|=|>|<)\s*(-?\d+(?:\.\d+)?)$/.exec(text.trim());
  if (!m) throw new UsageError(`--having "${text}": write CALC OP NUMBER, e.g. "COUNT>10"`);
  const c = parseCalc(m[1]);
  return { calculate_op: c.op, column: c.column, op: m[2], value: Number(m[3]) };
}

function seconds(flag: string, text: string): number {
  const ms = parseDuration(/^\d+(?:\.\d+)?$/.test(text) ? `${text}s` : text);
  if (ms === undefined) throw new UsageError(`--${flag} "${text}": write a duration like 15m, 2h or 30s`);
  return ms / 1000;
}

function time(flag: string, text: string): number {
  if (/^\d+$/.test(text)) return Number(text) > 1e11 ? Number(text) / 1000 : Number(text);
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new UsageError(`--${flag} "${text}": write an ISO date or unix seconds`);
  return t / 1000;
}

export interface QueryFlags {
  calc?: string[];
  where?: string[];
  by?: string[];
  order?: string[];
  having?: string[];
  last?: string;
  start?: string;
  end?: string;
  granularity?: string;
  limit?: string;
  any?: boolean;
}

/**
 * Builds a Honeycomb query specification from `weir query` flags.
 *
 * @example
 *   specFromFlags({ calc: ['P99(duration_ms)'], where: ['status>=500'], by: ['version'], last: '15m' })
 *   // { calculations: [{ op: 'P99', column: 'duration_ms' }], filters: [...], breakdowns: ['version'], time_range: 900 }
 */
export function specFromFlags(f: QueryFlags): QuerySpec {
  const spec: QuerySpec = {};
  spec.calculations = (f.calc?.length ? f.calc : ['COUNT']).map(parseCalc);
  if (f.where?.length) spec.filters = f.where.map(parseWhere);
  if (f.any) spec.filter_combination = 'OR';
  if (f.by?.length) spec.breakdowns = f.by;
  if (f.order?.length) spec.orders = f.order.map(parseOrder);
  if (f.having?.length) spec.havings = f.having.map(parseHaving);
  if (f.last) spec.time_range = seconds('last', f.last);
  if (f.start) spec.start_time = time('start', f.start);
  if (f.end) spec.end_time = time('end', f.end);
  if (f.granularity) spec.granularity = seconds('granularity', f.granularity);
  if (f.limit) {
    const n = Number(f.limit);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--limit "${f.limit}": must be a positive integer`);
    spec.limit = n;
  }
  return spec;
}

const BARS = '▁▂▃▄▅▆▇█';
/** Widest trend drawn; longer series are folded, each column showing the largest value it covers. */
const TREND_WIDTH = 40;

/** One bar per value, scaled between lo and hi; null is a gap. */
function bars(values: readonly (number | null)[], lo: number, hi: number): string {
  return values.map((v) => (v === null ? ' ' : BARS[hi <= lo ? 3 : Math.min(7, Math.floor(((v - lo) / (hi - lo)) * 8))])).join('');
}

/** A HEATMAP as the distribution of the field: one bar per bucket from its min to its max. */
function heatmapBars(h: Heatmap): string {
  if (h.min === null || h.max === null || h.buckets.length === 0) return '-';
  const total = h.buckets.reduce((a, b) => a + b.count, 0);
  const width = h.buckets[0].upper - h.buckets[0].lower;
  const n = width > 0 ? Math.max(1, Math.round((h.max - h.min) / width)) : 1;
  const counts = new Array<number>(n).fill(0);
  for (const b of h.buckets) counts[width > 0 ? Math.min(n - 1, Math.round((b.lower - h.min) / width)) : 0] += b.count;
  return `${bars(counts, 0, Math.max(...counts))} ${show(h.min)}–${show(h.max)} (n=${total})`;
}

function show(c: Cell): string {
  if (c === null) return '-';
  if (typeof c === 'number') return Number.isInteger(c) ? String(c) : c.toPrecision(6).replace(/\.?0+$/, '');
  if (typeof c === 'object') return heatmapBars(c);
  return String(c);
}

/** Calculation columns are named as Honeycomb names them: COUNT, P99(duration_ms), HEATMAP(x). */
const isCalculation = (key: string): boolean => /^[A-Z][A-Z0-9_]*(\(.*\))?$/.test(key);
/** In a series bucket without events, counts and sums are 0; other calculations have no value. */
const zeroWhenEmpty = (calc: string): boolean => /^(COUNT|SUM|RATE_SUM|CONCURRENCY)\b/.test(calc);

/**
 * Each group's time series of each numeric calculation as a sparkline, on one scale per calculation
 * so groups can be compared by eye (the terminal's version of Honeycomb's graphs).
 */
export function trends(result: QueryResult): { columns: string[]; byGroup: string[][] } | null {
  const rows = result.data.results;
  const points = result.data.series;
  if (rows.length === 0 || points.length === 0) return null;
  const keys = Object.keys(rows[0].data);
  const groupKeys = keys.filter((k) => !isCalculation(k));
  const calcs = keys.filter((k) => isCalculation(k) && !k.startsWith('HEATMAP') && rows.some((r) => typeof r.data[k] === 'number'));
  const times = [...new Set(points.map((p) => p.time))].sort();
  if (calcs.length === 0 || times.length < 2) return null;
  const fold = Math.ceil(times.length / TREND_WIDTH);
  const timeIndex = new Map(times.map((t, i) => [t, i]));
  const groupOf = (data: Record<string, Cell>) => JSON.stringify(groupKeys.map((k) => data[k] ?? null));
  const series = new Map<string, (number | null)[][]>(); // group → calc → values per folded column
  for (const r of rows) {
    series.set(groupOf(r.data), calcs.map((c) => new Array<number | null>(Math.ceil(times.length / fold)).fill(zeroWhenEmpty(c) ? 0 : null)));
  }
  for (const p of points) {
    const s = series.get(groupOf(p.data));
    if (!s) continue;
    const col = Math.floor(timeIndex.get(p.time)! / fold);
    calcs.forEach((c, j) => {
      const v = p.data[c];
      if (typeof v !== 'number') return;
      const prev = s[j][col];
      s[j][col] = prev === null ? v : Math.max(prev, v);
    });
  }
  const scales = calcs.map((_, j) => {
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (const s of series.values()) for (const v of s[j]) if (v !== null) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    return { lo: Math.min(lo, 0), hi };
  });
  const byGroup = rows.map((r) => series.get(groupOf(r.data))!.map((values, j) => bars(values, scales[j].lo, scales[j].hi)));
  return { columns: calcs.map((c) => `${c} over time`), byGroup };
}

/** The series as an aligned text table: one row per bucket and group. */
export function formatSeries(result: QueryResult): string {
  const points = result.data.series;
  if (points.length === 0) return '';
  const head = ['time', ...Object.keys(points[0].data)];
  const cells = points.map((p) => [p.time, ...head.slice(1).map((h) => show(p.data[h] ?? null))]);
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd();
  return `${[head, ...cells].map(fmt).join('\n')}\n`;
}

/** The results as an aligned text table, one row per group. */
export function formatTable(result: QueryResult): string {
  const rows = result.data.results;
  if (rows.length === 0) return `no events matched (${result.meta.start_time} → ${result.meta.end_time})\n`;
  const keys = Object.keys(rows[0].data);
  const t = trends(result);
  const head = t ? [...keys, ...t.columns] : keys;
  const cells = rows.map((r, i) => [...keys.map((h) => show(r.data[h] ?? null)), ...(t ? t.byGroup[i] : [])]);
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd();
  const lines = [fmt(head), ...cells.map(fmt)];
  const note = `${rows.length} group(s), ${result.meta.start_time} → ${result.meta.end_time}, ${result.meta.elapsed_ms} ms${result.meta.truncated ? ', series truncated' : ''}`;
  return `${lines.join('\n')}\n\n${note}\n`;
}

const common = { url: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' } } as const;

export const queryCommand: Command = {
  name: 'query',
  summary: 'Query wide events: weir query --calc "P99(duration_ms)" --by version --last 15m',
  help: `Usage: weir query [--calc CALC]... [--where FILTER]... [--by FIELD]... [options]
       weir query --spec FILE.json [--json]

Runs a Honeycomb-style query on the event store and prints one row per group, with each
calculation's time series drawn as a sparkline (one scale per calculation, so groups compare by eye)
and each HEATMAP as the field's distribution from its min to its max.

  --calc CALC         COUNT, CONCURRENCY, SUM(f), AVG(f), MIN(f), MAX(f), COUNT_DISTINCT(f),
                      P001 P01 P05 P10 P20 P25 P50 P75 P80 P90 P95 P99 P999 (f), HEATMAP(f),
                      RATE_AVG(f), RATE_SUM(f), RATE_MAX(f). Repeatable; default COUNT.
  --where FILTER      status>=500, version=v2, "path starts-with /api", "error exists",
                      "method in GET,POST". Ops: = != > >= < <= starts-with does-not-start-with
                      ends-with does-not-end-with contains does-not-contain exists does-not-exist
                      in not-in. Repeatable; all must match (or any, with --any).
  --by FIELD          group by a field (repeatable). Aliases: status, version, route, path, ...
  --order WHAT        "P99(duration_ms) desc", "COUNT", "version asc" (repeatable)
  --having COND       "COUNT>10" (repeatable)
  --last DURATION     time range ending now: 15m, 2h, 7d (default 2h)
  --start, --end      ISO date or unix seconds
  --granularity D     series bucket width, e.g. 1m
  --limit N           most groups (default 1000)
  --any               match events meeting any --where instead of all
  --spec FILE         a JSON query specification instead of the flags above
  --series            also print the time series, one row per bucket and group
  --json              print the API's JSON (totals and series)
      --url URL       the control API (default: $WEIR_URL or http://127.0.0.1:8081)
      --token TOKEN   API token (default: $WEIR_TOKEN, $WEIR_ADMIN_TOKEN or .weir/admin-token)

Example:
  weir query --calc 'P99(duration_ms)' --calc COUNT --where 'status>=500' --by version --last 15m`,
  async run(args, io) {
    const { values, positionals } = parse(args, {
      ...common,
      calc: { type: 'string', multiple: true }, where: { type: 'string', multiple: true }, by: { type: 'string', multiple: true },
      order: { type: 'string', multiple: true }, having: { type: 'string', multiple: true },
      last: { type: 'string' }, start: { type: 'string' }, end: { type: 'string' }, granularity: { type: 'string' },
      limit: { type: 'string' }, any: { type: 'boolean' }, spec: { type: 'string' }, series: { type: 'boolean' },
    }, false);
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    let spec: unknown;
    if (values.spec) {
      const flagsUsed = ['calc', 'where', 'by', 'order', 'having', 'last', 'start', 'end', 'granularity', 'limit', 'any'].filter((k) => (values as Record<string, unknown>)[k] !== undefined);
      if (flagsUsed.length > 0) throw new UsageError(`--spec cannot be combined with --${flagsUsed[0]}; put it in the file`);
      try {
        spec = JSON.parse(readFileSync(resolve(io.cwd, values.spec), 'utf8'));
      } catch (e) {
        throw new UsageError(`--spec ${values.spec}: ${(e as Error).message}`);
      }
    } else spec = specFromFlags(values);
    const target = resolveTarget(values, io.env, io.cwd);
    const result = await apiCall<QueryResult>(target, 'POST', '/api/v1/query', spec);
    io.stdout(values.json ? JSON.stringify(result, null, 2) + '\n' : formatTable(result) + (values.series ? `\n${formatSeries(result)}` : ''));
    return 0;
  },
};
