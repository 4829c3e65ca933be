import type { Difference } from './types.ts';
import type { CompiledRules } from './rules.ts';
import { childIndex, childKey, matchesAny } from './path.ts';
import { canonicalJson, summarize } from './value.ts';
import {
  JsonScanError,
  LBRACE,
  LBRACKET,
  QUOTE,
  RBRACE,
  RBRACKET,
  afterColon,
  afterMember,
  indexContainers,
  decodeString,
  parseSlice,
  sameValueEnd,
  skipString,
  skipValue,
  skipWs,
  typeAt,
} from './json-scan.ts';

/**
 * Structural diff of two JSON documents given as raw bytes, walking both texts at once.
 *
 * Semantics (the property tests hold it to a JSON.parse-based reference):
 * - objects compare by key, whatever the key order; a key only in the first is `missing`, only in the
 *   second `extra`; duplicate keys: the last one wins (as JSON.parse), except when both documents repeat
 *   the same keys in the same order, where the occurrences are compared pairwise;
 * - arrays compare by position: the common prefix element by element and, if the lengths differ, one
 *   `array-length` difference at the array's path (the surplus elements are not listed one by one);
 *   arrays whose path matches `arraysAsSets` compare as multisets: `missing` / `extra` at `path[*]`, one
 *   difference per distinct element;
 * - different JSON types are one `type` difference, the subtree is not descended;
 * - numbers are equal when their IEEE-754 doubles are (as JSON.parse): `1`, `1.0` and `1e0` are equal,
 *   and so are two integers beyond 2^53 that round to the same double;
 * - strings are equal when their decoded text is: `"\u0041"` equals `"A"`.
 *
 * Fast path: one pass indexes where each container of the first document closes; then, member by
 * member, a value whose bytes equal the other side's (one memcmp) is skipped without being decoded, and
 * only the values that differ are descended into or parsed. A body that differs in a few fields costs
 * about one byte pass plus a memcmp per member on the way down to each difference.
 * Whitespace outside strings is insignificant (but defeats the memcmp: reformatted bodies take the slow,
 * still correct, path).
 */

interface Ctx {
  readonly a: Buffer;
  readonly b: Buffer;
  /** Closing-bracket offsets of `a`'s containers (see indexContainers). */
  readonly closeA: Int32Array;
  readonly rules: CompiledRules;
  readonly out: Difference[];
}

/** Index just after the value at `buf[i]`: O(1) for containers when their closing offsets are indexed. */
function endOf(buf: Buffer, close: Int32Array | null, i: number): number {
  const c = buf[i];
  return close !== null && (c === LBRACE || c === LBRACKET) ? close[i] + 1 : skipValue(buf, i);
}

function endA(ctx: Ctx, i: number): number {
  return endOf(ctx.a, ctx.closeA, i);
}

function full(ctx: Ctx): boolean {
  return ctx.out.length >= ctx.rules.maxDifferences;
}

function push(ctx: Ctx, d: Difference): void {
  if (!full(ctx)) ctx.out.push(d);
}

function value(ctx: Ctx, buf: Buffer, s: number, e: number): unknown {
  try {
    return summarize(buf, s, e, ctx.rules.maxValueChars);
  } catch (err) {
    throw new JsonScanError(`invalid JSON value (${(err as Error).message})`, s);
  }
}

/**
 * Diffs the values at `a[ia, ea)` and `b[ib, …)` (`ia`, `ib` past whitespace) whose bytes are not known
 * to be equal. Returns the index just after the value in `b`.
 */
function diffAt(ctx: Ctx, ia: number, ea: number, ib: number, path: string): number {
  const { a, b, rules } = ctx;
  if (full(ctx) || matchesAny(rules.ignorePaths, path)) return skipValue(b, ib);
  const ta = typeAt(a, ia);
  const tb = typeAt(b, ib);
  if (ta !== tb) {
    const eb = skipValue(b, ib);
    push(ctx, { section: 'body', path, kind: 'type', left: value(ctx, a, ia, ea), right: value(ctx, b, ib, eb) });
    return eb;
  }
  switch (ta) {
    case 'object':
      return diffObject(ctx, ia, ib, path);
    case 'array':
      return matchesAny(rules.arraysAsSets, path) ? diffSet(ctx, ia, ib, path) : diffArray(ctx, ia, ib, path);
    case 'string': {
      const eb = skipString(b, ib);
      if (decodeString(a, ia, ea) !== decodeString(b, ib, eb)) {
        push(ctx, { section: 'body', path, kind: 'value', left: value(ctx, a, ia, ea), right: value(ctx, b, ib, eb) });
      }
      return eb;
    }
    case 'number': {
      const eb = skipValue(b, ib);
      const x = parseSlice(a, ia, ea) as number;
      const y = parseSlice(b, ib, eb) as number;
      if (x !== y) push(ctx, { section: 'body', path, kind: 'value', left: x, right: y });
      return eb;
    }
    default: {
      // true/false/null: same type, so `true` vs `false` is the only way to differ.
      const eb = skipValue(b, ib);
      if (eb - ib !== ea - ia) push(ctx, { section: 'body', path, kind: 'value', left: value(ctx, a, ia, ea), right: value(ctx, b, ib, eb) });
      return eb;
    }
  }
}

interface Member {
  readonly vs: number;
  readonly ve: number;
}

/** Reads the remaining members of an object from `i` (at a key or at `}`) into a map; returns the end. */
function collectMembers(buf: Buffer, close: Int32Array | null, i: number, into: Map<string, Member>): number {
  while (buf[i] !== RBRACE) {
    if (buf[i] !== QUOTE) throw new JsonScanError('expected a key', i);
    const ke = skipString(buf, i);
    const key = decodeString(buf, i, ke);
    const vs = afterColon(buf, ke);
    const ve = endOf(buf, close, vs);
    into.set(key, { vs, ve });
    i = afterMember(buf, ve, RBRACE);
  }
  return i + 1;
}

function diffObject(ctx: Ctx, ia: number, ib: number, path: string): number {
  const { a, b } = ctx;
  let i = skipWs(a, ia + 1);
  let j = skipWs(b, ib + 1);
  // Lockstep while both sides list the same keys in the same order (the common case).
  while (a[i] !== RBRACE && b[j] !== RBRACE) {
    if (a[i] !== QUOTE) throw new JsonScanError('expected a key', i);
    if (b[j] !== QUOTE) throw new JsonScanError('expected a key', j);
    const kae = skipString(a, i);
    const kbe = skipString(b, j);
    if (kae - i !== kbe - j || sameValueEnd(a, i, kae, b, j) < 0) break;
    const keyStart = i;
    i = afterColon(a, kae);
    j = afterColon(b, kbe);
    const ea = endA(ctx, i);
    let eb = sameValueEnd(a, i, ea, b, j);
    if (eb < 0) eb = diffAt(ctx, i, ea, j, childKey(path, decodeString(a, keyStart, kae)));
    i = afterMember(a, ea, RBRACE);
    j = afterMember(b, eb, RBRACE);
  }
  if (a[i] === RBRACE && b[j] === RBRACE) return j + 1;
  // The key lists diverge: compare the rest by key.
  const left = new Map<string, Member>();
  const right = new Map<string, Member>();
  collectMembers(a, ctx.closeA, i, left);
  const end = collectMembers(b, null, j, right);
  for (const [key, m] of left) {
    const r = right.get(key);
    if (r === undefined) {
      if (!matchesAny(ctx.rules.ignorePaths, childKey(path, key))) {
        push(ctx, { section: 'body', path: childKey(path, key), kind: 'missing', left: value(ctx, a, m.vs, m.ve) });
      }
    } else if (sameValueEnd(a, m.vs, m.ve, b, r.vs) < 0) {
      diffAt(ctx, m.vs, m.ve, r.vs, childKey(path, key));
    }
  }
  for (const [key, r] of right) {
    if (left.has(key) || matchesAny(ctx.rules.ignorePaths, childKey(path, key))) continue;
    push(ctx, { section: 'body', path: childKey(path, key), kind: 'extra', right: value(ctx, b, r.vs, r.ve) });
  }
  return end;
}

/** Counts the remaining elements of an array from `i` (at an element or at `]`); returns [count, end]. */
function countRest(buf: Buffer, close: Int32Array | null, i: number): [number, number] {
  let n = 0;
  while (buf[i] !== RBRACKET) {
    i = afterMember(buf, endOf(buf, close, i), RBRACKET);
    n++;
  }
  return [n, i + 1];
}

function diffArray(ctx: Ctx, ia: number, ib: number, path: string): number {
  const { a, b } = ctx;
  let i = skipWs(a, ia + 1);
  let j = skipWs(b, ib + 1);
  let k = 0;
  while (a[i] !== RBRACKET && b[j] !== RBRACKET) {
    const ea = endA(ctx, i);
    let eb = sameValueEnd(a, i, ea, b, j);
    if (eb < 0) eb = diffAt(ctx, i, ea, j, childIndex(path, k));
    i = afterMember(a, ea, RBRACKET);
    j = afterMember(b, eb, RBRACKET);
    k++;
  }
  const [restA] = countRest(a, ctx.closeA, i);
  const [restB, end] = countRest(b, null, j);
  if (restA !== restB) {
    push(ctx, { section: 'body', path, kind: 'array-length', left: k + restA, right: k + restB });
  }
  return end;
}

/** The elements of the array at `i` as canonical JSON texts with their counts, and the array's end. */
function multiset(buf: Buffer, close: Int32Array | null, i: number): [Map<string, { n: number; s: number; e: number }>, number] {
  const counts = new Map<string, { n: number; s: number; e: number }>();
  i = skipWs(buf, i + 1);
  while (buf[i] !== RBRACKET) {
    const e = endOf(buf, close, i);
    const key = canonicalJson(parseSlice(buf, i, e));
    const seen = counts.get(key);
    if (seen) seen.n++;
    else counts.set(key, { n: 1, s: i, e });
    i = afterMember(buf, e, RBRACKET);
  }
  return [counts, i + 1];
}

function diffSet(ctx: Ctx, ia: number, ib: number, path: string): number {
  const { a, b } = ctx;
  const [left] = multiset(a, ctx.closeA, ia);
  const [right, end] = multiset(b, null, ib);
  const elem = `${path}[*]`;
  for (const [key, l] of left) {
    const r = right.get(key);
    if (r === undefined || r.n < l.n) push(ctx, { section: 'body', path: elem, kind: 'missing', left: value(ctx, a, l.s, l.e) });
  }
  for (const [key, r] of right) {
    const l = left.get(key);
    if (l === undefined || l.n < r.n) push(ctx, { section: 'body', path: elem, kind: 'extra', right: value(ctx, b, r.s, r.e) });
  }
  return end;
}

/**
 * Diffs two JSON bodies. Throws {@link JsonScanError} when either is not JSON where the walk needs it.
 * @example
 * diffJsonBodies(Buffer.from('{"a":1,"b":[1,2]}'), Buffer.from('{"a":2,"b":[1]}'), compileRules())
 * // → [{ section: 'body', path: 'a', kind: 'value', left: 1, right: 2 },
 * //    { section: 'body', path: 'b', kind: 'array-length', left: 2, right: 1 }]
 */
export function diffJsonBodies(a: Buffer, b: Buffer, rules: CompiledRules): Difference[] {
  if (a.equals(b)) return [];
  const ctx: Ctx = { a, b, closeA: indexContainers(a), rules, out: [] };
  const ia = skipWs(a, 0);
  const ib = skipWs(b, 0);
  const ea = endA(ctx, ia);
  // The bodies differ somewhere (maybe only in whitespace): walk the root without a byte check first.
  const eb = diffAt(ctx, ia, ea, ib, '');
  if (skipWs(a, ea) !== a.length) throw new JsonScanError('unexpected data after JSON', skipWs(a, ea));
  if (skipWs(b, eb) !== b.length) throw new JsonScanError('unexpected data after JSON', skipWs(b, eb));
  return ctx.out;
}
