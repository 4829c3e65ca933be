import { Readable, Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { UpstreamPool } from '../upstream-client.ts';
import type { UpstreamCall } from '../upstream-client.ts';

/**
 * The I/O of copied requests (shadow and tap compare): their own connection pools, a request-body tee
 * that never holds the primary stream, and a dispatch handler that drains (or collects, up to a cap)
 * the copy's answer. A copy that hangs, resets or floods costs the user's request nothing: it runs on
 * separate pools, its body copy is bounded, and it is abandoned at its timeout.
 */

/** One copy target: a pool of its own, separate from the pools that carry users' requests. */
export interface CopyTarget {
  pool: UpstreamPool;
  basePath: string;
  address: string;
}

/** Copy pools by upstream URL; closed with the proxy. */
export class CopyPools {
  readonly #pools = new Map<string, CopyTarget>();

  get(url: string, connectMs = 5_000): CopyTarget {
    let t = this.#pools.get(url);
    if (!t) {
      const u = new URL(url);
      t = {
        pool: new UpstreamPool(u.origin, connectMs),
        basePath: u.pathname === '/' ? '' : u.pathname.replace(/\/+$/, ''),
        address: u.host,
      };
      this.#pools.set(url, t);
    }
    return t;
  }

  async destroyAll(): Promise<void> {
    const all = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(all.map((t) => t.pool.destroy().catch(() => {})));
  }
}

/** A branch of the request body going to one copy. */
export interface BodyOutlet {
  stream: Readable;
  bytes: number;
  cap: number;
  live: boolean;
  /** Called once when the copy's body is dropped (over the cap). */
  onDrop: () => void;
}

/**
 * Passes the request body through to the primary unchanged and pushes each chunk to every live outlet
 * (never waiting on one). An outlet whose copy would pass its cap is dropped: its stream is destroyed,
 * which aborts that copy alone.
 */
export class BodyTee extends Transform {
  readonly outlets: BodyOutlet[] = [];

  /** A new outlet: a readable body for one copy, at most `cap` bytes. */
  outlet(cap: number, onDrop: () => void): Readable {
    const stream = new Readable({ read() {} });
    stream.on('error', () => {});
    this.outlets.push({ stream, bytes: 0, cap, live: true, onDrop });
    return stream;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    for (const o of this.outlets) {
      if (!o.live) continue;
      o.bytes += chunk.length;
      if (o.bytes > o.cap) {
        o.live = false;
        o.stream.destroy(new Error('copy body over its cap'));
        o.onDrop();
      } else {
        o.stream.push(chunk);
      }
    }
    cb(null, chunk);
  }

  #complete = false;

  override _flush(cb: TransformCallback): void {
    this.#complete = true;
    for (const o of this.outlets) if (o.live) o.stream.push(null);
    cb();
  }

  /** A body cut short (the client went away) ends its copies too; a complete one leaves them to finish. */
  override _destroy(err: Error | null, cb: (error: Error | null) => void): void {
    if (!this.#complete) for (const o of this.outlets) if (o.live) { o.live = false; o.stream.destroy(); }
    cb(err);
  }
}

/** What a copy's upstream answered (or how it failed). */
export interface CopyResult {
  status: number;
  /** Raw response headers [name, value, …]. */
  headers: string[];
  /** The collected body (empty when draining). */
  body: Buffer;
  /** Bytes received, collected or not. */
  bytes: number;
  /** The body was larger than the collect limit. */
  truncated: boolean;
  /** Time to the response headers, ms. */
  upstreamMs: number;
  durationMs: number;
  /** A stable code when the copy failed: SHADOW_TIMEOUT, UPSTREAM_RESET, … */
  error?: string;
  address: string;
}

type Controller = UpstreamCall;
const EMPTY = Buffer.alloc(0);

/** The dispatch handler of one copy: one object, no closures per chunk. */
class CopyCall {
  readonly #collect: number;
  readonly #done: (r: CopyResult) => void;
  readonly #start = performance.now();
  readonly #chunks: Buffer[] = [];
  #result: CopyResult;
  #timer: NodeJS.Timeout | undefined;
  #controller: Controller | null = null;
  #finished = false;

  constructor(collect: number, timeoutMs: number, address: string, done: (r: CopyResult) => void) {
    this.#collect = collect;
    this.#done = done;
    this.#result = { status: 0, headers: [], body: EMPTY, bytes: 0, truncated: false, upstreamMs: -1, durationMs: 0, address };
    this.#timer = setTimeout(() => this.#timeout(), timeoutMs);
    this.#timer.unref();
  }

  #timeout(): void {
    this.#timer = undefined;
    if (this.#finished) return;
    this.#finish('SHADOW_TIMEOUT');
    if (this.#controller && !this.#controller.settled) this.#controller.abort(new Error('copy timed out'));
  }

  #finish(error?: string): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#timer) clearTimeout(this.#timer);
    const r = this.#result;
    if (error) r.error = error;
    if (this.#chunks.length > 0) r.body = this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks);
    r.durationMs = performance.now() - this.#start;
    this.#done(r);
  }

  onRequestStart(controller: Controller): void {
    this.#controller = controller;
    if (this.#finished) controller.abort(new Error('copy abandoned'));
  }

  onResponseStart(controller: Controller, statusCode: number): void {
    if (statusCode < 200) return;
    this.#result.status = statusCode;
    this.#result.upstreamMs = performance.now() - this.#start;
    if (this.#collect === 0) return; // draining: the headers are not needed
    this.#result.headers = controller.rawHeaders ?? [];
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    const r = this.#result;
    r.bytes += chunk.length;
    if (this.#collect === 0) return;
    if (r.bytes > this.#collect) r.truncated = true;
    else this.#chunks.push(chunk);
  }

  onResponseEnd(): void {
    this.#finish();
  }

  onResponseError(_controller: Controller, err: Error & { code?: string }): void {
    const c = err.code ?? '';
    this.#finish(c === 'UND_ERR_HEADERS_TIMEOUT' || c === 'UND_ERR_BODY_TIMEOUT' ? 'SHADOW_TIMEOUT'
      : c === 'ECONNREFUSED' || c === 'UND_ERR_CONNECT_TIMEOUT' ? 'UPSTREAM_CONNECT_FAILED'
        : c === 'UND_ERR_SOCKET' || c === 'ECONNRESET' ? 'UPSTREAM_RESET' : 'UPSTREAM_BAD_RESPONSE');
  }
}

export interface CopyRequest {
  path: string;
  method: string;
  headers: string[];
  body: Readable | null;
}

/**
 * Sends one copy on its own pool; `done` is called exactly once, with the answer or the failure.
 * `collect` is the most body bytes kept (0 = drain and discard).
 * @example sendCopy(pools.get('http://10.0.0.2:8080'), { path: '/x', method: 'GET', headers: [], body: null }, 0, 5000, (r) => {});
 */
export function sendCopy(target: CopyTarget, req: CopyRequest, collect: number, timeoutMs: number, done: (r: CopyResult) => void): void {
  const call = new CopyCall(collect, timeoutMs, target.address, done);
  target.pool.dispatch({
    path: target.basePath + req.path,
    method: req.method,
    headers: req.headers,
    body: req.body,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  }, call);
}

interface QueuedCopy {
  target: CopyTarget;
  req: CopyRequest;
  collect: number;
  timeoutMs: number;
  done: (r: CopyResult) => void;
}

let queue: QueuedCopy[] = [];

function flushCopies(): void {
  const q = queue;
  queue = [];
  for (let i = 0; i < q.length; i++) sendCopy(q[i].target, q[i].req, q[i].collect, q[i].timeoutMs, q[i].done);
}

/**
 * Sends a copy once the event loop has handled the I/O that is ready now (one `setImmediate` per batch):
 * users' requests — this one's primary included — are dispatched first, and copies take what is left.
 * @example sendCopyLater(target, { path: '/x', method: 'GET', headers: [], body: null }, 0, 5000, (r) => {});
 */
export function sendCopyLater(target: CopyTarget, req: CopyRequest, collect: number, timeoutMs: number, done: (r: CopyResult) => void): void {
  if (queue.length === 0) setImmediate(flushCopies);
  queue.push({ target, req, collect, timeoutMs, done });
}

