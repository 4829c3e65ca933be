/** Small value helpers for differences: short renderings and canonical JSON. */

/**
 * Cuts `text` to at most `max` characters, marking the cut with `…`.
 * @example truncate('abcdef', 4) // → 'abc…'
 */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

/**
 * The JSON token `buf[s, e)` as a value short enough to store in a difference: scalars and small
 * containers parsed, long strings cut, long containers as their cut JSON text.
 * @example summarize(Buffer.from('"hello"'), 0, 7, 200) // → 'hello'
 */
export function summarize(buf: Buffer, s: number, e: number, max: number): unknown {
  const c = buf[s];
  const container = c === 0x7b || c === 0x5b;
  if (container && e - s > max) return truncate(buf.toString('utf8', s, Math.min(e, s + max * 4)), max);
  const v: unknown = JSON.parse(buf.toString('utf8', s, e));
  return typeof v === 'string' ? truncate(v, max) : v;
}

/**
 * JSON text with object keys sorted at every level, so that equal values have equal texts
 * (used to compare array elements as a multiset).
 * @example canonicalJson({ b: 1, a: [1.0, { d: 2, c: 3 }] }) // → '{"a":[1,{"c":3,"d":2}],"b":1}'
 */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
}
