import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import type { Dispatcher } from 'undici';
import type { EventSink, WideEvent } from '../events/schema.ts';
import { DEFAULT_BACKOFF, backoffDelay, retryAfterMs } from './backoff.ts';
import type { BackoffPolicy } from './backoff.ts';
import { controlUrls } from './table-stream.ts';

export interface EventShipperOptions {
  /** The control API's base URL (or several replicas', tried in turn after a failure); batches go to `POST /api/v1/proxy-events` (stored, counted in `/metrics`, exported like the in-process proxy's). */
  controlUrl: string | readonly string[];
  /** A token allowed to post events (scope operator). */
  token: string;
  /** Most events waiting; beyond it new events are dropped and counted. Default 10 000. */
  capacity?: number;
  /** Most events in one request. Default 500. */
  batchSize?: number;
  /** A partial batch is sent after this long. Default 1000 ms. */
  flushIntervalMs?: number;
  backoff?: BackoffPolicy;
  random?: () => number;
  now?: () => number;
  log?: (line: string) => void;
  dispatcher?: Dispatcher;
}

export interface EventShipperStats {
  queued: number;
  /** Dropped here: the queue was full, or the control plane refused a batch for good (4xx). */
  dropped: number;
  /** Accepted by the control plane. */
  shipped: number;
  /** Sent, but refused one by one by the control plane (its per-event status was not 202). */
  rejected: number;
  /** Failed attempts that will be (or were) retried. */
  retries: number;
}

export interface EventShipper extends EventSink {
  stats(): EventShipperStats;
  /** Ships what is queued for up to `deadlineMs` (default 5000), then drops and counts the rest. */
  close(deadlineMs?: number): Promise<void>;
}

/**
 * An event sink that ships events to the control plane in batches, for `weir proxy`: a bounded queue
 * (full → drop and count, the proxy never waits), a batch when `batchSize` events wait or every
 * `flushIntervalMs`, retries with exponential backoff and jitter (honouring `Retry-After`) while the
 * control plane is away or overloaded; a batch it refuses outright (400, 401, 403, 413) is dropped.
 * The contract is the events API's: a JSON array of flat event objects, answered with one status per event.
 *
 * @example
 *   const sink = createEventShipper({ controlUrl: 'http://control:8081', token });
 *   const proxy = createProxy({ table, sink });
 */
export function createEventShipper(opts: EventShipperOptions): EventShipper {
  const capacity = opts.capacity ?? 10_000;
  const batchSize = opts.batchSize ?? 500;
  const policy = opts.backoff ?? DEFAULT_BACKOFF;
  const random = opts.random ?? Math.random;
  const now = opts.now ?? Date.now;
  const log = opts.log ?? (() => {});
  const urls = controlUrls(opts.controlUrl).map((u) => `${u}/api/v1/proxy-events`);
  let which = 0;
  const closing = new AbortController();
  let queue: WideEvent[] = [];
  const stats = { dropped: 0, shipped: 0, rejected: 0, retries: 0 };
  let running: Promise<void> | undefined;
  let attempt = 0;
  let warned = false;

  /** Sends one batch: 'ok' (done with it, shipped or refused for good) or a delay before retrying. */
  const send = async (batch: WideEvent[]): Promise<'ok' | number> => {
    let res;
    try {
      res = await request(urls[which % urls.length], {
        method: 'POST',
        headers: { authorization: `Bearer ${opts.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(batch),
        signal: closing.signal,
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
        dispatcher: opts.dispatcher,
      });
    } catch (e) {
      if (!warned) log(`weir proxy: cannot ship events (${(e as Error).message}); retrying, queue bounded at ${capacity}`);
      warned = true;
      which++;
      return backoffDelay(attempt++, policy, random);
    }
    const text = await res.body.text().catch(() => '');
    if (res.statusCode === 429 || res.statusCode >= 500) {
      if (res.statusCode >= 500) which++;
      return retryAfterMs(res.headers['retry-after'], now()) ?? backoffDelay(attempt++, policy, random);
    }
    attempt = 0;
    warned = false;
    if (res.statusCode >= 300) {
      stats.dropped += batch.length;
      log(`weir proxy: the control plane refused ${batch.length} events (HTTP ${res.statusCode} ${text.slice(0, 200)}); dropped`);
      return 'ok';
    }
    let accepted = batch.length;
    try {
      const statuses = JSON.parse(text) as Array<{ status: number }>;
      if (Array.isArray(statuses)) accepted = statuses.filter((s) => s.status === 202).length;
    } catch {
      // a 2xx without per-event statuses: all accepted
    }
    stats.shipped += accepted;
    stats.rejected += batch.length - accepted;
    return 'ok';
  };

  const drain = async () => {
    while (queue.length > 0 && !closing.signal.aborted) {
      const batch = queue.slice(0, batchSize);
      const r = await send(batch);
      if (r === 'ok') {
        queue.splice(0, batch.length);
        continue;
      }
      stats.retries++;
      await sleep(r, undefined, { signal: closing.signal }).catch(() => {});
    }
  };
  const kick = () => {
    running ??= drain().finally(() => { running = undefined; });
    return running;
  };
  const timer = setInterval(() => void kick(), opts.flushIntervalMs ?? 1000);
  timer.unref();

  return {
    get dropped() { return stats.dropped; },
    get queued() { return queue.length; },
    push(e) {
      if (queue.length >= capacity) {
        stats.dropped++;
        return;
      }
      queue.push(e);
      if (queue.length >= batchSize) void kick();
    },
    async flush() {
      await kick();
    },
    stats: () => ({ queued: queue.length, ...stats }),
    async close(deadlineMs = 5000) {
      clearInterval(timer);
      const give = setTimeout(() => closing.abort(), deadlineMs);
      await kick();
      clearTimeout(give);
      closing.abort();
      if (queue.length) {
        stats.dropped += queue.length;
        log(`weir proxy: ${queue.length} events not shipped before shutdown; dropped`);
        queue = [];
      }
    },
  };
}
