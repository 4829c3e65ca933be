/**
 * Fills one DuckDB data chunk from column sources (./handoff.ts), a whole vector at a time: values
 * are laid out in scratch typed arrays in DuckDB's own vector format and copied in with one native
 * call per column (`copy_data_to_vector`), instead of one `setItem` per value and one native call per
 * string. Used by the writer thread (./writer.ts); the chunk is then handed to the appender whole.
 *
 * The layouts are those of DuckDB's C API (`duckdb.h`): DOUBLE is a float64, INTEGER an int32,
 * BIGINT an int64 (written as two 32-bit halves, exact for every integer a JS number holds), BOOLEAN a
 * byte; VARCHAR is a 16-byte `duckdb_string_t`: a uint32 length, then, for strings of at most 12
 * UTF-8 bytes, the bytes themselves inline (zero-padded). Longer strings need memory the vector owns,
 * so they go through `vector_assign_string_element`, once per distinct string in the chunk: a
 * repeat copies the first one's 16 bytes, which point at the same bytes in the vector's heap.
 * Validity is DuckDB's bitmask, one bit per row.
 */
import duckdb from '@duckdb/node-bindings';
import { DuckDBDataChunk, BIGINT, BOOLEAN, DOUBLE, INTEGER, VARCHAR } from '@duckdb/node-api';
import type { DuckDBType } from '@duckdb/node-api';
import type { ColumnType } from './columns.ts';
import { valueAt } from './handoff.ts';
import type { Source } from './handoff.ts';

/** Rows in one data chunk: DuckDB's vector size. */
export const CHUNK_ROWS = 2048;
const INLINE = 12;
const DUCK_TYPES: Record<ColumnType, DuckDBType> = { BIGINT, INTEGER, DOUBLE, VARCHAR, BOOLEAN };
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = LITTLE_ENDIAN ? 0 : 1;
const TWO_32 = 4294967296;
const TWO_63 = 9223372036854775808;
const encoder = new TextEncoder();

/** Numbers as the store has always converted them: numbers, numeric strings; anything else is no value. */
export function toNumber(v: unknown): number | null {
  const n = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : null;
}

/** The columns a filler writes: their types, and whether a value that does not convert is a type conflict (standard columns). */
export interface FillColumn {
  type: ColumnType;
  standard: boolean;
}

/**
 * A reusable data chunk for one table layout.
 *
 * @example
 *   const filler = new ChunkFiller(columns);
 *   appender.appendDataChunk(filler.fill(sourcesByColumn, rows, stats));
 */
export class ChunkFiller {
  readonly #chunk: DuckDBDataChunk;
  readonly #columns: readonly FillColumn[];
  readonly #f64 = new Float64Array(CHUNK_ROWS);
  readonly #i32 = new Int32Array(CHUNK_ROWS * 2);
  readonly #u8 = new Uint8Array(CHUNK_ROWS);
  readonly #str = new Uint8Array(CHUNK_ROWS * 16);
  readonly #strLen = new Uint32Array(this.#str.buffer);
  readonly #zeros = new Uint8Array(CHUNK_ROWS * 16);
  readonly #mask = new Uint32Array(CHUNK_ROWS / 32);
  readonly #tmp = new Uint8Array(INLINE * 3);
  #conflicts = 0;

  constructor(columns: readonly FillColumn[]) {
    if (duckdb.vector_size() !== CHUNK_ROWS) throw new Error(`DuckDB's vector size is ${duckdb.vector_size()}, the event writer assumes ${CHUNK_ROWS}`);
    this.#columns = columns;
    this.#chunk = DuckDBDataChunk.create(columns.map((c) => DUCK_TYPES[c.type]));
  }

  /**
   * Fills the chunk with `rows` rows (at most CHUNK_ROWS): `sources[c]` holds column c's values, or
   * is undefined when no row has one. Returns the chunk, valid until the next `fill`, and adds the
   * values of standard columns that did not convert to `stats.typeConflicts` (they are stored as null).
   */
  fill(sources: readonly (Source | undefined)[], rows: number, stats: { typeConflicts: number }): DuckDBDataChunk {
    if (rows > CHUNK_ROWS) throw new Error(`a data chunk holds at most ${CHUNK_ROWS} rows, not ${rows}`);
    this.#chunk.reset(); // also frees the previous fill's long strings
    this.#chunk.rowCount = rows;
    this.#conflicts = 0;
    const raw = this.#chunk.chunk;
    for (let c = 0; c < this.#columns.length; c++) {
      const vec = duckdb.data_chunk_get_vector(raw, c);
      const s = sources[c];
      const { type, standard } = this.#columns[c];
      this.#mask.fill(0);
      let valid = 0;
      if (s !== undefined) {
        switch (type) {
          case 'VARCHAR':
            valid = this.#varchar(vec, s, rows);
            break;
          case 'DOUBLE':
            valid = this.#double(vec, s, rows, standard);
            break;
          case 'BIGINT':
            valid = this.#bigint(vec, s, rows, standard);
            break;
          case 'INTEGER':
            valid = this.#integer(vec, s, rows, standard);
            break;
          case 'BOOLEAN':
            valid = this.#boolean(vec, s, rows, standard);
        }
      } else if (type === 'VARCHAR') {
        // No string of this column may point at a heap the reset freed, even in a null row.
        duckdb.copy_data_to_vector(vec, 0, this.#zeros.buffer, 0, rows * 16);
      }
      if (valid < rows) {
        duckdb.vector_ensure_validity_writable(vec);
        duckdb.copy_data_to_vector_validity(vec, 0, this.#mask.buffer, 0, Math.ceil(rows / 64) * 8);
      }
    }
    stats.typeConflicts += this.#conflicts;
    return this.#chunk;
  }

  #valid(r: number): void {
    this.#mask[r >>> 5] |= 1 << (r & 31);
  }

  /** Counts a value that was present but did not convert, for a standard column. */
  #conflict(s: Source, r: number, standard: boolean): void {
    if (standard && s.present[r] === 1) this.#conflicts++;
  }

  #double(vec: duckdb.Vector, s: Source, rows: number, standard: boolean): number {
    let valid = 0;
    if (s.kind === 'num') {
      const { nums, present } = s;
      for (let r = 0; r < rows; r++) {
        if (present[r] === 1 && Number.isFinite(nums[r])) {
          this.#valid(r);
          valid++;
        } else this.#conflict(s, r, standard);
      }
      // Rows without a value keep whatever number is there: the validity bit says null.
      duckdb.copy_data_to_vector(vec, 0, nums.buffer as ArrayBuffer, nums.byteOffset, rows * 8);
      return valid;
    }
    const f64 = this.#f64;
    for (let r = 0; r < rows; r++) {
      const n = toNumber(valueAt(s, r));
      if (n === null) this.#conflict(s, r, standard);
      else {
        f64[r] = n;
        this.#valid(r);
        valid++;
      }
    }
    duckdb.copy_data_to_vector(vec, 0, f64.buffer, 0, rows * 8);
    return valid;
  }

  #bigint(vec: duckdb.Vector, s: Source, rows: number, standard: boolean): number {
    const i32 = this.#i32;
    let valid = 0;
    for (let r = 0; r < rows; r++) {
      const n = s.kind === 'num' ? (s.present[r] === 1 ? s.nums[r] : NaN) : toNumber(valueAt(s, r)) ?? NaN;
      const t = Math.trunc(n);
      if (!(t >= -TWO_63 && t < TWO_63)) {
        this.#conflict(s, r, standard);
        continue;
      }
      // Two's complement halves; both exact for any integer-valued double in range.
      const hi = Math.floor(t / TWO_32);
      i32[2 * r + LO] = t - hi * TWO_32;
      i32[2 * r + 1 - LO] = hi;
      this.#valid(r);
      valid++;
    }
    duckdb.copy_data_to_vector(vec, 0, i32.buffer, 0, rows * 8);
    return valid;
  }

  #integer(vec: duckdb.Vector, s: Source, rows: number, standard: boolean): number {
    const i32 = this.#i32;
    let valid = 0;
    for (let r = 0; r < rows; r++) {
      const n = s.kind === 'num' ? (s.present[r] === 1 ? s.nums[r] : NaN) : toNumber(valueAt(s, r)) ?? NaN;
      if (!(n <= 2147483647 && n >= -2147483648)) {
        this.#conflict(s, r, standard);
        continue;
      }
      i32[r] = Math.trunc(n);
      this.#valid(r);
      valid++;
    }
    duckdb.copy_data_to_vector(vec, 0, i32.buffer, 0, rows * 4);
    return valid;
  }

  #boolean(vec: duckdb.Vector, s: Source, rows: number, standard: boolean): number {
    const u8 = this.#u8;
    let valid = 0;
    for (let r = 0; r < rows; r++) {
      const v = s.kind === 'any' && s.present[r] === 1 ? s.vals[r] : undefined;
      if (typeof v !== 'boolean') {
        this.#conflict(s, r, standard);
        continue;
      }
      u8[r] = v ? 1 : 0;
      this.#valid(r);
      valid++;
    }
    duckdb.copy_data_to_vector(vec, 0, u8.buffer, 0, rows);
    return valid;
  }

  #varchar(vec: duckdb.Vector, s: Source, rows: number): number {
    const buf = this.#str;
    const len32 = this.#strLen;
    buf.fill(0, 0, rows * 16);
    let valid = 0;
    const long: LongStrings = { first: new Map(), rows: [], values: [], dupRows: [], dupOf: [] };
    if (s.kind === 'str') {
      const { texts, piece, offs, lens, present } = s;
      for (let r = 0; r < rows; r++) {
        if (present[r] !== 1) continue;
        const text = texts[piece[r]];
        const len = lens[r];
        const off = offs[r];
        valid++;
        this.#valid(r);
        if (len <= INLINE) {
          // The common case: a short ASCII string, copied byte by byte with no string made.
          const base = r * 16 + 4;
          let i = 0;
          for (; i < len; i++) {
            const ch = text.charCodeAt(off + i);
            if (ch >= 0x80) break;
            buf[base + i] = ch;
          }
          if (i === len) {
            len32[r * 4] = len;
            continue;
          }
          buf.fill(0, base, base + INLINE);
        }
        this.#string(r, text.slice(off, off + len), long);
      }
    } else {
      for (let r = 0; r < rows; r++) {
        const v = valueAt(s, r);
        if (v === undefined || v === null) continue;
        valid++;
        this.#valid(r);
        this.#string(r, typeof v === 'string' ? v : String(v), long);
      }
    }
    duckdb.copy_data_to_vector(vec, 0, buf.buffer, 0, rows * 16);
    for (let i = 0; i < long.rows.length; i++) duckdb.vector_assign_string_element(vec, long.rows[i], long.values[i]);
    if (long.dupRows.length > 0) {
      const data = duckdb.vector_get_data(vec, rows * 16);
      for (let i = 0; i < long.dupRows.length; i++) data.copyWithin(long.dupRows[i] * 16, long.dupOf[i] * 16, long.dupOf[i] * 16 + 16);
      duckdb.copy_data_to_vector(vec, 0, data.buffer as ArrayBuffer, data.byteOffset, rows * 16);
    }
    return valid;
  }

  /** Writes a string inline when its UTF-8 fits, else queues it (or its first copy in this chunk) for the vector's heap. */
  #string(r: number, v: string, long: LongStrings): void {
    if (v.length <= INLINE) {
      const { written } = encoder.encodeInto(v, this.#tmp);
      if (written <= INLINE) {
        this.#str.set(written === this.#tmp.length ? this.#tmp : this.#tmp.subarray(0, written), r * 16 + 4);
        this.#strLen[r * 4] = written;
        return;
      }
    }
    const first = long.first.get(v);
    if (first === undefined) {
      long.first.set(v, r);
      long.rows.push(r);
      long.values.push(v);
    } else {
      long.dupRows.push(r);
      long.dupOf.push(first);
    }
  }
}

interface LongStrings {
  first: Map<string, number>;
  rows: number[];
  values: string[];
  dupRows: number[];
  dupOf: number[];
}
