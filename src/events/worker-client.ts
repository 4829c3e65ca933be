import { Worker } from 'node:worker_threads';
import { WeirError } from '../errors.ts';
import type { ErrorCode } from '../errors.ts';
import type { FieldInfo } from './columns.ts';
import type { ColumnBatch } from './handoff.ts';
import type { Scalar } from './query/spec.ts';
import type { RetentionOptions } from './retention.ts';

/** What the writer thread is started with (its `workerData`). */
export interface WorkerInit {
  path: string;
  threads?: number;
  maxCustomFields: number;
}

/** Messages to the writer thread. `rows` has no answer; every other message is answered by its `id`. */
export type WorkerRequest =
  | { t: 'rows'; batch: ColumnBatch }
  | { t: 'commit'; id: number; now: number }
  | { t: 'sql'; id: number; sql: string; params: readonly Scalar[]; timeoutMs: number; maxRows: number }
  | { t: 'retention'; id: number; now: number; opts: RetentionOptions }
  | { t: 'close'; id: number };

/** Messages from the writer thread. `columns` comes with an answer when the table's columns changed. */
export type WorkerReply =
  | { t: 'ready'; columns: FieldInfo[] }
  | { t: 'fatal'; message: string }
  | { t: 'reply'; id: number; ok: true; value: unknown; columns?: FieldInfo[] }
  | { t: 'reply'; id: number; ok: false; error: { code: ErrorCode; message: string } };

type Body<T> = T extends { id: number } ? Omit<T, 'id'> : never;

/**
 * The main thread's end of the event store's writer thread (./worker.ts): numbered requests and
 * their answers, transfer lists for column batches, and a worker that keeps the process alive only
 * while an answer is awaited (a store left open does not hold a process that has finished).
 */
export class StoreWorker {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #nextId = 1;
  #dead: Error | undefined;
  /** Called with the table's columns whenever an answer says they changed. */
  onColumns: (columns: FieldInfo[]) => void = () => undefined;

  private constructor(worker: Worker) {
    this.#worker = worker;
  }

  /**
   * Starts the writer thread and waits until the DuckDB file is open.
   *
   * @example
   *   const { worker, columns } = await StoreWorker.start({ path: 'events.duckdb', maxCustomFields: 1000 });
   */
  static async start(init: WorkerInit): Promise<{ worker: StoreWorker; columns: FieldInfo[] }> {
    const w = new Worker(new URL('./worker.ts', import.meta.url), { workerData: init });
    const client = new StoreWorker(w);
    const columns = await new Promise<FieldInfo[]>((resolve, reject) => {
      const onError = (err: Error) => reject(new WeirError('INTERNAL', `the event store's writer thread failed to start: ${err.message}`, { cause: err }));
      const onExit = (code: number) => reject(new WeirError('INTERNAL', `the event store's writer thread exited while opening the store (code ${code})`));
      w.once('error', onError);
      w.once('exit', onExit);
      w.once('message', (m: WorkerReply) => {
        w.off('error', onError);
        w.off('exit', onExit);
        if (m.t === 'ready') resolve(m.columns);
        else reject(new WeirError('INTERNAL', `cannot open the event store: ${m.t === 'fatal' ? m.message : 'unexpected message'}`));
      });
    }).catch(async (err) => {
      await w.terminate();
      throw err;
    });
    w.on('message', (m: WorkerReply) => client.#receive(m));
    w.on('error', (err) => client.#fail(err));
    w.on('exit', (code) => client.#fail(new Error(`the writer thread exited (code ${code})`)));
    w.unref();
    return { worker: client, columns };
  }

  /** The error that stopped the writer thread, if it stopped. */
  get dead(): Error | undefined {
    return this.#dead;
  }

  /** Sends rows (no answer); the buffers in `transfer` move to the writer thread. */
  post(msg: WorkerRequest & { t: 'rows' }, transfer: ArrayBuffer[]): void {
    if (!this.#dead) this.#worker.postMessage(msg, transfer);
  }

  /** Sends a request and resolves with its answer's value; rejects with the WeirError the writer thread reported. */
  request<T>(msg: Body<WorkerRequest>): Promise<T> {
    if (this.#dead) return Promise.reject(new WeirError('SHUTTING_DOWN', `the event store is closed (${this.#dead.message})`));
    const id = this.#nextId++;
    if (this.#pending.size === 0) this.#worker.ref();
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#worker.postMessage({ ...msg, id });
    });
  }

  /** Stops the thread (after `close` was answered) and fails whatever is still pending. */
  async terminate(): Promise<void> {
    this.#fail(new Error('closed'));
    await this.#worker.terminate();
  }

  #receive(m: WorkerReply): void {
    if (m.t !== 'reply') return;
    const p = this.#pending.get(m.id);
    if (!p) return;
    this.#pending.delete(m.id);
    if (this.#pending.size === 0) this.#worker.unref();
    if (m.ok) {
      if (m.columns) this.onColumns(m.columns);
      p.resolve(m.value);
    } else p.reject(new WeirError(m.error.code, m.error.message));
  }

  #fail(err: Error): void {
    this.#dead ??= err;
    for (const p of this.#pending.values()) p.reject(new WeirError('SHUTTING_DOWN', `the event store is closed (${err.message})`, { cause: err }));
    this.#pending.clear();
  }
}
