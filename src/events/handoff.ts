import type { WideEvent } from './schema.ts';

/**
 * A slice of events in columns, as the store's main thread hands it to its writer thread. A field
 * whose values are all numbers travels as a Float64Array; a field whose values are all strings as
 * their lengths (an Int32Array) and the strings end to end in a few pieces (`texts`); any other field
 * as an array of its values. `present[c][r]` is 1 when row r has a value for field c. The typed
 * arrays are transferred, not copied.
 *
 * Why: posting the event objects makes V8 serialise every property name and value of every event on
 * the main thread (measured 1.4–2.4 µs per 16-field event); an array per field still pays per value;
 * a few strings and typed arrays per batch are copied whole. The pieces stay under PIECE_CHARS
 * characters because V8 allocates a string past 128 kB in its large-object space, which measured
 * about 100 times slower per byte (one 140 kB string per 2048-event batch cost 0.4 µs an event).
 */
export interface ColumnBatch {
  rows: number;
  keys: string[];
  nums: (Float64Array | null)[];
  lens: (Int32Array | null)[];
  /** An all-string field's strings end to end; a new piece starts where the next string would pass PIECE_CHARS. No string is split. */
  texts: (string[] | null)[];
  vals: (unknown[] | null)[];
  present: Uint8Array[];
}

/** Characters per text piece: 64 kB even when the strings need two bytes a character. */
export const PIECE_CHARS = 32_768;

interface Column {
  key: string;
  nums: Float64Array | null;
  /** The values of a field that is neither all numbers nor all strings. */
  vals: unknown[] | null;
  /** The values of an all-string field so far, present rows only, in row order. */
  strs: string[] | null;
  lens: Int32Array | null;
  present: Uint8Array;
}

/**
 * Encodes `events[from, to)` in columns; `transfer` lists the buffers to move with `postMessage`.
 * Absent, undefined and null values are all "no value".
 *
 * @example
 *   const { batch, transfer } = encodeColumns(events, 0, 2048);
 *   worker.postMessage({ t: 'rows', batch }, transfer);
 */
export function encodeColumns(events: readonly WideEvent[], from: number, to: number): { batch: ColumnBatch; transfer: ArrayBuffer[] } {
  const rows = to - from;
  const cols: Column[] = [];
  const byKey = new Map<string, Column>();
  // The columns in the order the previous event's keys came: events of one shape (the proxy's all
  // are) find their columns by position, with no map lookup per value.
  const shape: Column[] = [];
  for (let r = 0; r < rows; r++) {
    const e = events[from + r];
    let i = 0;
    for (const key in e) {
      let c: Column | undefined = shape[i];
      if (c === undefined || c.key !== key) {
        c = byKey.get(key);
        if (c === undefined) {
          c = { key, nums: null, vals: null, strs: null, lens: null, present: new Uint8Array(rows) };
          byKey.set(key, c);
          cols.push(c);
        }
        shape[i] = c;
      }
      i++;
      const v = e[key];
      if (v === undefined || v === null) continue;
      if (c.vals === null) {
        if (typeof v === 'number' && c.strs === null) {
          (c.nums ??= new Float64Array(rows))[r] = v;
          c.present[r] = 1;
          continue;
        }
        if (typeof v === 'string' && c.nums === null) {
          (c.strs ??= []).push(v);
          (c.lens ??= new Int32Array(rows))[r] = v.length;
          c.present[r] = 1;
          continue;
        }
        toValues(c, r);
      }
      c.vals![r] = v;
      c.present[r] = 1;
    }
  }
  const batch: ColumnBatch = { rows, keys: [], nums: [], lens: [], texts: [], vals: [], present: [] };
  const transfer: ArrayBuffer[] = [];
  for (const c of cols) {
    if (c.nums === null && c.strs === null && c.vals === null) continue; // only null or undefined values: no field
    batch.keys.push(c.key);
    batch.nums.push(c.nums);
    batch.lens.push(c.lens);
    batch.texts.push(c.strs === null ? null : pieces(c.strs));
    batch.vals.push(c.vals);
    batch.present.push(c.present);
    if (c.nums) transfer.push(c.nums.buffer as ArrayBuffer);
    if (c.lens) transfer.push(c.lens.buffer as ArrayBuffer);
    transfer.push(c.present.buffer as ArrayBuffer);
  }
  return { batch, transfer };
}

/** Strings end to end, in pieces of at most PIECE_CHARS characters unless one string is longer. */
function pieces(strs: readonly string[]): string[] {
  const out: string[] = [];
  let start = 0;
  let chars = 0;
  for (let i = 0; i < strs.length; i++) {
    const n = strs[i].length;
    if (chars > 0 && chars + n > PIECE_CHARS) {
      out.push(strs.slice(start, i).join(''));
      start = i;
      chars = 0;
    }
    chars += n;
  }
  out.push(start === 0 ? strs.join('') : strs.slice(start).join(''));
  return out;
}

/** The first value of a second kind in this field: what was collected so far moves into a plain array. */
function toValues(c: Column, upTo: number): void {
  const vals = new Array<unknown>(c.present.length);
  if (c.nums !== null) for (let j = 0; j < upTo; j++) if (c.present[j] === 1) vals[j] = c.nums[j];
  if (c.strs !== null) for (let j = 0, k = 0; j < upTo; j++) if (c.present[j] === 1) vals[j] = c.strs[k++];
  c.vals = vals;
  c.nums = null;
  c.strs = null;
  c.lens = null;
}

/**
 * One field's values in one column batch, as the writer thread reads them without rebuilding event
 * objects: numbers in a Float64Array, strings as offsets into the batch's text, anything else as an
 * array. `present[r]` is 1 when row r has a value.
 */
export type Source =
  | { kind: 'num'; present: Uint8Array; nums: Float64Array }
  | { kind: 'str'; present: Uint8Array; texts: string[]; piece: Uint16Array; offs: Int32Array; lens: Int32Array }
  | { kind: 'any'; present: Uint8Array; vals: unknown[] };

/** The batch's fields as sources, in `batch.keys` order (where each string starts, worked out once per batch). */
export function sourcesOf(batch: ColumnBatch): Source[] {
  const out: Source[] = [];
  for (let c = 0; c < batch.keys.length; c++) {
    const present = batch.present[c];
    const nums = batch.nums[c];
    const lens = batch.lens[c];
    const texts = batch.texts[c];
    if (nums) out.push({ kind: 'num', present, nums });
    else if (lens && texts) {
      const offs = new Int32Array(batch.rows);
      const piece = new Uint16Array(batch.rows);
      let k = 0;
      let at = 0;
      for (let r = 0; r < batch.rows; r++) {
        if (present[r] !== 1) continue;
        if (at + lens[r] > texts[k].length) {
          k++;
          at = 0;
        }
        piece[r] = k;
        offs[r] = at;
        at += lens[r];
      }
      out.push({ kind: 'str', present, texts, piece, offs, lens });
    } else out.push({ kind: 'any', present, vals: batch.vals[c]! });
  }
  return out;
}

/** Row r's value in a source; undefined when the row has none. */
export function valueAt(s: Source, r: number): WideEvent[string] {
  if (s.present[r] !== 1) return undefined;
  switch (s.kind) {
    case 'num':
      return s.nums[r];
    case 'str':
      return s.texts[s.piece[r]].slice(s.offs[r], s.offs[r] + s.lens[r]);
    default:
      return s.vals[r] as WideEvent[string];
  }
}

/** Turns a column batch back into event objects (appended to `into`), in the order they were pushed. For tests and debugging: the writer reads the sources directly. */
export function decodeColumns(batch: ColumnBatch, into: WideEvent[] = []): WideEvent[] {
  const base = into.length;
  for (let r = 0; r < batch.rows; r++) into.push({} as WideEvent);
  const sources = sourcesOf(batch);
  for (let c = 0; c < batch.keys.length; c++) {
    const key = batch.keys[c];
    for (let r = 0; r < batch.rows; r++) {
      const v = valueAt(sources[c], r);
      if (v === undefined) continue;
      const e = into[base + r];
      if (key === '__proto__') Object.defineProperty(e, key, { value: v, enumerable: true, writable: true, configurable: true });
      else e[key] = v;
    }
  }
  return into;
}
