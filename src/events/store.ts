import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { WeirError } from '../errors.ts';
import { FieldCatalog } from './columns.ts';
import type { FieldInfo } from './columns.ts';
import { encodeColumns } from './handoff.ts';
import { EVENTS_TABLE } from './query/plan.ts';
import type { Scalar } from './query/spec.ts';
import { DEFAULT_LIMITS, validateQuery } from './query/spec.ts';
import { executeQuery } from './query/execute.ts';
import type { QueryStrategy } from './query/execute.ts';
import type { QueryResult } from './query/shape.ts';
import type { RetentionOptions, RetentionResult } from './retention.ts';
import type { EventSink, WideEvent } from './schema.ts';
import { StoreWorker } from './worker-client.ts';
import type { WriteStats } from './writer.ts';

/**
 * Events per column batch handed to the writer thread; the main thread yields between batches, so
 * this bounds how long one hand-off holds the event loop (about 2 ms for 2048 proxy events).
 */
const HANDOFF_ROWS = 2048;
/**
 * DuckDB's row group. A transaction that appends a full one has DuckDB compress it and write it to
 * the file as it goes; a smaller one goes through the WAL and is compressed again at the next
 * checkpoint. Measured on 1 M proxy events with one DuckDB thread: 2 µs per event in the commit for
 * 122 880-event commits against 7.7 µs for 50 000-event ones. Past this many uncommitted events a
 * commit is asked for at once, without waiting for the flush tick.
 */
const ROW_GROUP_ROWS = 122_880;

export interface EventStoreOptions {
  /** The DuckDB file, e.g. `<dataDir>/events.duckdb`; `:memory:` for tests that need no file. */
  path: string;
  /** Milliseconds since the epoch; events without a timestamp get `clock()` at flush. */
  clock?: () => number;
  /** The longest an event waits before its commit is asked for (sooner when a DuckDB row group's worth is waiting). This is also about the most a kill -9 can lose. Default 1000. */
  flushIntervalMs?: number;
  /** Events held in memory (queued, or handed to the writer thread and not yet committed) before `push` starts dropping. Default 250 000. */
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

/**
 * The embedded event store: an EventSink that writes to DuckDB and answers Honeycomb-style queries.
 * DuckDB runs in a worker thread the store owns (appends, commits, retention and queries), so a
 * flush never holds the event loop of the process that pushes (the proxy in `weir up`).
 */
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
  const maxQueue = opts.maxQueue ?? 250_000;
  const queryTimeoutMs = opts.query?.timeoutMs ?? 10_000;
  const queryMaxRows = opts.query?.maxRows ?? 100_000;
  const { worker, columns } = await StoreWorker.start({ path: opts.path, threads: opts.threads, maxCustomFields: opts.maxCustomFields ?? 1000 });
  const catalog = new FieldCatalog(columns);
  worker.onColumns = (cols) => {
    for (const c of cols) {
      const known = catalog.get(c.name);
      if (known) known.type = c.type;
      else catalog.add(c);
    }
  };

  /** Events pushed and not yet handed to the writer thread. */
  let queue: WideEvent[] = [];
  /** Events handed to the writer thread whose commit has not been answered yet; they count against maxQueue. */
  let inFlight = 0;
  /** Events handed over since the last commit was asked for (the next commit's rows). */
  let posted = 0;
  let closed = false;
  const stats: EventStoreStats = { written: 0, dropped: 0, queued: 0, flushes: 0, typeConflicts: 0, fieldsDropped: 0, flushErrors: 0 };
  /** Hand-offs and commit requests run one at a time, so each commit holds exactly the rows sent before it, in push order. */
  let steps: Promise<unknown> = Promise.resolve();
  const step = <T>(f: () => Promise<T>): Promise<T> => {
    const p = steps.then(f);
    steps = p.catch(() => undefined);
    return p;
  };
  let lastCommit: Promise<void> = Promise.resolve();
  let sendScheduled = false;
  let flushScheduled = false;

  /**
   * Hands the queue to the writer thread in column batches, yielding between them. Events are handed
   * over as soon as a batch is full rather than at the flush tick, so the main thread keeps only a
   * few thousand events alive (a queue of a second's traffic would be copied by every young-generation
   * GC); the writer thread keeps them until the commit. At most `limit` events go, the oldest.
   */
  const sendQueued = async (limit = Number.POSITIVE_INFINITY): Promise<void> => {
    const n = Math.min(queue.length, limit);
    if (n <= 0) return;
    const batch = n === queue.length ? queue : queue.slice(0, n);
    queue = n === queue.length ? [] : queue.slice(n);
    if (worker.dead) {
      stats.dropped += batch.length;
      return;
    }
    inFlight += batch.length;
    posted += batch.length;
    for (let i = 0; i < batch.length; i += HANDOFF_ROWS) {
      if (i > 0) await yieldToLoop();
      const { batch: cols, transfer } = encodeColumns(batch, i, Math.min(batch.length, i + HANDOFF_ROWS));
      worker.post({ t: 'rows', batch: cols }, transfer);
    }
  };
  /** Asks the writer thread to commit everything handed over since the last commit, as one transaction. */
  const commit = (): Promise<void> => {
    const n = posted;
    posted = 0;
    if (n === 0) return lastCommit;
    const done = worker.request<WriteStats>({ t: 'commit', now: clock() }).then((s) => {
      stats.written += s.written;
      stats.typeConflicts += s.typeConflicts;
      stats.fieldsDropped += s.fieldsDropped;
      stats.flushes++;
    }, (err: Error) => {
      stats.flushErrors++;
      stats.dropped += n;
      stats.lastFlushError = err.message;
    }).finally(() => {
      inFlight -= n;
    });
    lastCommit = done;
    return done;
  };
  /**
   * The flush tick, armed by the first event pushed after a commit was asked for: no event waits
   * longer than about flushIntervalMs for its commit, and a commit asked early (a full row group)
   * is not followed by a small one on a fixed beat (a small commit goes through the WAL).
   */
  let tick: NodeJS.Timeout | undefined;
  const armTick = () => {
    if (tick !== undefined || closed) return;
    tick = setTimeout(() => {
      tick = undefined;
      void flush();
    }, flushIntervalMs);
    tick.unref();
  };
  /**
   * Hands over at most `limit` more events and asks for a commit of everything handed over. Run in a
   * step; the commit's promise comes back wrapped so that the step does not wait for it (the next
   * step may hand over rows while this commit runs).
   */
  const handOverAndCommit = async (limit: number): Promise<{ done: Promise<void> }> => {
    await sendQueued(limit);
    clearTimeout(tick);
    tick = undefined;
    const done = commit();
    if (queue.length > 0) {
      // Left queued, or pushed while the batches were handed over: the next commit's.
      armTick();
      afterPush();
    }
    return { done };
  };
  const flush = (): Promise<void> => step(() => handOverAndCommit(Number.POSITIVE_INFINITY)).then((x) => x.done);

  const retention = opts.retention ?? {};
  const runRetention = () => worker.request<RetentionResult>({ t: 'retention', now: clock(), opts: retention });
  const retentionTimer = retention.maxAgeMs || retention.maxBytes
    ? setInterval(() => void runRetention().catch(() => undefined), retention.intervalMs ?? 60_000)
    : undefined;
  retentionTimer?.unref();

  /**
   * A full column batch is handed over at once; at earlyFlushAt uncommitted events (a row group, or
   * half the queue when that is smaller) exactly that many are committed without waiting for the tick.
   * Commits of exactly a row group leave no partial row groups behind in the file.
   */
  const earlyFlushAt = Math.max(1, Math.min(ROW_GROUP_ROWS, Math.floor(maxQueue / 2)));
  const room = () => earlyFlushAt - posted;
  const afterPush = () => {
    if (queue.length + posted >= earlyFlushAt) {
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(() => {
          flushScheduled = false;
          // Asked for twice before the first ran, the second finds less than earlyFlushAt and leaves it to the next.
          void step(async () => (queue.length + posted >= earlyFlushAt ? handOverAndCommit(room()) : undefined));
        });
      }
    } else if (queue.length >= HANDOFF_ROWS && !sendScheduled) {
      sendScheduled = true;
      setImmediate(() => {
        sendScheduled = false;
        // Whole batches only (the rest joins the next hand-off), and no further than the next early commit.
        void step(() => sendQueued(Math.min(room(), queue.length - (queue.length % HANDOFF_ROWS))));
      });
    }
  };

  const sql = async (text: string, params: readonly Scalar[] = [], q: QueryOptions = {}): Promise<Record<string, unknown>[]> => {
    if (closed) throw new WeirError('SHUTTING_DOWN', 'the event store is closed');
    const timeoutMs = q.timeoutMs ?? queryTimeoutMs;
    const maxRows = q.maxRows ?? queryMaxRows;
    return worker.request<Record<string, unknown>[]>({ t: 'sql', sql: text, params: [...params], timeoutMs, maxRows });
  };

  const store: EventStore = {
    catalog,
    clock,
    push(event) {
      if (closed || queue.length + inFlight >= maxQueue) {
        stats.dropped++;
        return;
      }
      queue.push(event);
      if (tick === undefined) armTick();
      afterPush();
    },
    ingest(events) {
      if (closed) {
        stats.dropped += events.length;
        return 0;
      }
      const room = Math.max(0, maxQueue - queue.length - inFlight);
      const n = Math.min(room, events.length);
      for (let i = 0; i < n; i++) queue.push(events[i]);
      stats.dropped += events.length - n;
      if (n > 0) armTick();
      afterPush();
      return n;
    },
    get dropped() {
      return stats.dropped;
    },
    get queued() {
      return queue.length + inFlight;
    },
    get full() {
      return queue.length + inFlight >= maxQueue;
    },
    flush,
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(tick);
      if (retentionTimer) clearInterval(retentionTimer);
      await flush();
      await worker.request({ t: 'close' }).catch(() => undefined);
      await worker.terminate();
    },
    fields: () => catalog.list(),
    stats: () => ({ ...stats, queued: queue.length + inFlight }),
    sql,
    async query(spec, q = {}) {
      const t0 = performance.now();
      const nq = validateQuery(spec, catalog, clock(), { ...DEFAULT_LIMITS, maxGroups: Math.min(DEFAULT_LIMITS.maxGroups, q.maxRows ?? queryMaxRows) });
      return executeQuery(nq, (text, params) => sql(text, params, q), q.maxRows ?? queryMaxRows, t0, q.strategy);
    },
    enforceRetention: runRetention,
  };
  return store;
}

export { EVENTS_TABLE };
