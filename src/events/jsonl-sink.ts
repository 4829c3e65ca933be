import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { EventSink, WideEvent } from './schema.ts';

export interface JsonlSinkOptions {
  /** File to append JSON lines to. */
  path: string;
  /** Events held in memory; past this, new events are dropped and counted. */
  capacity?: number;
  /** Write at least this often (ms). A crash loses at most this window. */
  flushIntervalMs?: number;
  /** Write as soon as this many events are queued; also the most events serialised in one go. */
  batchSize?: number;
}

/**
 * The access log: a bounded in-memory queue written as JSON lines (one wide event per line) in
 * batches, off the request path. `push` is O(1) and never blocks; a full queue drops and counts.
 *
 * @example
 *   const sink = await createJsonlSink({ path: '.weir/events.jsonl' });
 *   sink.push(event);
 *   await sink.close(); // flushes
 */
export async function createJsonlSink(opts: JsonlSinkOptions): Promise<EventSink> {
  const file = await open(opts.path, 'a', 0o640);
  return new JsonlSink(file, opts);
}

class JsonlSink implements EventSink {
  readonly #file: FileHandle;
  readonly #capacity: number;
  readonly #batchSize: number;
  #queue: WideEvent[] = [];
  /** Where batches are encoded (64 KiB holds 128 typical events; grows for larger ones). */
  #buf = Buffer.allocUnsafe(64 * 1024);
  #dropped = 0;
  #writing: Promise<void> | null = null;
  #timer: NodeJS.Timeout;
  #scheduled = false;
  #closed = false;

  constructor(file: FileHandle, opts: JsonlSinkOptions) {
    this.#file = file;
    this.#capacity = opts.capacity ?? 10_000;
    // Small batches: serialising is synchronous work on the proxy's thread, and 1,000 events at a
    // time held the event loop for 2–3 ms, long enough to show in users' p99. 128 take about 0.3 ms.
    this.#batchSize = opts.batchSize ?? 128;
    this.#timer = setInterval(() => void this.flush(), opts.flushIntervalMs ?? 1_000);
    this.#timer.unref();
  }

  get dropped(): number {
    return this.#dropped;
  }

  get queued(): number {
    return this.#queue.length;
  }

  push(event: WideEvent): void {
    if (this.#closed || this.#queue.length >= this.#capacity) {
      this.#dropped++;
      return;
    }
    this.#queue.push(event);
    if (this.#queue.length >= this.#batchSize && !this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        void this.flush();
      });
    }
  }

  /**
   * Writes everything queued (including what arrives meanwhile). One writer loop at a time: a
   * second caller gets the running loop, so writes never race or shrink to a few events each.
   */
  flush(): Promise<void> {
    return (this.#writing ??= this.#drain().finally(() => {
      this.#writing = null;
    }));
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      // At most one batch per write: serialising is synchronous work on the proxy's thread, and the
      // write copies the text there too; the next batch waits for the write, so the loop yields.
      const batch = this.#queue.length <= this.#batchSize ? this.#queue : this.#queue.splice(0, this.#batchSize);
      if (batch === this.#queue) this.#queue = [];
      const bytes = this.#encode(batch);
      try {
        await this.#file.write(this.#buf, 0, bytes);
      } catch {
        this.#dropped += batch.length; // a full disk loses events, never requests
      }
    }
  }

  /**
   * The batch as UTF-8 JSON lines in #buf (grown when a line may not fit), returning the byte count.
   * Each line is encoded into the buffer as it is made: concatenating the lines and handing the string
   * to the write measured 1.8× slower per batch (the joined string is flattened, then encoded again).
   * One buffer serves every batch: the drain loop waits for each write before encoding the next.
   */
  #encode(batch: WideEvent[]): number {
    let buf = this.#buf;
    let o = 0;
    for (let i = 0; i < batch.length; i++) {
      const line = JSON.stringify(batch[i]);
      // A UTF-16 code unit takes at most 3 bytes in UTF-8 (a surrogate pair: 4 bytes for 2 units).
      if (o + line.length * 3 + 1 > buf.length) {
        const bigger = Buffer.allocUnsafe(Math.max(buf.length * 2, o + line.length * 3 + 1));
        buf.copy(bigger, 0, 0, o);
        this.#buf = buf = bigger;
      }
      o += buf.write(line, o);
      buf[o++] = 0x0a;
    }
    return o;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    do await this.flush(); while (this.#queue.length > 0);
    this.#closed = true;
    await this.#file.close();
  }
}

/** A sink that keeps nothing (for benchmarks of the bare proxy, and tests). Counts what it was given. */
export function createNullSink(): EventSink & { received: number } {
  return {
    received: 0,
    dropped: 0,
    queued: 0,
    push() {
      this.received++;
    },
    async flush() {},
    async close() {},
  };
}

/** A sink that keeps events in memory (tests, and the in-process event feed of `weir up`). */
export function createMemorySink(capacity = 100_000): EventSink & { events: WideEvent[] } {
  let dropped = 0;
  const events: WideEvent[] = [];
  return {
    events,
    get dropped() {
      return dropped;
    },
    get queued() {
      return 0;
    },
    push(e: WideEvent) {
      if (events.length >= capacity) dropped++;
      else events.push(e);
    },
    async flush() {},
    async close() {},
  };
}

/** Sends every event to several sinks. */
export function teeSink(...sinks: EventSink[]): EventSink {
  return {
    get dropped() {
      return sinks.reduce((a, s) => a + s.dropped, 0);
    },
    get queued() {
      return sinks.reduce((a, s) => a + s.queued, 0);
    },
    push(e: WideEvent) {
      for (const s of sinks) s.push(e);
    },
    async flush() {
      await Promise.all(sinks.map((s) => s.flush()));
    },
    async close() {
      await Promise.all(sinks.map((s) => s.close()));
    },
  };
}
