/**
 * The event store's writer thread: it owns the DuckDB instance (one per file and process: a second
 * instance on the same file in another thread would be a second database with its own cache and WAL),
 * so it runs the appender, the commits, retention and the queries; the main thread only queues,
 * encodes column batches and plans queries. Started by StoreWorker (./worker-client.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DuckDBInstance } from '@duckdb/node-api';
import type { DuckDBConnection } from '@duckdb/node-api';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ErrorCode } from '../errors.ts';
import type { FieldInfo } from './columns.ts';
import type { ColumnBatch } from './handoff.ts';
import type { Scalar } from './query/spec.ts';
import { enforceRetention } from './retention.ts';
import type { WorkerInit, WorkerReply, WorkerRequest } from './worker-client.ts';
import { EventWriter, createTableSql, loadCatalog } from './writer.ts';

const port = parentPort!;
const init = workerData as WorkerInit;
const send = (m: WorkerReply) => port.postMessage(m);
const columnsOf = (w: EventWriter): FieldInfo[] => w.columns.map(({ name, type, standard }) => ({ name, type, standard }));

/** The main thread's clock, as of the request being served (a function cannot cross threads). */
let now = 0;
let instance: DuckDBInstance;
let writeConn: DuckDBConnection;
let writer: EventWriter;
try {
  if (init.path !== ':memory:') mkdirSync(dirname(init.path), { recursive: true });
  const config: Record<string, string> = {};
  if (init.threads) config.threads = String(init.threads);
  instance = await DuckDBInstance.create(init.path, config);
  writeConn = await instance.connect();
  await writeConn.run(createTableSql());
  writer = new EventWriter(writeConn, await loadCatalog(writeConn), { maxCustomFields: init.maxCustomFields, clock: () => now });
} catch (err) {
  send({ t: 'fatal', message: (err as Error).message });
  process.exit(1);
}

/** Column batches handed over since the last commit, kept as they came (no event objects are rebuilt). */
let pending: ColumnBatch[] = [];
/** Commits and retention, one at a time and in the order they were asked for. */
let chain: Promise<void> = Promise.resolve();
let closed = false;
const openQueries = new Set<DuckDBConnection>();
const running = new Set<Promise<void>>();
/** Connections kept for reuse between queries (an interrupted connection stays usable). */
const idle: DuckDBConnection[] = [];
let columnsSignature = signature();

function signature(): string {
  return writer.columns.map((c) => c.type[0]).join('');
}

/** The columns, when they changed since the main thread last heard of them. */
function changedColumns(): FieldInfo[] | undefined {
  const s = signature();
  if (s === columnsSignature) return undefined;
  columnsSignature = s;
  return columnsOf(writer);
}

function fail(id: number, code: ErrorCode, message: string): void {
  send({ t: 'reply', id, ok: false, error: { code, message } });
}

async function runSql(id: number, text: string, params: readonly Scalar[], timeoutMs: number, maxRows: number): Promise<void> {
  if (closed) return fail(id, 'SHUTTING_DOWN', 'the event store is closed');
  const conn = idle.pop() ?? (await instance.connect());
  openQueries.add(conn);
  let timedOut = false;
  const t = setTimeout(() => {
    timedOut = true;
    conn.interrupt();
  }, timeoutMs);
  try {
    const reader = await conn.streamAndReadUntil(text, maxRows + 1, params as Scalar[]);
    send({ t: 'reply', id, ok: true, value: reader.getRowObjectsJS() });
  } catch (err) {
    if (timedOut) fail(id, 'QUERY_TIMEOUT', `the query ran longer than ${timeoutMs} ms and was stopped; narrow time_range or add filters`);
    else fail(id, 'QUERY_INVALID', `the query failed: ${(err as Error).message}`);
  } finally {
    clearTimeout(t);
    openQueries.delete(conn);
    if (!closed && idle.length < 4) idle.push(conn);
    else conn.closeSync();
  }
}

port.on('message', (m: WorkerRequest) => {
  switch (m.t) {
    case 'rows':
      pending.push(m.batch);
      return;
    case 'commit': {
      const batch = pending;
      pending = [];
      chain = chain.then(async () => {
        now = m.now;
        try {
          const stats = await writer.write(batch);
          send({ t: 'reply', id: m.id, ok: true, value: stats, columns: changedColumns() });
        } catch (err) {
          fail(m.id, 'INTERNAL', (err as Error).message);
        }
      });
      return;
    }
    case 'retention':
      chain = chain.then(async () => {
        now = m.now;
        try {
          send({ t: 'reply', id: m.id, ok: true, value: await enforceRetention(writeConn, m.opts, () => now) });
        } catch (err) {
          fail(m.id, 'INTERNAL', (err as Error).message);
        }
      });
      return;
    case 'sql':
    {
      const q = runSql(m.id, m.sql, m.params, m.timeoutMs, m.maxRows);
      running.add(q);
      void q.finally(() => running.delete(q));
      return;
    }
    case 'close':
      closed = true;
      for (const c of openQueries) c.interrupt();
      chain = chain.then(async () => {
        await Promise.allSettled([...running]);
        for (const c of idle.splice(0)) c.closeSync();
        await writeConn.run('CHECKPOINT').catch(() => undefined);
        writeConn.closeSync();
        instance.closeSync();
        send({ t: 'reply', id: m.id, ok: true, value: null });
      });
  }
});
send({ t: 'ready', columns: columnsOf(writer) });
