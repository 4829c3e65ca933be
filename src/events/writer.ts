import { DuckDBDataChunk, BIGINT, BOOLEAN, DOUBLE, INTEGER, VARCHAR } from '@duckdb/node-api';
import type { DuckDBAppender, DuckDBConnection, DuckDBType, DuckDBValue } from '@duckdb/node-api';
import { FieldCatalog, MAX_FIELD_NAME_LENGTH, STANDARD_COLUMNS, fits, inferType, quoteIdent } from './columns.ts';
import type { ColumnType, FieldInfo } from './columns.ts';
import { fingerprint } from './fingerprint.ts';
import type { WideEvent } from './schema.ts';
import { EVENTS_TABLE } from './query/plan.ts';

const DUCK_TYPES: Record<ColumnType, DuckDBType> = { BIGINT, INTEGER, DOUBLE, VARCHAR, BOOLEAN };
const CHUNK_ROWS = 2048;
/** Rows converted between two yields to the event loop: 4 chunks, ~8k rows. */
const YIELD_EVERY_CHUNKS = 4;

export interface WriteStats {
  written: number;
  /** Values that could not be stored in their standard column's type (stored as null). */
  typeConflicts: number;
  /** Values of fields past the custom-field limit (not stored). */
  fieldsDropped: number;
}

type Convert = (v: unknown) => DuckDBValue;

const toNumber = (v: unknown): number | null => {
  const n = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : null;
};
const CONVERT: Record<ColumnType, Convert> = {
  BIGINT: (v) => {
    const n = toNumber(v);
    return n === null ? null : BigInt(Math.trunc(n));
  },
  INTEGER: (v) => {
    const n = toNumber(v);
    return n === null || n > 2147483647 || n < -2147483648 ? null : Math.trunc(n);
  },
  DOUBLE: toNumber,
  VARCHAR: (v) => (v === null || v === undefined ? null : typeof v === 'string' ? v : String(v)),
  BOOLEAN: (v) => (typeof v === 'boolean' ? v : null),
};

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
 * Appends batches of events to the events table through DuckDB's appender, one data chunk of 2048
 * rows at a time (each column filled through its vector, one native flush per column per chunk).
 * New fields become columns (DOUBLE, BOOLEAN or VARCHAR by their first value); a custom column that
 * meets a value of another type is widened to VARCHAR. Each `write` is one transaction.
 */
export class EventWriter {
  readonly catalog: FieldCatalog;
  readonly #conn: DuckDBConnection;
  readonly #order: FieldInfo[];
  readonly #maxCustomFields: number;
  readonly #clock: () => number;
  /** Exact-case field name → column, so the hot path avoids lower-casing. */
  readonly #exact = new Map<string, FieldInfo | null>();

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

  async write(events: WideEvent[]): Promise<WriteStats> {
    const stats: WriteStats = { written: 0, typeConflicts: 0, fieldsDropped: 0 };
    if (events.length === 0) return stats;
    await this.#prepare(events, stats);
    const cols = this.#order;
    const types = cols.map((c) => DUCK_TYPES[c.type]);
    const convert = cols.map((c) => CONVERT[c.type]);
    const names = cols.map((c) => c.name);
    // One explicit transaction per write: the appender only fills it, and the COMMIT (WAL write,
    // checkpoints) runs on a DuckDB worker thread instead of holding the event loop.
    await this.#conn.run('BEGIN TRANSACTION');
    let committed = false;
    let appender: DuckDBAppender | undefined;
    try {
      appender = await this.#conn.createAppender(EVENTS_TABLE);
      // One chunk and its vectors are reused for every full block: creating vectors is costly, and a
      // column that was null in the whole previous block and is again needs no writes at all.
      let chunk: DuckDBDataChunk | undefined;
      let vectors: ReturnType<DuckDBDataChunk['getColumnVector']>[] = [];
      let wasAllNull: boolean[] = [];
      for (let start = 0; start < events.length; start += CHUNK_ROWS) {
        const n = Math.min(CHUNK_ROWS, events.length - start);
        if (!chunk || n !== chunk.rowCount) {
          chunk = DuckDBDataChunk.create(types, n);
          vectors = cols.map((_, c) => chunk!.getColumnVector(c));
          wasAllNull = cols.map(() => false);
        }
        for (let c = 0; c < cols.length; c++) {
          const name = names[c];
          let any = false;
          for (let r = 0; r < n; r++) {
            const raw = events[start + r][name];
            if (raw !== undefined && raw !== null) {
              any = true;
              break;
            }
          }
          if (!any && wasAllNull[c]) continue;
          const vector = vectors[c];
          wasAllNull[c] = !any;
          const conv = convert[c];
          const standard = cols[c].standard;
          for (let r = 0; r < n; r++) {
            const raw = events[start + r][name];
            if (raw === undefined || raw === null) {
              vector.setItem(r, null);
              continue;
            }
            const v = conv(raw);
            if (v === null && standard) stats.typeConflicts++;
            vector.setItem(r, v);
          }
          vector.flush();
        }
        appender.appendDataChunk(chunk);
        if ((start / CHUNK_ROWS) % YIELD_EVERY_CHUNKS === YIELD_EVERY_CHUNKS - 1 && start + CHUNK_ROWS < events.length) {
          // Let the proxy's requests run between blocks instead of holding the loop for the whole batch.
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
    stats.written = events.length;
    return stats;
  }

  /** Fills timestamps and fingerprints, maps field-name case to the column's, adds and widens columns. */
  async #prepare(events: WideEvent[], stats: WriteStats): Promise<void> {
    const added = new Map<string, ColumnType>();
    const widen = new Set<string>();
    const now = this.#clock();
    let customCount = this.#order.filter((f) => !f.standard).length;
    for (let i = 0; i < events.length; i++) {
      if (i > 0 && i % (CHUNK_ROWS * YIELD_EVERY_CHUNKS) === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const e = events[i];
      if (typeof e.timestamp !== 'number') e.timestamp = now;
      const fp = e['error.fingerprint'] === undefined ? fingerprint(e) : undefined;
      if (fp) e['error.fingerprint'] = fp.id;
      for (const key in e) {
        const value = e[key];
        if (value === undefined || value === null) continue;
        let field = this.#exact.get(key);
        if (field === undefined) {
          field = this.catalog.get(key) ?? null;
          if (field === null && key.length > 0 && key.length <= MAX_FIELD_NAME_LENGTH) {
            const seen = added.get(key.toLowerCase());
            if (seen === undefined) {
              if (customCount >= this.#maxCustomFields) {
                stats.fieldsDropped++;
                continue;
              }
              added.set(key.toLowerCase(), inferType(value)!);
              customCount++;
            } else if (!fitsType(seen, value)) added.set(key.toLowerCase(), 'VARCHAR');
            continue;
          }
          if (field && field.name !== key) {
            // Same field, other case: DuckDB columns are case-insensitive, so store it under the column's name.
            if (e[field.name] === undefined) e[field.name] = value;
            continue;
          }
          this.#exact.set(key, field);
          if (field === null) {
            stats.fieldsDropped++;
            continue;
          }
        }
        if (field === null) continue;
        if (!field.standard && field.type !== 'VARCHAR' && !fits(field.type, value)) widen.add(field.name);
      }
    }
    for (const name of widen) {
      await this.#conn.run(`ALTER TABLE ${EVENTS_TABLE} ALTER COLUMN ${quoteIdent(name)} TYPE VARCHAR`);
      const f = this.catalog.get(name)!;
      f.type = 'VARCHAR';
    }
    if (added.size > 0) {
      // Keep the first-seen spelling of each new field as the column name.
      const spelled = new Map<string, string>();
      for (const e of events) for (const key in e) if (added.has(key.toLowerCase()) && !spelled.has(key.toLowerCase())) spelled.set(key.toLowerCase(), key);
      for (const [lower, type] of added) {
        const name = spelled.get(lower)!;
        await this.#conn.run(`ALTER TABLE ${EVENTS_TABLE} ADD COLUMN IF NOT EXISTS ${quoteIdent(name)} ${type}`);
        const info: FieldInfo = { name, type, standard: false };
        this.catalog.add(info);
        this.#order.push(info);
        this.#exact.set(name, info);
      }
      for (const e of events) {
        for (const key in e) {
          const f = this.#exact.get(key);
          if (f === undefined) {
            const byCase = this.catalog.get(key);
            if (byCase && byCase.name !== key && e[byCase.name] === undefined) e[byCase.name] = e[key];
          }
        }
      }
    }
  }
}

function fitsType(type: ColumnType, value: unknown): boolean {
  return type === 'VARCHAR' || inferType(value) === type;
}
