import type { Server, Socket, AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { channel } from 'node:diagnostics_channel';
import type { EventSink, WideEvent } from '../events/schema.ts';
import { finishForwardHeaders, forwardHeaders, httpDate, scanRequestHeaders } from './headers.ts';
import { chooseVersion } from './split.ts';
import type { SplitChoice } from './split.ts';
import { Exchange, sendError, pathOf, stickyHash, classifyError } from './exchange.ts';
import type { ExchangeHost } from './exchange.ts';
import { compileTable, hostOnly, matchService } from './runtime.ts';
import type { RuntimeTable, RuntimeService, VersionStats } from './runtime.ts';
import type { RoutingTable } from './table.ts';
import { InstanceRegistry, pickInstance } from './upstream.ts';
import { CopyPools } from './shadow/copy.ts';
import { newTapStates } from './taps.ts';
import type { TapStates } from './taps.ts';
import type { TapHost } from './taps-types.ts';
import { observeOutcome } from './faults/runtime.ts';
import { Http1Server } from './http1.ts';
import { reportInternalError } from './internal-error.ts';
import { ERROR_STATUS, WeirError } from '../errors.ts';
import { processLoad } from './load.ts';
import type { ProxyRequest, ProxyResponse } from './http1.ts';

/** Published when a service's faults stop on their own (the live error rate passed the budget). */
export const faultsStoppedChannel = channel('weir:proxy:faults:stopped');

/** Published once per finished request with its wide event, when anyone subscribes (free otherwise). */
export const requestEndChannel = channel('weir:proxy:request:end');

export interface ProxyOptions {
  table: RoutingTable;
  sink: EventSink;
  /** Wall clock in ms (events' timestamps, ejection cool-downs). */
  now?: () => number;
  /** Randomness in [0, 1) for unsticky splits. */
  random?: () => number;
  /** Request headers recorded on events as `http.request.header.<name>`. */
  captureHeaders?: string[];
  rawStickyKey?: boolean;
  /** Largest request head; the client gets 431 above it. */
  maxHeaderBytes?: number;
  /** The process's busy share, 0..1, for the copies' `maxLoad` (default: the event loop's utilization, src/proxy/load.ts). */
  load?: () => number;
  /** Called for each finished request's event, after the sink (metrics, live counters). */
  onEvent?: (event: WideEvent) => void;
}

export interface ProxyStats {
  tableVersion: number;
  inflight: number;
  requests: number;
  versions: Map<string, VersionStats>;
  /** Shadow and compare counters (sent, dropped by reason, …) and fault state, per service. */
  taps: TapStates;
}

/**
 * The data plane: an HTTP/1.1 reverse proxy that routes each request to a version of a service by
 * the current routing table, forwards it with its own keep-alive client (upstream-client.ts), and
 * records one wide event.
 *
 * @example
 *   const proxy = createProxy({ table, sink });
 *   const { port } = await proxy.listen(8080, '127.0.0.1');
 *   proxy.setTable(nextTable);   // atomic, between requests
 *   await proxy.close(10_000);   // drain in-flight requests for up to 10 s
 */
export function createProxy(opts: ProxyOptions): Proxy {
  return new Proxy(opts);
}

export class Proxy implements ExchangeHost {
  readonly server: Server;
  readonly #http: Http1Server;
  readonly registry = new InstanceRegistry();
  /** Pools for shadow and compare copies, apart from the pools that carry users' requests. */
  readonly pools = new CopyPools();
  readonly taps: TapStates = newTapStates();
  readonly tapHost: TapHost;
  readonly #stats = new Map<string, VersionStats>();
  readonly #sink: EventSink;
  readonly #random: () => number;
  readonly #onEvent: ((e: WideEvent) => void) | undefined;
  readonly now: () => number;
  readonly captureHeaders: readonly string[];
  readonly rawStickyKey: boolean;
  #table: RuntimeTable;
  #requests = 0;
  #inflight = 0;
  #idle: (() => void) | undefined;

  constructor(opts: ProxyOptions) {
    this.#sink = opts.sink;
    this.now = opts.now ?? Date.now;
    this.#random = opts.random ?? Math.random;
    this.#onEvent = opts.onEvent;
    this.captureHeaders = (opts.captureHeaders ?? []).map((h) => h.toLowerCase());
    this.rawStickyKey = opts.rawStickyKey ?? false;
    this.tapHost = { now: this.now, random: this.#random, load: opts.load ?? processLoad, emit: (e) => this.#emit(e), pools: this.pools };
    this.#table = compileTable(opts.table, this.registry, this.#stats, this.captureHeaders, this.pools, this.taps);
    this.#http = new Http1Server({
      maxHeaderBytes: opts.maxHeaderBytes ?? 16 * 1024,
      // Long uploads are fine; slow-loris heads are not.
      headersTimeoutMs: 60_000,
      keepAliveTimeoutMs: 65_000,
      onRequest: (req, res) => this.handle(req, res),
      onRequestError: (err) => reportInternalError(err, 'request'),
      onUpgrade: (req, socket, head) => this.upgrade(req, socket, head),
    });
    this.server = this.#http.server;
  }

  /** Answers carry `connection: close` and idle connections close (set by `close`). */
  get draining(): boolean {
    return this.#http.draining;
  }

  /** Swaps the routing table atomically; requests already in flight finish on the table they started with. */
  setTable(table: RoutingTable): void {
    if (table.version < this.#table.version) return;
    const next = compileTable(table, this.registry, this.#stats, this.captureHeaders, this.pools, this.taps);
    this.#table = next;
    void this.registry.retain(next.instances);
  }

  get table(): RuntimeTable {
    return this.#table;
  }

  stats(): ProxyStats {
    return { tableVersion: this.#table.version, inflight: this.#inflight, requests: this.#requests, versions: this.#stats, taps: this.taps };
  }

  /** Listens; `reusePort` lets several worker processes share the port (SO_REUSEPORT). */
  async listen(port: number, host = '127.0.0.1', reusePort = false): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ port, host, reusePort }, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return this.server.address() as AddressInfo;
  }

  handle(req: ProxyRequest, res: ProxyResponse): void {
    const startMs = performance.now();
    const startedAt = this.now();
    this.#requests++;
    const url = req.url;
    const table = this.#table;
    // One pass over the raw headers gives both what to forward and what routing needs.
    const scan = scanRequestHeaders(req.rawHeaders, table.interest);
    const view = scan.view;
    const requestId = view['x-request-id'] || randomUUID();
    if (view.host === undefined && req.httpVersion === '1.1') {
      // RFC 9112 §3.2: a server must answer 400 to an HTTP/1.1 request without Host.
      const status = sendError(res, 'BAD_REQUEST', 'an HTTP/1.1 request must carry a Host header', requestId);
      this.finishBare(req, startedAt, startMs, requestId, status, 'BAD_REQUEST', undefined);
      return;
    }
    const expect = view.expect;
    if (expect !== undefined) {
      if (expect.toLowerCase() !== '100-continue') {
        const status = sendError(res, 'EXPECTATION_FAILED', `cannot meet the expectation "${expect}"`, requestId);
        this.finishBare(req, startedAt, startMs, requestId, status, 'EXPECTATION_FAILED', undefined);
        return;
      }
      res.writeContinue();
    }
    const svc = matchService(table, hostOnly(view.host), url);
    if (!svc) {
      const status = sendError(res, 'NO_ROUTE', `no service matches ${view.host ?? ''}${pathOf(url)}`, requestId);
      this.finishBare(req, startedAt, startMs, requestId, status, 'NO_ROUTE', undefined);
      return;
    }
    const clientIp = req.remoteAddress;
    const choice = chooseVersion(svc.split, { headers: view, url, clientIp }, this.#random);
    const version = svc.versions.get(choice.version)!;
    const fwd = finishForwardHeaders(scan, { clientIp, proto: 'http', requestId, traffic: choice.traffic });
    const ex = new Exchange(this, req, res, svc, version, choice, requestId, fwd, startedAt, startMs, clientIp, view);
    // In flight from here until the exchange's finish (answers given above never were: they end here).
    this.#inflight++;
    ex.start();
  }

  /** Shadow and compare events: into the same sink, never counted as requests. */
  #emit(event: WideEvent): void {
    this.#sink.push(event);
    this.#onEvent?.(event);
  }

  /** Called by each Exchange exactly once. */
  finish(ex: Exchange, event: WideEvent): void {
    this.#inflight--;
    const f = ex.svc.taps?.faults;
    if (f !== undefined && ex.choice.traffic === 'live' && observeOutcome(f, this.now(), ex.status) && faultsStoppedChannel.hasSubscribers) {
      faultsStoppedChannel.publish({ service: ex.svc.route.name, ...f.state.stopped });
    }
    this.#sink.push(event);
    this.#onEvent?.(event);
    if (requestEndChannel.hasSubscribers) requestEndChannel.publish(event);
    if (this.#inflight === 0 && this.#idle) this.#idle();
  }

  /** Records an event for a request that never reached a version (no route, bad upgrade); not counted in flight. */
  finishBare(req: ProxyRequest, startedAt: number, startMs: number, requestId: string, status: number, code: string, svc: RuntimeService | undefined, choice?: SplitChoice): void {
    const event: WideEvent = {
      timestamp: startedAt,
      'request.id': requestId,
      'service.name': svc?.route.name ?? '',
      'service.version': choice?.version,
      'http.request.method': req.method,
      'url.path': pathOf(req.url),
      'http.route': svc?.routeLabel,
      'http.response.status_code': status,
      duration_ms: Math.round((performance.now() - startMs) * 1000) / 1000,
      'weir.decision': choice?.reason,
      'weir.traffic': choice?.traffic ?? 'live',
      'http.request.body.size': 0,
      'http.response.body.size': 0,
      'error.type': code,
      'client.address': req.remoteAddress,
      'user_agent.original': req.headers['user-agent'],
      'weir.sticky_key_hash': choice?.stickyKey === undefined ? undefined : stickyHash(choice.stickyKey),
    };
    this.#sink.push(event);
    this.#onEvent?.(event);
    if (requestEndChannel.hasSubscribers) requestEndChannel.publish(event);
    if (this.#inflight === 0 && this.#idle) this.#idle();
  }

  /** HTTP/1.1 upgrades (WebSocket): routed like any request, then bytes are piped both ways. */
  upgrade(req: ProxyRequest, socket: Socket, head: Buffer): void {
    const startMs = performance.now();
    const startedAt = this.now();
    this.#requests++;
    this.#inflight++;
    const url = req.url;
    const requestId = req.headers['x-request-id'] || randomUUID();
    const reject = (status: number, code: string, message: string, svc?: RuntimeService, choice?: SplitChoice) => {
      const body = JSON.stringify({ error: { code, message, requestId } });
      if (socket.writable) socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\ndate: ${httpDate()}\r\nconnection: close\r\n\r\n${body}`);
      this.#inflight--;
      this.finishBare(req, startedAt, startMs, requestId, status, code, svc, choice);
    };
    const svc = matchService(this.#table, hostOnly(req.headers.host), url);
    if (!svc) return reject(404, 'NO_ROUTE', `no service matches ${pathOf(url)}`);
    const clientIp = req.remoteAddress;
    const choice = chooseVersion(svc.split, { headers: req.headers, url, clientIp }, this.#random);
    const version = svc.versions.get(choice.version)!;
    const inst = pickInstance(version.instances, this.now(), version.cursor);
    if (!inst) return reject(503, 'UPSTREAM_UNAVAILABLE', 'no instance available', svc, choice);
    const headers = forwardHeaders(req.rawHeaders, { clientIp, proto: 'http', requestId, traffic: choice.traffic, upgrade: true });
    const protocol = String(req.headers.upgrade ?? 'websocket');
    socket.on('error', () => socket.destroy());
    // The upstream's answer is awaited for the version's headers timeout at most (undici's own default
    // is 300 s). The client's socket is paused meanwhile (its early bytes wait for the pipe), so a
    // client that hangs up is only noticed once the answer is written: the timeout bounds that too.
    const abort = new AbortController();
    const headersMs = version.route.timeouts.headersMs;
    const timer = headersMs > 0 ? setTimeout(() => abort.abort(new WeirError('UPSTREAM_TIMEOUT', `the upstream did not answer the upgrade within ${headersMs} ms`)), headersMs) : undefined;
    inst.upgrades.upgrade({ path: inst.basePath + url, method: req.method as 'GET', headers, protocol, signal: abort.signal }).then(({ headers: up, socket: upstream }) => {
      clearTimeout(timer);
      if (socket.destroyed) {
        upstream.destroy();
        return reject(499, 'CLIENT_CLOSED', 'the client closed the connection', svc, choice);
      }
      let head101 = 'HTTP/1.1 101 Switching Protocols\r\n';
      for (const [k, v] of Object.entries(up)) {
        for (const one of Array.isArray(v) ? v : [v]) if (one !== undefined) head101 += `${k}: ${one}\r\n`;
      }
      socket.write(`${head101}\r\n`);
      if (head.length) upstream.write(head);
      upstream.on('error', () => socket.destroy());
      socket.on('close', () => upstream.destroy());
      upstream.on('close', () => socket.destroy());
      upstream.pipe(socket);
      socket.pipe(upstream);
      version.stats.requests++;
      const event: WideEvent = {
        timestamp: startedAt, 'request.id': requestId, 'service.name': svc.route.name, 'service.version': version.name,
        'http.request.method': req.method, 'url.path': pathOf(url), 'http.route': svc.routeLabel,
        'http.response.status_code': 101, duration_ms: Math.round((performance.now() - startMs) * 1000) / 1000,
        'weir.decision': choice.reason, 'weir.traffic': choice.traffic, 'upstream.address': inst.address,
        'http.request.body.size': 0, 'http.response.body.size': 0, 'client.address': clientIp,
      };
      this.#inflight--;
      this.#sink.push(event);
      this.#onEvent?.(event);
    }, (err: unknown) => {
      clearTimeout(timer);
      const { code, message } = classifyError(abort.signal.aborted ? abort.signal.reason : err);
      reject(ERROR_STATUS[code], code, message, svc, choice);
    }).catch((err: unknown) => {
      reportInternalError(err, 'WebSocket upgrade');
      socket.destroy();
    });
  }

  /**
   * Graceful stop: no new connections, idle keep-alive connections closed, in-flight requests given up
   * to `drainMs` to finish (their responses carry `connection: close`), then everything is closed.
   */
  async close(drainMs = 10_000): Promise<void> {
    this.#http.draining = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.#http.closeIdle();
    if (this.#inflight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, drainMs);
        this.#idle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.#http.closeAll();
    await closed;
    await Promise.all([this.registry.closeAll(), this.pools.destroyAll()]);
  }
}
