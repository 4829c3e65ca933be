/**
 * A small JSON scanner over raw bytes, for the diff's fast path: it finds where a value ends without
 * building it, so identical subtrees can be compared byte for byte (memcmp) and skipped, and only the
 * values that differ are decoded. Written by hand because no parser exposes "skip this value, tell me
 * where it ends" over a Buffer; JSON.parse of two whole 4 KB bodies alone already costs more than the
 * diff's budget (see bench/diff.ts).
 *
 * The scanner validates structure where the diff walks (brackets, colons, commas, literals) and is loose
 * inside spans it only skips (it does not check escapes or number grammar there); a span whose bytes are
 * equal on both sides is equal whatever it holds. A malformed document throws {@link JsonScanError}, and
 * the diff then falls back to comparing the bodies as text.
 */

/** Thrown when the bytes are not JSON where the scanner needs them to be. */
export class JsonScanError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`${message} at byte ${offset}`);
    this.name = 'JsonScanError';
    this.offset = offset;
  }
}

// Byte constants.
export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const LBRACE = 0x7b;
export const RBRACE = 0x7d;
export const LBRACKET = 0x5b;
export const RBRACKET = 0x5d;
export const COLON = 0x3a;
export const COMMA = 0x2c;

/** JSON value types by their first byte. */
export type JsonType = 'object' | 'array' | 'string' | 'number' | 'boolean' | 'null';

/** Index of the first byte at or after `i` that is not JSON whitespace. */
export function skipWs(buf: Uint8Array, i: number): number {
  const n = buf.length;
  while (i < n) {
    const c = buf[i];
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i++;
  }
  return i;
}

/** True for the bytes a JSON number may contain. */
export function isNumberByte(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45;
}

/** The JSON type of the value starting at `i` (which must not be whitespace). */
export function typeAt(buf: Uint8Array, i: number): JsonType {
  const c = buf[i];
  if (c === LBRACE) return 'object';
  if (c === LBRACKET) return 'array';
  if (c === QUOTE) return 'string';
  if (c === 0x74 || c === 0x66) return 'boolean';
  if (c === 0x6e) return 'null';
  if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return 'number';
  throw new JsonScanError(c === undefined ? 'unexpected end of JSON' : `unexpected byte 0x${c.toString(16)}`, i);
}

/**
 * Index just after the closing quote of the string whose opening quote is at `i`.
 * @example skipString(Buffer.from('"a\\"b" '), 0) // → 6
 */
export function skipString(buf: Uint8Array, i: number): number {
  // A plain loop: Buffer#indexOf's per-call overhead dominates on the short strings of typical bodies.
  const n = buf.length;
  let j = i + 1;
  while (j < n) {
    const c = buf[j];
    if (c === QUOTE) return j + 1;
    j += c === BACKSLASH ? 2 : 1;
  }
  throw new JsonScanError('unterminated string', i);
}

function expectLiteral(buf: Uint8Array, i: number, lit: string): number {
  for (let k = 0; k < lit.length; k++) {
    if (buf[i + k] !== lit.charCodeAt(k)) throw new JsonScanError(`invalid literal, expected ${lit}`, i);
  }
  return i + lit.length;
}

/**
 * Index just after the value that starts at `i` (no leading whitespace). Containers are skipped by
 * counting brackets outside strings.
 * @example skipValue(Buffer.from('{"a":[1,"]"]} '), 0) // → 13
 */
export function skipValue(buf: Uint8Array, i: number): number {
  const c = buf[i];
  if (c === QUOTE) return skipString(buf, i);
  if (c === LBRACE || c === LBRACKET) {
    const n = buf.length;
    let depth = 0;
    let j = i;
    while (j < n) {
      const d = buf[j++];
      if (d === QUOTE) {
        // Inline string skip: the hot loop of the whole diff.
        for (;;) {
          if (j >= n) throw new JsonScanError('unterminated string', j);
          const e = buf[j++];
          if (e === QUOTE) break;
          if (e === BACKSLASH) j++;
        }
      } else if (d === LBRACE || d === LBRACKET) depth++;
      else if (d === RBRACE || d === RBRACKET) {
        if (--depth === 0) return j;
      }
    }
    throw new JsonScanError('unterminated container', i);
  }
  if (c === 0x74) return expectLiteral(buf, i, 'true');
  if (c === 0x66) return expectLiteral(buf, i, 'false');
  if (c === 0x6e) return expectLiteral(buf, i, 'null');
  if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
    let j = i + 1;
    const n = buf.length;
    while (j < n && isNumberByte(buf[j])) j++;
    return j;
  }
  throw new JsonScanError(c === undefined ? 'unexpected end of JSON' : `unexpected byte 0x${c.toString(16)}`, i);
}

/**
 * True when `a[ia, ia+len)` equals `b[ib, ib+len)`. Short spans are compared in JS (cheaper than a native
 * call), long ones with Buffer#compare (memcmp).
 */
export function bytesEqual(a: Buffer, ia: number, b: Buffer, ib: number, len: number): boolean {
  if (ib + len > b.length) return false;
  if (len < 24) {
    for (let k = 0; k < len; k++) if (a[ia + k] !== b[ib + k]) return false;
    return true;
  }
  return a.compare(b, ib, ib + len, ia, ia + len) === 0;
}

/**
 * If the value at `ib` in `b` is byte-identical to `a[ia, ea)`, the index just after it; otherwise -1.
 * Byte-identical JSON is the same value, so this is the diff's "skip the identical subtree" test. A number
 * needs one more check: `12` is a prefix of `123`.
 */
export function sameValueEnd(a: Buffer, ia: number, ea: number, b: Buffer, ib: number): number {
  const len = ea - ia;
  if (!bytesEqual(a, ia, b, ib, len)) return -1;
  const eb = ib + len;
  const c = a[ia];
  if ((c === 0x2d || (c >= 0x30 && c <= 0x39)) && eb < b.length && isNumberByte(b[eb])) return -1;
  return eb;
}

/** Decodes the string token `buf[s, e)` (quotes included). Escapes are decoded by JSON.parse. */
export function decodeString(buf: Buffer, s: number, e: number): string {
  for (let k = s + 1; k < e - 1; k++) {
    if (buf[k] === BACKSLASH) return parseSlice(buf, s, e) as string;
  }
  return buf.toString('utf8', s + 1, e - 1);
}

/** Parses the scalar or container token `buf[s, e)` with JSON.parse. */
export function parseSlice(buf: Buffer, s: number, e: number): unknown {
  try {
    return JSON.parse(buf.toString('utf8', s, e));
  } catch (err) {
    throw new JsonScanError(`invalid JSON value (${(err as Error).message})`, s);
  }
}

/** Moves past the `,` after a member/element, or stops at the closing bracket. Returns the next index. */
export function afterMember(buf: Uint8Array, i: number, close: number): number {
  i = skipWs(buf, i);
  const c = buf[i];
  if (c === COMMA) return skipWs(buf, i + 1);
  if (c === close) return i;
  throw new JsonScanError(`expected , or ${String.fromCharCode(close)}`, i);
}

/** Moves past the `:` after an object key. Returns the index of the value. */
export function afterColon(buf: Uint8Array, i: number): number {
  i = skipWs(buf, i);
  if (buf[i] !== COLON) throw new JsonScanError('expected :', i);
  return skipWs(buf, i + 1);
}

// Scratch space for indexContainers, reused between calls (the diff is synchronous, so one is enough).
// Bodies above SCRATCH_MAX get their own arrays so a rare huge body does not pin memory.
const SCRATCH_MAX = 1 << 20;
let closeScratch = new Int32Array(4096);
let stackScratch = new Int32Array(256);

/**
 * One pass over `buf` that records, for every `{` or `[` outside strings at offset `o`, the offset of its
 * matching closing bracket in `out[o]` (other entries are stale garbage: read only at opening brackets
 * found by a walk). It lets the diff skip any container in O(1) instead of rescanning it at every level.
 * Mismatched or unbalanced brackets throw {@link JsonScanError}.
 * @example const close = indexContainers(Buffer.from('[{}]')); // close[0] === 3, close[1] === 2
 */
export function indexContainers(buf: Uint8Array): Int32Array {
  const n = buf.length;
  let close = closeScratch;
  if (close.length < n) {
    close = new Int32Array(Math.max(n, close.length * 2));
    if (n <= SCRATCH_MAX) closeScratch = close;
  }
  let stack = stackScratch;
  let top = 0;
  let j = 0;
  while (j < n) {
    const d = buf[j];
    if (d === QUOTE) {
      j++;
      for (;;) {
        if (j >= n) throw new JsonScanError('unterminated string', j);
        const e = buf[j++];
        if (e === QUOTE) break;
        if (e === BACKSLASH) j++;
      }
      continue;
    }
    if (d === LBRACE || d === LBRACKET) {
      if (top === stack.length) {
        const bigger = new Int32Array(stack.length * 2);
        bigger.set(stack);
        stack = bigger;
        if (bigger.length <= SCRATCH_MAX) stackScratch = bigger;
      }
      stack[top++] = j;
    } else if (d === RBRACE || d === RBRACKET) {
      if (top === 0) throw new JsonScanError('unbalanced bracket', j);
      const open = stack[--top];
      if ((buf[open] === LBRACE) !== (d === RBRACE)) throw new JsonScanError('mismatched bracket', j);
      close[open] = j;
    }
    j++;
  }
  if (top !== 0) throw new JsonScanError('unterminated container', stack[top - 1]);
  return close;
}
