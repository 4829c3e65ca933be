import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import { FieldCatalog, MAX_FIELD_NAME_LENGTH, STANDARD_COLUMNS, fits, inferType, quoteIdent } from './columns.ts';
import type { ColumnType, FieldInfo } from './columns.ts';
import { FINGERPRINT_FIELDS, fingerprint } from './fingerprint.ts';
import { sourcesOf, valueAt } from './handoff.ts';
import type { ColumnBatch, Source } from './handoff.ts';
import type { WideEvent } from './schema.ts';
import { EVENTS_TABLE } from './query/plan.ts';
import { CHUNK_ROWS, ChunkFiller } from './vectors.ts';

/** Chunks appended between two yields to the event loop: 4 chunks, ~8k rows. */
const YIELD_EVERY_CHUNKS = 4;

export interface WriteStats {
  written: number;
  /** Values that could not be stored in their standard column's type (stored as null). */
  typeConflicts: number;
  /** Values of fields past the custom-field limit (not stored). */
  fieldsDropped: number;
}

/** The CREATE TABLE for a fresh store: the standard columns only. */
export function createTableSql(): string {
  return `CREATE TABLE IF NOT EXISTS ${EVENTS_TABLE} (${STANDARD_COLUMNS.map(([n, t]) => `${quoteIdent(n)} ${t}`).join(', ')})`;
}

/** Reads the table's columns back into a catalog (after a restart, custom columns included). */
export async function loadCatalog(conn: DuckDBConnection): Promise<{ catalog: FieldCatalog; order: FieldInfo[] }> {
  const reader = await conn.runAndReadAll(`SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '${EVENTS_TABLE}' ORDER BY ordinal_position`);
  const standard = new Set(STANDARD_COLUMNS.map(([n]) => n));
  const order = reader.getRows().map(([name, type]) => ({ name: String(name), type: String(type) as ColumnType, standard: standard.has(String(name)) }));
  return { catalog: new FieldCatalog(order), order };
}

/**
 * Appends column batches (./handoff.ts, as the store's main thread hands them over) to the events
 * table through DuckDB's appender: each batch of at most 2048 rows becomes one data chunk, filled a
 * vector at a time (./vectors.ts), with no event objects rebuilt. New fields become columns (DOUBLE,
 * BOOLEAN or VARCHAR by their first value); a custom column that meets a value of another type is
 * widened to VARCHAR. Each `write` is one transaction.
 */
export class EventWriter {
  readonly catalog: FieldCatalog;
  readonly #conn: DuckDBConnection;
  readonly #order: FieldInfo[];
  readonly #maxCustomFields: number;
  readonly #clock: () => number;
  /** Exact-case field name → column (null: not stored), so most keys skip lower-casing. */
  readonly #exact = new Map<string, FieldInfo | null>();
  #filler: { signature: string; filler: ChunkFiller } | undefined;

  constructor(conn: DuckDBConnection, loaded: { catalog: FieldCatalog; order: FieldInfo[] }, opts: { maxCustomFields: number; clock: () => number }) {
    this.#conn = conn;
    this.catalog = loaded.catalog;
    this.#order = loaded.order;
    this.#maxCustomFields = opts.maxCustomFields;
    this.#clock = opts.clock;
    for (const f of this.#order) this.#exact.set(f.name, f);
  }

  get columns(): readonly FieldInfo[] {
    return this.#order;
  }

  async write(batches: readonly ColumnBatch[]): Promise<WriteStats> {
    const stats: WriteStats = { written: 0, typeConflicts: 0, fieldsDropped: 0 };
    const rows = batches.reduce((n, b) => n + b.rows, 0);
    if (rows === 0) return stats;
    for (const b of batches) if (b.rows > CHUNK_ROWS) throw new Error(`a column batch holds at most ${CHUNK_ROWS} rows, not ${b.rows}`);
    const now = this.#clock();
    const sources = batches.map(sourcesOf);
    await this.#prepare(batches, sources, stats);
    const filler = this.#chunkFiller();
    // One explicit transaction per write: the appender only fills it, and the COMMIT (WAL write,
    // checkpoints) runs on a DuckDB worker thread instead of holding the event loop.
    await this.#conn.run('BEGIN TRANSACTION');
    let committed = false;
    let appender: DuckDBAppender | undefined;
    try {
      appender = await this.#conn.createAppender(EVENTS_TABLE);
      for (let i = 0; i < batches.length; i++) {
        const byColumn = this.#byColumn(batches[i], sources[i], now);
        appender.appendDataChunk(filler.fill(byColumn, batches[i].rows, stats));
        if (i % YIELD_EVERY_CHUNKS === YIELD_EVERY_CHUNKS - 1 && i + 1 < batches.length) {
          // Let queries and hand-offs run between blocks instead of holding the thread for the whole batch.
          appender.flushSync();
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
      appender.flushSync();
      appender.closeSync();
      await this.#conn.run('COMMIT');
      committed = true;
    } finally {
      if (!committed) {
        try {
          appender?.closeSync();
        } catch {
          // already closed, or the failure came from closing it
        }
        await this.#conn.run('ROLLBACK').catch(() => undefined);
      }
    }
    stats.written = rows;
    return stats;
  }

  /** One filler per table layout (it changes only when a column is added or widened). */
  #chunkFiller(): ChunkFiller {
    const signature = this.#order.map((c) => c.type[0]).join('');
    if (this.#filler?.signature !== signature) this.#filler = { signature, filler: new ChunkFiller(this.#order) };
    return this.#filler.filler;
  }

  /** Finds each batch field's column, counts fields that cannot be stored, adds and widens columns. */
  async #prepare(batches: readonly ColumnBatch[], sources: readonly Source[][], stats: WriteStats): Promise<void> {
    const added = new Map<string, { name: string; type: ColumnType }>();
    const widen = new Set<string>();
    let customCount = this.#order.filter((f) => !f.standard).length;
    for (let b = 0; b < batches.length; b++) {
      const { keys } = batches[b];
      for (let k = 0; k < keys.length; k++) {
        const key = keys[k];
        const s = sources[b][k];
        let field = this.#exact.get(key);
        if (field === undefined) {
          field = this.catalog.get(key) ?? null;
          if (field === null && key.length > 0 && key.length <= MAX_FIELD_NAME_LENGTH) {
            const lower = key.toLowerCase();
            const seen = added.get(lower);
            if (presentCount(s) === 0) continue;
            if (seen === undefined) {
              if (customCount >= this.#maxCustomFields) {
                stats.fieldsDropped += presentCount(s);
                continue;
              }
              const type = inferType(firstValue(s))!;
              added.set(lower, { name: key, type: allFitType(type, s) ? type : 'VARCHAR' });
              customCount++;
            } else if (!allFitType(seen.type, s)) seen.type = 'VARCHAR';
            continue;
          }
          if (field === null || field.name === key) this.#exact.set(key, field);
        }
        if (field === null) {
          stats.fieldsDropped += presentCount(s);
          continue;
        }
        if (!field.standard && field.type !== 'VARCHAR' && !allFit(field.type, s)) widen.add(field.name);
      }
    }
    for (const name of widen) {
      await this.#conn.run(`ALTER TABLE ${EVENTS_TABLE} ALTER COLUMN ${quoteIdent(name)} TYPE VARCHAR`);
      this.catalog.get(name)!.type = 'VARCHAR';
    }
    // The first-seen spelling of each new field is its column's name.
    for (const { name, type } of added.values()) {
      await this.#conn.run(`ALTER TABLE ${EVENTS_TABLE} ADD COLUMN IF NOT EXISTS ${quoteIdent(name)} ${type}`);
      const info: FieldInfo = { name, type, standard: false };
      this.catalog.add(info);
      this.#order.push(info);
      this.#exact.set(name, info);
    }
  }

  /**
   * One batch's sources by table column: a field spelled in another case than its column fills the
   * rows the column's own spelling leaves empty; a missing or non-numeric timestamp is `now`; an error
   * event without an `error.fingerprint` gets one.
   */
  #byColumn(batch: ColumnBatch, sources: readonly Source[], now: number): (Source | undefined)[] {
    const index = new Map<string, number>();
    this.#order.forEach((f, i) => index.set(f.name, i));
    const spellings: Source[][] = this.#order.map(() => []);
    const byKey = new Map<string, Source>();
    for (let k = 0; k < batch.keys.length; k++) {
      const key = batch.keys[k];
      byKey.set(key, sources[k]);
      const field = this.#exact.get(key) ?? this.catalog.get(key);
      if (!field) continue;
      const list = spellings[index.get(field.name)!];
      if (field.name === key) list.unshift(sources[k]);
      else list.push(sources[k]);
    }
    const out: (Source | undefined)[] = spellings.map((list) => (list.length <= 1 ? list[0] : merge(list, batch.rows)));
    const ts = index.get('timestamp')!;
    out[ts] = withTimestamps(out[ts], batch.rows, now);
    const fp = index.get('error.fingerprint')!;
    out[fp] = withFingerprints(out[fp], byKey, batch.rows);
    return out;
  }
}

function presentCount(s: Source): number {
  let n = 0;
  for (let r = 0; r < s.present.length; r++) n += s.present[r];
  return n;
}

function firstValue(s: Source): unknown {
  for (let r = 0; r < s.present.length; r++) if (s.present[r] === 1) return valueAt(s, r);
  return undefined;
}

/** Every value of s has the JS type of a new column of `type` (a new column widens on any other). */
function allFitType(type: ColumnType, s: Source): boolean {
  if (type === 'VARCHAR') return true;
  if (s.kind !== 'any') return inferType(s.kind === 'num' ? 0 : '') === type;
  for (let r = 0; r < s.present.length; r++) if (s.present[r] === 1 && inferType(s.vals[r]) !== type) return false;
  return true;
}

/** Every value of s can be stored in an existing column of `type` (numeric strings fit numbers). */
function allFit(type: ColumnType, s: Source): boolean {
  if (s.kind === 'num') return type !== 'BOOLEAN';
  for (let r = 0; r < s.present.length; r++) if (s.present[r] === 1 && !fits(type, valueAt(s, r))) return false;
  return true;
}

/** Several sources for one column: per row, the first that has a value. */
function merge(list: readonly Source[], rows: number): Source {
  const present = new Uint8Array(rows);
  const vals = new Array<unknown>(rows);
  for (let r = 0; r < rows; r++) {
    for (const s of list) {
      const v = valueAt(s, r);
      if (v === undefined) continue;
      vals[r] = v;
      present[r] = 1;
      break;
    }
  }
  return { kind: 'any', present, vals };
}

function withTimestamps(s: Source | undefined, rows: number, now: number): Source {
  if (s?.kind === 'num' && presentCount(s) === rows) return s;
  const nums = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const v = s === undefined ? undefined : valueAt(s, r);
    nums[r] = typeof v === 'number' ? v : now;
  }
  return { kind: 'num', present: new Uint8Array(rows).fill(1), nums };
}

/** Could row r be an error event? Cheap checks on the few fields that make one; fingerprint() decides. */
function maybeError(fields: readonly (Source | undefined)[], status: Source | undefined, r: number): boolean {
  for (const s of fields) if (s !== undefined && s.present[r] === 1) return true;
  if (status === undefined || status.present[r] !== 1) return false;
  return status.kind !== 'num' || status.nums[r] >= 500;
}

function withFingerprints(own: Source | undefined, byKey: ReadonlyMap<string, Source>, rows: number): Source | undefined {
  const markers = ['exception.type', 'exception.message', 'exception.stacktrace', 'error.type', 'otel.status_code'].map((k) => byKey.get(k));
  const status = byKey.get('http.response.status_code');
  if (markers.every((s) => s === undefined) && status === undefined) return own;
  let vals: unknown[] | undefined;
  let present: Uint8Array | undefined;
  for (let r = 0; r < rows; r++) {
    if (own !== undefined && own.present[r] === 1) continue;
    if (!maybeError(markers, status, r)) continue;
    const e: Record<string, WideEvent[string]> = {};
    for (const f of FINGERPRINT_FIELDS) {
      const s = byKey.get(f);
      const v = s === undefined ? undefined : valueAt(s, r);
      if (v !== undefined) e[f] = v;
    }
    const fp = fingerprint(e as Partial<WideEvent>);
    if (!fp) continue;
    if (vals === undefined) {
      vals = new Array<unknown>(rows);
      present = new Uint8Array(rows);
      if (own !== undefined) for (let i = 0; i < rows; i++) if (own.present[i] === 1) (vals[i] = valueAt(own, i)), (present[i] = 1);
    }
    vals[r] = fp.id;
    present![r] = 1;
  }
  return vals === undefined ? own : { kind: 'any', present: present!, vals };
}
