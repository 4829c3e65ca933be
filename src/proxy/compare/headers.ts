import type { Difference, RawHeaders } from './types.ts';
import type { CompiledRules } from './rules.ts';
import { matchesAny } from './path.ts';
import { truncate } from './value.ts';

/**
 * Headers as a map of lower-case name → value; repeated headers are joined with `, ` in order.
 * @example normalizeHeaders(['Content-Type', 'text/plain', 'Vary', 'a', 'vary', 'b'])
 *   // → Map { 'content-type' => 'text/plain', 'vary' => 'a, b' }
 */
export function normalizeHeaders(headers: RawHeaders): Map<string, string> {
  const out = new Map<string, string>();
  const add = (name: string, value: string): void => {
    const key = name.toLowerCase();
    const prev = out.get(key);
    out.set(key, prev === undefined ? value : `${prev}, ${value}`);
  };
  if (Array.isArray(headers)) {
    const list = headers as readonly string[];
    for (let i = 0; i + 1 < list.length; i += 2) add(list[i], list[i + 1]);
    return out;
  }
  for (const [name, value] of Object.entries(headers as Record<string, string | string[] | number | undefined>)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) add(name, v);
    else add(name, String(value));
  }
  return out;
}

/**
 * Differences between two header sets, minus the ignored names.
 * @example
 * diffHeaders({ 'x-v': '1', date: 'Mon' }, { 'x-v': '2', date: 'Tue' }, compileRules())
 * // → [{ section: 'header', path: 'x-v', kind: 'value', left: '1', right: '2' }]
 */
export function diffHeaders(left: RawHeaders, right: RawHeaders, rules: CompiledRules): Difference[] {
  const out: Difference[] = [];
  if (rules.ignoreAllHeaders) return out;
  const a = normalizeHeaders(left);
  const b = normalizeHeaders(right);
  const max = rules.maxValueChars;
  for (const [name, va] of a) {
    if (matchesAny(rules.ignoreHeaders, name)) continue;
    const vb = b.get(name);
    if (vb === undefined) out.push({ section: 'header', path: name, kind: 'missing', left: truncate(va, max) });
    else if (va !== vb) out.push({ section: 'header', path: name, kind: 'value', left: truncate(va, max), right: truncate(vb, max) });
  }
  for (const [name, vb] of b) {
    if (a.has(name) || matchesAny(rules.ignoreHeaders, name)) continue;
    out.push({ section: 'header', path: name, kind: 'extra', right: truncate(vb, max) });
  }
  return out;
}

/**
 * The value of one header (case-insensitive; repeated values joined) or undefined.
 * @example headerValue(['Content-Type', 'text/html'], 'content-type') // → 'text/html'
 */
export function headerValue(headers: RawHeaders, name: string): string | undefined {
  const want = name.toLowerCase();
  if (Array.isArray(headers)) {
    const list = headers as readonly string[];
    let out: string | undefined;
    for (let i = 0; i + 1 < list.length; i += 2) {
      if (list[i].toLowerCase() === want) out = out === undefined ? list[i + 1] : `${out}, ${list[i + 1]}`;
    }
    return out;
  }
  for (const [k, v] of Object.entries(headers as Record<string, string | string[] | number | undefined>)) {
    if (k.toLowerCase() !== want || v === undefined) continue;
    return Array.isArray(v) ? v.join(', ') : String(v);
  }
  return undefined;
}
