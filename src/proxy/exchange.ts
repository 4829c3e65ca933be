import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import type { Dispatcher } from 'undici';
import { WeirError, ERROR_STATUS } from '../errors.ts';
import { murmur3 } from '../util/murmur3.ts';
import type { ErrorCode } from '../errors.ts';
import type { WideEvent } from '../events/schema.ts';
import { responseHeaders, VIA } from './headers.ts';
import type { SplitChoice } from './split.ts';
import type { RuntimeService, RuntimeVersion } from './runtime.ts';
import { pickInstance } from './upstream.ts';
import type { Instance } from './upstream.ts';

type Controller = Dispatcher.DispatchController;

/** What an exchange needs from the proxy that owns it. */
export interface ExchangeHost {
  now(): number;
  finish(ex: Exchange, event: WideEvent): void;
  draining: boolean;
  captureHeaders: readonly string[];
  rawStickyKey: boolean;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
const CONNECT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);
const RESET_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'UND_ERR_CLOSED']);

/** Maps a failure to a stable code; `connect` marks failures to reach the instance at all. */
export function classifyError(err: unknown): { code: ErrorCode; connect: boolean; message: string } {
  if (err instanceof WeirError) return { code: err.code, connect: false, message: err.message };
  const e = err as { code?: string; message?: string } | undefined;
  const c = e?.code ?? '';
  if (c === 'UND_ERR_CONNECT_TIMEOUT') return { code: 'UPSTREAM_CONNECT_TIMEOUT', connect: true, message: 'timed out connecting to the upstream' };
  if (CONNECT_CODES.has(c)) return { code: 'UPSTREAM_CONNECT_FAILED', connect: true, message: `could not connect to the upstream (${c})` };
  if (c === 'UND_ERR_HEADERS_TIMEOUT') return { code: 'UPSTREAM_TIMEOUT', connect: false, message: 'the upstream did not send response headers in time' };
  if (c === 'UND_ERR_BODY_TIMEOUT') return { code: 'UPSTREAM_TIMEOUT', connect: false, message: 'the upstream stopped sending the response body' };
  if (RESET_CODES.has(c)) return { code: 'UPSTREAM_RESET', connect: false, message: 'the upstream closed the connection' };
  return { code: 'UPSTREAM_BAD_RESPONSE', connect: false, message: `bad response from the upstream${e?.message ? `: ${e.message}` : ''}` };
}

/** Writes Weir's own JSON error answer. */
export function sendError(res: ServerResponse, code: ErrorCode, message: string, requestId: string, status: number = ERROR_STATUS[code]): number {
  const body = JSON.stringify({ error: { code, message, requestId } });
  const headers = ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(body)), 'x-request-id', requestId, 'via', VIA];
  if (status === 503) headers.push('retry-after', '1');
  res.writeHead(status, headers);
  res.end(body);
  return status;
}

/** Counts request body bytes and enforces the request-body limit on bodies without a length. */
class BodyMeter extends Transform {
  bytes = 0;
  readonly limit: number;
  constructor(limit: number) {
    super();
    this.limit = limit;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) cb(new WeirError('REQUEST_BODY_TOO_LARGE', `request body is larger than the limit of ${this.limit} bytes`));
    else cb(null, chunk);
  }
}

/**
 * One request through the proxy: it is the undici dispatch handler (so there is one object per request,
 * no closures), tracks timing and bytes, retries a failed connect once on another instance, and
 * produces the request's wide event when it ends.
 */
export class Exchange {
  readonly host: ExchangeHost;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly svc: RuntimeService;
  readonly version: RuntimeVersion;
  readonly choice: SplitChoice;
  readonly requestId: string;
  readonly startedAt: number;
  readonly startMs: number;
  readonly headers: string[];
  readonly method: string;
  readonly bodyless: boolean;
  readonly clientIp: string;
  /** The lower-case headers routing and events read (scanRequestHeaders), instead of `req.headers`. */
  readonly view: Record<string, string>;
  body: IncomingMessage | BodyMeter | null = null;
  bytesIn = 0;
  inst: Instance | undefined;
  controller: Controller | null = null;
  sentAt = 0;
  upstreamMs = -1;
  status = 0;
  bytesOut = 0;
  errorCode: string | undefined;
  attempts = 0;
  /** True while this exchange counts in `inst.pending`. */
  holding = false;
  done = false;
  timer: NodeJS.Timeout | undefined;
  #resume: (() => void) | undefined;

  constructor(host: ExchangeHost, req: IncomingMessage, res: ServerResponse, svc: RuntimeService, version: RuntimeVersion,
    choice: SplitChoice, requestId: string, headers: string[], startedAt: number, startMs: number, clientIp: string, view: Record<string, string>) {
    this.clientIp = clientIp;
    this.view = view;
    this.host = host;
    this.req = req;
    this.res = res;
    this.svc = svc;
    this.version = version;
    this.choice = choice;
    this.requestId = requestId;
    this.headers = headers;
    this.startedAt = startedAt;
    this.startMs = startMs;
    this.method = req.method ?? 'GET';
    const cl = view['content-length'];
    const te = view['transfer-encoding'];
    this.bodyless = te === undefined && (cl === undefined || cl === '0');
  }

  /** Starts the exchange: limits, body, instance choice, dispatch. */
  start(): void {
    const v = this.version;
    const limits = v.route.limits;
    v.stats.requests++;
    v.stats.inflight++;
    if (!this.bodyless) {
      const cl = this.view['content-length'];
      const limit = limits.requestBodyBytes;
      if (cl !== undefined && this.view['transfer-encoding'] === undefined) {
        this.bytesIn = Number(cl);
        if (limit !== undefined && this.bytesIn > limit) {
          return this.fail('REQUEST_BODY_TOO_LARGE', `request body of ${cl} bytes is larger than the limit of ${limit} bytes`);
        }
        this.body = this.req;
      } else {
        const meter = new BodyMeter(limit ?? Number.MAX_SAFE_INTEGER);
        this.req.pipe(meter);
        this.body = meter;
      }
    }
    (this.res as ExchangeResponse)[kExchange] = this;
    this.res.once('close', onResponseClose);
    if (v.route.timeouts.totalMs > 0) {
      this.timer = setTimeout(() => this.abort(new WeirError('UPSTREAM_TIMEOUT', `no complete answer within ${v.route.timeouts.totalMs} ms`)), v.route.timeouts.totalMs);
    }
    this.dispatch(undefined);
  }

  dispatch(exclude: Instance | undefined): void {
    const v = this.version;
    const inst = pickInstance(v.instances, this.host.now(), v.cursor, exclude);
    if (!inst) return this.fail('UPSTREAM_UNAVAILABLE', `no instance of version "${v.name}" is available`);
    const max = v.route.limits.maxPending;
    if (max !== undefined && inst.pending >= max) return this.fail('OVERLOADED', `version "${v.name}" has ${inst.pending} requests in flight (limit ${max})`);
    this.inst = inst;
    this.attempts++;
    inst.pending++;
    this.holding = true;
    this.sentAt = performance.now();
    const t = v.route.timeouts;
    inst.pool.dispatch({
      path: inst.basePath ? inst.basePath + this.req.url : this.req.url!,
      method: this.method,
      headers: this.headers,
      body: this.body,
      headersTimeout: t.headersMs,
      bodyTimeout: t.idleMs,
      // The pool must never replay a request on its own: retries are decided here, once.
      idempotent: false,
      blocking: true,
    }, this);
  }

  onRequestStart(controller: Controller): void {
    this.controller = controller;
    if (this.done) controller.abort(new WeirError('CLIENT_CLOSED', 'the client went away'));
  }

  onResponseStart(controller: Controller, statusCode: number, _headers: unknown, statusMessage?: string): void {
    if (statusCode < 200) return; // 1xx informational answers are not forwarded
    this.upstreamMs = performance.now() - this.sentAt;
    const { headers, contentLength } = responseHeaders((controller.rawHeaders ?? []) as Buffer[]);
    const limit = this.version.route.limits.responseBodyBytes;
    if (limit !== undefined && contentLength > limit) {
      controller.abort(new WeirError('UPSTREAM_RESPONSE_TOO_LARGE', `the upstream's response of ${contentLength} bytes is larger than the limit of ${limit} bytes`));
      return;
    }
    this.status = statusCode;
    if (this.host.draining) headers.push('connection', 'close');
    if (statusMessage) this.res.statusMessage = statusMessage;
    this.res.writeHead(statusCode, headers);
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    this.bytesOut += chunk.length;
    const limit = this.version.route.limits.responseBodyBytes;
    if (limit !== undefined && this.bytesOut > limit) {
      controller.abort(new WeirError('UPSTREAM_RESPONSE_TOO_LARGE', `the upstream's response passed the limit of ${limit} bytes`));
      return;
    }
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', (this.#resume ??= () => this.controller?.resume()));
    }
  }

  release(): void {
    if (this.holding) {
      this.holding = false;
      this.inst!.pending--;
    }
  }

  onResponseEnd(): void {
    this.release();
    this.inst!.succeeded();
    this.res.end();
    this.end();
  }

  onResponseError(_controller: Controller, err: Error): void {
    const inst = this.inst!;
    this.release();
    if (this.done) return; // the client went away first; already recorded
    const { code, connect, message } = classifyError(err);
    if (connect) {
      const o = this.svc.route.outlier;
      inst.connectFailed(this.host.now(), o.consecutiveFailures, o.cooldownMs);
      if (this.attempts === 1 && this.bodyless && IDEMPOTENT.has(this.method) && this.version.instances.length > 1 && !this.res.headersSent) {
        this.dispatch(inst);
        return;
      }
    } else if (this.upstreamMs >= 0) {
      inst.succeeded(); // it connected and answered; a later failure is not a connect failure
    }
    if (this.res.headersSent) {
      // Mid-body failure: the status is already on the wire, so the only honest signal is a reset.
      this.errorCode = code;
      this.res.destroy();
      this.end();
      return;
    }
    this.fail(code, message);
  }

  onClientClose(): void {
    if (this.done || this.res.writableFinished) return;
    this.abort(new WeirError('CLIENT_CLOSED', 'the client closed the connection'));
    if (!this.done) {
      this.errorCode = 'CLIENT_CLOSED';
      this.status = this.status || 499;
      this.end();
    }
  }

  abort(reason: WeirError): void {
    if (this.controller && !this.controller.aborted) this.controller.abort(reason);
  }

  /** Answers with Weir's own error and ends the exchange. */
  fail(code: ErrorCode, message: string): void {
    this.errorCode = code;
    if (!this.res.headersSent && !this.res.destroyed) this.status = sendError(this.res, code, message, this.requestId);
    else this.status = this.status || ERROR_STATUS[code];
    // A body we never read would stall the client's connection: drop it with the connection.
    if (this.body === null && !this.bodyless) this.req.resume();
    this.end();
  }

  end(): void {
    if (this.done) return;
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    const stats = this.version.stats;
    stats.inflight--;
    if (this.status >= 500) stats.errors++;
    if (this.body instanceof BodyMeter) this.bytesIn = this.body.bytes;
    this.host.finish(this, this.toEvent());
  }

  toEvent(): WideEvent {
    const req = this.req;
    const choice = this.choice;
    const ev: WideEvent = {
      timestamp: this.startedAt,
      'request.id': this.requestId,
      'service.name': this.svc.route.name,
      'service.version': this.version.name,
      'http.request.method': this.method,
      'url.path': pathOf(req.url!),
      'http.route': this.svc.routeLabel,
      'http.response.status_code': this.status,
      duration_ms: round3(performance.now() - this.startMs),
      'upstream.duration_ms': this.upstreamMs >= 0 ? round3(this.upstreamMs) : undefined,
      'weir.decision': choice.reason,
      'weir.traffic': choice.traffic,
      'upstream.address': this.inst?.address,
      'http.request.body.size': this.bytesIn,
      'http.response.body.size': this.bytesOut,
      'error.type': this.errorCode,
      'client.address': this.clientIp,
      'user_agent.original': this.view['user-agent'],
      'weir.sticky_key_hash': choice.stickyKey === undefined ? undefined : stickyHash(choice.stickyKey),
    };
    if (this.host.rawStickyKey && choice.stickyKey !== undefined) ev['weir.sticky_key'] = choice.stickyKey;
    const cap = this.host.captureHeaders;
    for (let i = 0; i < cap.length; i++) {
      const v = this.view[cap[i]];
      if (v !== undefined) ev[`http.request.header.${cap[i]}`] = v;
    }
    return ev;
  }
}

const kExchange = Symbol('weir.exchange');
type ExchangeResponse = ServerResponse & { [kExchange]?: Exchange };

/** One shared 'close' listener for every response (no closure per request). */
function onResponseClose(this: ExchangeResponse): void {
  this[kExchange]?.onClientClose();
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

export function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}


/** A 64-bit hex digest of the sticky key (two seeded 32-bit hashes), so events never hold user ids by default. */
export function stickyHash(key: string): string {
  return murmur3(key, 0x9747b28c).toString(16).padStart(8, '0') + murmur3(key, 0x5bd1e995).toString(16).padStart(8, '0');
}
