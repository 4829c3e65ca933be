import type { Readable } from 'node:stream';
import type { ProxyRequest, ProxyResponse } from './http1.ts';
import type { UpstreamCall } from './upstream-client.ts';
import { WeirError, ERROR_STATUS } from '../errors.ts';
import type { ErrorCode } from '../errors.ts';
import type { WideEvent } from '../events/schema.ts';
import { responseHeaders } from './headers.ts';
import { BodyMeter, IDEMPOTENT, classifyError, pathOf, round3, sendError, stickyHash } from './exchange-util.ts';
import { beginTaps } from './taps.ts';
import type { ResponseTap, TapHost } from './taps-types.ts';
import type { SplitChoice } from './split.ts';
import type { RuntimeService, RuntimeVersion } from './runtime.ts';
import { pickInstance } from './upstream.ts';
import type { Instance } from './upstream.ts';

export { classifyError, sendError, pathOf, stickyHash } from './exchange-util.ts';

type Controller = UpstreamCall;

/** What an exchange needs from the proxy that owns it. */
export interface ExchangeHost {
  now(): number;
  finish(ex: Exchange, event: WideEvent): void;
  draining: boolean;
  captureHeaders: readonly string[];
  rawStickyKey: boolean;
  /** What shadow, compare and faults use (only touched for services that have them). */
  readonly tapHost: TapHost;
}

/**
 * One request through the proxy: it is the upstream client's dispatch handler (undici's handler shape; one object per request,
 * no closures), tracks timing and bytes, retries a failed connect once on another instance, and
 * produces the request's wide event when it ends.
 */
export class Exchange {
  readonly host: ExchangeHost;
  readonly req: ProxyRequest;
  readonly res: ProxyResponse;
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
  body: Readable | null = null;
  meter: BodyMeter | null = null;
  /** Extra event fields from taps (`weir.fault.*`, `weir.shadow`). */
  extra: Record<string, string | number | boolean> | undefined = undefined;
  /** A response tap (compare capture, throttling); null for almost every request. */
  tap: ResponseTap | null = null;
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

  constructor(host: ExchangeHost, req: ProxyRequest, res: ProxyResponse, svc: RuntimeService, version: RuntimeVersion,
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
    // Flags at the edge: the variant that chose the version, for the upstream (services.<name>.flag.forwardHeader).
    if (choice.flag?.forwardHeader !== undefined) {
      const name = choice.flag.forwardHeader;
      for (let i = headers.length - 2; i >= 0; i -= 2) if (headers[i].toLowerCase() === name) headers.splice(i, 2); // never the client's own
      headers.push(name, choice.flag.variant);
    }
    this.startedAt = startedAt;
    this.startMs = startMs;
    this.method = req.method;
    const cl = view['content-length'];
    const te = view['transfer-encoding'];
    this.bodyless = te === undefined && (cl === undefined || cl === '0');
    res.owner = this;
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
        this.body = this.req.body();
      } else {
        const meter = new BodyMeter(limit ?? Number.MAX_SAFE_INTEGER);
        this.req.body().pipe(meter);
        this.body = this.meter = meter;
      }
    }
    if (v.route.timeouts.totalMs > 0) {
      this.timer = setTimeout(() => this.abort(new WeirError('UPSTREAM_TIMEOUT', `no complete answer within ${v.route.timeouts.totalMs} ms`)), v.route.timeouts.totalMs);
    }
    const taps = this.svc.taps;
    if (taps !== undefined && beginTaps(this.host.tapHost, this, taps, v.name)) return;
    this.dispatch(undefined);
  }

  dispatch(exclude: Instance | undefined): void {
    const v = this.version;
    // One instance (the common case) needs no clock: pickInstance returns it even when ejected.
    const inst = v.instances.length === 1 && exclude === undefined ? v.instances[0] : pickInstance(v.instances, this.host.now(), v.cursor, exclude);
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
      path: inst.basePath ? inst.basePath + this.req.url : this.req.url,
      method: this.method,
      headers: this.headers,
      body: this.body,
      headersTimeout: t.headersMs,
      bodyTimeout: t.idleMs,
    }, this);
  }

  onRequestStart(controller: Controller): void {
    this.controller = controller;
    if (this.done) controller.abort(new WeirError('CLIENT_CLOSED', 'the client went away'));
  }

  onResponseStart(controller: Controller, statusCode: number, _headers: unknown, statusMessage?: string): void {
    if (statusCode < 200) return; // 1xx informational answers are not forwarded
    this.upstreamMs = performance.now() - this.sentAt;
    const raw = controller.rawHeaders ?? [];
    const { headers, contentLength } = responseHeaders(raw);
    const limit = this.version.route.limits.responseBodyBytes;
    if (limit !== undefined && contentLength > limit) {
      controller.abort(new WeirError('UPSTREAM_RESPONSE_TOO_LARGE', `the upstream's response of ${contentLength} bytes is larger than the limit of ${limit} bytes`));
      return;
    }
    this.status = statusCode;
    if (this.host.draining) headers.push('connection', 'close');
    this.res.writeHead(statusCode, headers, statusMessage || undefined);
    if (this.tap !== null) this.tap.head?.(statusCode, raw);
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    this.bytesOut += chunk.length;
    const limit = this.version.route.limits.responseBodyBytes;
    if (limit !== undefined && this.bytesOut > limit) {
      controller.abort(new WeirError('UPSTREAM_RESPONSE_TOO_LARGE', `the upstream's response passed the limit of ${limit} bytes`));
      return;
    }
    const wait = this.tap === null ? 0 : this.tap.data?.(chunk) ?? 0;
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.onDrain((this.#resume ??= () => this.controller?.resume()));
    } else if (wait > 0) {
      controller.pause(); // bandwidth throttling (a fault)
      setTimeout((this.#resume ??= () => this.controller?.resume()), wait);
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
    if (this.tap !== null) {
      this.tap.end?.();
      this.tap = null;
    }
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
    if (this.res.headersSent && !this.res.retract()) {
      // Mid-body failure: the status is already on the wire, so the only honest signal is a reset.
      this.errorCode = code;
      this.res.destroy();
      this.end();
      return;
    }
    this.fail(code, message);
  }

  onClientClose(): void {
    if (this.done || this.res.finished) return;
    this.abort(new WeirError('CLIENT_CLOSED', 'the client closed the connection'));
    if (!this.done) {
      this.errorCode = 'CLIENT_CLOSED';
      this.status = this.status || 499;
      this.end();
    }
  }

  /**
   * Weir's own code threw while handling this request (src/proxy/internal-error.ts has reported it;
   * the server or the upstream client calls this): the upstream call is abandoned, the client gets a
   * 500 when nothing has been sent yet (else its connection is closed), and the event records
   * `error.type` INTERNAL.
   */
  onInternalError(): void {
    if (this.done) return;
    this.abort(new WeirError('INTERNAL', 'internal error in the proxy'));
    if (this.done) return; // the abort's onResponseError answered and ended it
    this.release();
    if ((!this.res.headersSent || this.res.retract()) && !this.res.destroyed) return this.fail('INTERNAL', 'internal error in the proxy');
    this.errorCode = 'INTERNAL';
    if (!this.res.finished) {
      this.status = this.status || 500;
      this.res.destroy();
    }
    this.end();
  }

  abort(reason: WeirError): void {
    if (this.controller && !this.controller.aborted) this.controller.abort(reason);
  }

  /** An injected abort: Weir's error answer with the fault's status, without reaching the upstream. */
  injectAbort(status: number): void {
    this.status = sendError(this.res, 'FAULT_INJECTED', `fault injected (status ${status})`, this.requestId, status);
    this.errorCode = 'FAULT_INJECTED';
    this.body?.resume();
    this.req.discard();
    this.end();
  }

  /** An injected connection reset: the client's connection is closed without an answer. */
  injectReset(): void {
    this.errorCode = 'FAULT_INJECTED';
    this.status = 502;
    this.end();
    this.res.destroy();
  }

  /** Answers with Weir's own error and ends the exchange. */
  fail(code: ErrorCode, message: string): void {
    this.errorCode = code;
    if (!this.res.headersSent && !this.res.destroyed) this.status = sendError(this.res, code, message, this.requestId);
    else this.status = this.status || ERROR_STATUS[code];
    // A body we never read would stall the client's connection: drop it with the connection.
    if (this.body === null && !this.bodyless) this.req.discard();
    this.end();
  }

  end(): void {
    if (this.done) return;
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    const stats = this.version.stats;
    stats.inflight--;
    if (this.status >= 500) stats.errors++;
    if (this.meter !== null) this.bytesIn = this.meter.bytes;
    if (this.tap !== null) this.tap.fail?.(this.errorCode ?? 'FAILED');
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
      'url.path': pathOf(req.url),
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
    if (choice.flag !== undefined) {
      ev['feature_flag.key'] = choice.flag.key;
      ev['feature_flag.result.variant'] = choice.flag.variant;
    }
    if (this.extra !== undefined) Object.assign(ev, this.extra);
    const cap = this.host.captureHeaders;
    for (let i = 0; i < cap.length; i++) {
      const v = this.view[cap[i]];
      if (v !== undefined) ev[`http.request.header.${cap[i]}`] = v;
    }
    return ev;
  }
}
