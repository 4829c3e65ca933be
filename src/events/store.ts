import { DuckDBInstance } from '@duckdb/node-api';
import type { DuckDBConnection } from '@duckdb/node-api';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { WeirError } from '../errors.ts';
import type { FieldCatalog, FieldInfo } from './columns.ts';
import { EVENTS_TABLE } from './query/plan.ts';
import type { Scalar } from './query/spec.ts';
import { DEFAULT_LIMITS, validateQuery } from './query/spec.ts';
import { executeQuery } from './query/execute.ts';
import type { QueryStrategy } from './query/execute.ts';
import type { QueryResult } from './query/shape.ts';
import { enforceRetention } from './retention.ts';
import type { RetentionOptions, RetentionResult } from './retention.ts';
import type { EventSink, WideEvent } from './schema.ts';
import { EventWriter, createTableSql, loadCatalog } from './writer.ts';

export interface EventStoreOptions {
  /** The DuckDB file, e.g. `<dataDir>/events.duckdb`; `:memory:` for tests that need no file. */
  path: string;
  /** Milliseconds since the epoch; events without a timestamp get `clock()` at flush. */
  clock?: () => number;
  /** How often queued events are written. This is also the most a kill -9 can lose. Default 1000. */
  flushIntervalMs?: number;
  /** Events held in memory before `push` starts dropping. Default 200 000. */
  maxQueue?: number;
  retention?: RetentionOptions;
  /** Most distinct custom fields (columns) kept; values of further fields are dropped and counted. Default 1000. */
  maxCustomFields?: number;
  /** Safety rails for every query. */
  query?: { timeoutMs?: number; maxRows?: number };
  /** DuckDB worker threads (default: DuckDB's own choice). */
  threads?: number;
}

export interface EventStoreStats {
  /** Events written to the table since open. */
  written: number;
  dropped: number;
  queued: number;
  flushes: number;
  typeConflicts: number;
  fieldsDropped: number;
  /** Flushes that failed; their events were dropped and counted in `dropped`. */
  flushErrors: number;
  lastFlushError?: string;
}

export interface QueryOptions {
  timeoutMs?: number;
  maxRows?: number;
  /** How totals and series are computed (default: chosen from a sample). Results are the same. */
  strategy?: QueryStrategy;
}

/** The embedded event store: an EventSink that writes to DuckDB and answers Honeycomb-style queries. */
export interface EventStore extends EventSink {
  /** Queues many events; returns how many were accepted (the rest were dropped and counted). Never throws. */
  ingest(events: readonly WideEvent[]): number;
  /** Runs a Honeycomb query specification. Throws WeirError QUERY_INVALID / QUERY_TIMEOUT. */
  query(spec: unknown, opts?: QueryOptions): Promise<QueryResult>;
  /** Runs SQL on a fresh connection under the time and row limits; rows as plain objects. */
  sql(sql: string, params?: readonly Scalar[], opts?: QueryOptions): Promise<Record<string, unknown>[]>;
  /** The fields a query can name. */
  fields(): FieldInfo[];
  readonly catalog: FieldCatalog;
  readonly clock: () => number;
  /** True when the queue is at or above `maxQueue` (ingest routes answer 429/503 then). */
  readonly full: boolean;
  stats(): EventStoreStats;
  /** Deletes by age and size now (it also runs in the background). */
  enforceRetention(): Promise<RetentionResult>;
}

/**
 * Opens (or creates) the event store.
 *
 * @example
 *   const store = await createEventStore({ path: join(dataDir, 'events.duckdb'), clock: Date.now,
 *     retention: { maxAgeMs: 7 * 86_400_000, maxBytes: 2e9 } });
 *   store.push(event);                       // from the proxy, never blocks
 *   const r = await store.query({ calculations: [{ op: 'P99', column: 'duration_ms' }], breakdowns: ['version'], time_range: 900 });
 *   await store.close();
 */
export async function createEventStore(opts: EventStoreOptions): Promise<EventStore> {
  const clock = opts.clock ?? Date.now;
  const flushIntervalMs = opts.flushIntervalMs ?? 1000;
  const maxQueue = opts.maxQueue ?? 200_000;
  const queryTimeoutMs = opts.query?.timeoutMs ?? 10_000;
  const queryMaxRows = opts.query?.maxRows ?? 100_000;
  if (opts.path !== ':memory:') mkdirSync(dirname(opts.path), { recursive: true });
  const config: Record<string, string> = {};
  if (opts.threads) config.threads = String(opts.threads);
  const instance = await DuckDBInstance.create(opts.path, config);
  const writeConn = await instance.connect();
  await writeConn.run(createTableSql());
  const writer = new EventWriter(writeConn, await loadCatalog(writeConn), { maxCustomFields: opts.maxCustomFields ?? 1000, clock });

  let queue: WideEvent[] = [];
  let closed = false;
  const stats: EventStoreStats = { written: 0, dropped: 0, queued: 0, flushes: 0, typeConflicts: 0, fieldsDropped: 0, flushErrors: 0 };
  let chain: Promise<void> = Promise.resolve();
  let flushScheduled = false;
  const openQueries = new Set<DuckDBConnection>();
  /** Connections kept for reuse between queries (an interrupted connection stays usable). */
  const idle: DuckDBConnection[] = [];

  const writeNow = async (): Promise<void> => {
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      try {
        const s = await writer.write(batch);
        stats.written += s.written;
        stats.typeConflicts += s.typeConflicts;
        stats.fieldsDropped += s.fieldsDropped;
        stats.flushes++;
      } catch (err) {
        stats.flushErrors++;
        stats.dropped += batch.length;
        stats.lastFlushError = (err as Error).message;
      }
    }
  };
  const flush = (): Promise<void> => {
    chain = chain.then(writeNow);
    return chain;
  };
  const timer = setInterval(() => void flush(), flushIntervalMs);
  timer.unref();

  const retention = opts.retention ?? {};
  const retentionTimer = retention.maxAgeMs || retention.maxBytes
    ? setInterval(() => void (chain = chain.then(async () => void (await enforceRetention(writeConn, retention, clock).catch(() => undefined)))), retention.intervalMs ?? 60_000)
    : undefined;
  retentionTimer?.unref();

  /** A full batch is written early so memory stays bounded between ticks. */
  const earlyFlushAt = Math.max(1, Math.min(50_000, Math.floor(maxQueue / 2)));
  const maybeEarly = () => {
    if (queue.length >= earlyFlushAt && !flushScheduled) {
      flushScheduled = true;
      setImmediate(() => {
        flushScheduled = false;
        void flush();
      });
    }
  };

  const sql = async (text: string, params: readonly Scalar[] = [], q: QueryOptions = {}): Promise<Record<string, unknown>[]> => {
    if (closed) throw new WeirError('SHUTTING_DOWN', 'the event store is closed');
    const timeoutMs = q.timeoutMs ?? queryTimeoutMs;
    const maxRows = q.maxRows ?? queryMaxRows;
    const conn = idle.pop() ?? (await instance.connect());
    openQueries.add(conn);
    let timedOut = false;
    const t = setTimeout(() => {
      timedOut = true;
      conn.interrupt();
    }, timeoutMs);
    try {
      const reader = await conn.streamAndReadUntil(text, maxRows + 1, params as Scalar[]);
      return reader.getRowObjectsJS() as Record<string, unknown>[];
    } catch (err) {
      if (timedOut) {
        throw new WeirError('QUERY_TIMEOUT', `the query ran longer than ${timeoutMs} ms and was stopped; narrow time_range or add filters`, { cause: err });
      }
      throw new WeirError('QUERY_INVALID', `the query failed: ${(err as Error).message}`, { cause: err });
    } finally {
      clearTimeout(t);
      openQueries.delete(conn);
      if (!closed && idle.length < 4) idle.push(conn);
      else conn.closeSync();
    }
  };

  const store: EventStore = {
    catalog: writer.catalog,
    clock,
    push(event) {
      if (closed || queue.length >= maxQueue) {
        stats.dropped++;
        return;
      }
      queue.push(event);
      maybeEarly();
    },
    ingest(events) {
      if (closed) {
        stats.dropped += events.length;
        return 0;
      }
      const room = Math.max(0, maxQueue - queue.length);
      const n = Math.min(room, events.length);
      for (let i = 0; i < n; i++) queue.push(events[i]);
      stats.dropped += events.length - n;
      maybeEarly();
      return n;
    },
    get dropped() {
      return stats.dropped;
    },
    get queued() {
      return queue.length;
    },
    get full() {
      return queue.length >= maxQueue;
    },
    flush,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      if (retentionTimer) clearInterval(retentionTimer);
      for (const c of openQueries) c.interrupt();
      await flush();
      for (const c of idle.splice(0)) c.closeSync();
      await writeConn.run('CHECKPOINT').catch(() => undefined);
      writeConn.closeSync();
      instance.closeSync();
    },
    fields: () => writer.catalog.list(),
    stats: () => ({ ...stats, queued: queue.length }),
    sql,
    async query(spec, q = {}) {
      const t0 = performance.now();
      const nq = validateQuery(spec, writer.catalog, clock(), { ...DEFAULT_LIMITS, maxGroups: Math.min(DEFAULT_LIMITS.maxGroups, q.maxRows ?? queryMaxRows) });
      return executeQuery(nq, (text, params) => sql(text, params, q), q.maxRows ?? queryMaxRows, t0, q.strategy);
    },
    enforceRetention() {
      let result: RetentionResult = { deletedByAge: 0, deletedBySize: 0, bytes: 0 };
      chain = chain.then(async () => {
        result = await enforceRetention(writeConn, retention, clock);
      });
      return chain.then(() => result);
    },
  };
  return store;
}

export { EVENTS_TABLE };
