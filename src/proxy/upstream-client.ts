import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { HTTPParser, consumeSocket, freeParser, newParser, setReading, unconsumeSocket } from './llhttp.ts';
import type { Llhttp, ParserCallbacks, StreamHandle } from './llhttp.ts';
import { IDEMPOTENT } from './exchange-util.ts';
import { reportInternalError } from './internal-error.ts';

/*
 * The HTTP/1.1 client that carries users' requests to upstream instances: keep-alive connections
 * (one request at a time per connection, no pipelining), Node's llhttp parsing the responses.
 *
 * Why not undici here: undici is an excellent general client, but a proxy uses a small part of it and
 * pays for the rest on every request (its request object, header validation and normalisation, its
 * handler wrappers and timers). With the proxy's own server (http1.ts) a prototype of this client measured ~1.2×
 * the requests per second of the same server with undici's dispatch. The interface mirrors undici's
 * dispatch handler (onRequestStart … onResponseError with a controller), so Exchange is written
 * against the same shape; the errors carry undici's codes so one classifier serves both clients
 * (shadow and compare copies use this client too, on pools of their own; undici carries only WebSocket
 * upgrades).
 */

/** One request to an upstream. `headers` is a flat name, value list. */
export interface UpstreamRequest {
  path: string;
  method: string;
  headers: readonly string[];
  body: Readable | null;
  /** Time allowed for the response head after the request is sent, ms (0 = none). */
  headersTimeout: number;
  /** Time allowed between response body chunks, ms (0 = none). */
  bodyTimeout: number;
}

/** What a request's owner hears, in order: start → response start → data* → end, or error at any point. */
export interface UpstreamHandler {
  onRequestStart(controller: UpstreamCall): void;
  onResponseStart(controller: UpstreamCall, statusCode: number, headers: null, statusMessage: string): void;
  onResponseData(controller: UpstreamCall, chunk: Buffer): void;
  onResponseEnd(controller: UpstreamCall, trailers: null): void;
  onResponseError(controller: UpstreamCall, err: Error): void;
  /**
   * One of the handler's own callbacks threw (a bug, reported by src/proxy/internal-error.ts): the call
   * is already abandoned and its connection closed; the handler answers and records what it can.
   */
  onInternalError?(controller: UpstreamCall, err: unknown): void;
}

function upstreamError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** One request in flight: the controller its handler holds (abort, pause, resume, the response's raw headers). */
export class UpstreamCall {
  readonly req: UpstreamRequest;
  readonly handler: UpstreamHandler;
  readonly pool: UpstreamPool;
  conn: UpstreamConn | null = null;
  aborted = false;
  /** Settled: ended, failed or aborted; no more handler calls. */
  settled = false;
  /** The final response's head has arrived. */
  started = false;
  rawHeaders: string[] | null = null;
  /** The request body (if any) has been written in full. */
  bodySent: boolean;
  /** Retried once already on a fresh connection after a reused one was found closed. */
  retried = false;

  constructor(pool: UpstreamPool, req: UpstreamRequest, handler: UpstreamHandler) {
    this.pool = pool;
    this.req = req;
    this.handler = handler;
    this.bodySent = req.body === null;
  }

  /** Abandons the request: the connection is closed and the handler hears `reason` as an error. */
  abort(reason: Error): void {
    if (this.settled) return;
    this.aborted = true;
    const conn = this.conn;
    this.fail(reason);
    conn?.socket.destroy();
  }

  pause(): void {
    this.conn?.pause();
  }

  resume(): void {
    if (!this.settled) this.conn?.resume();
  }

  fail(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.conn?.detach(this, false);
    try {
      this.handler.onResponseError(this, err);
    } catch (e) {
      this.handlerThrew(e);
    }
  }

  /**
   * A handler callback threw: contained here, where llhttp and the socket events enter JavaScript,
   * instead of ending the process. The call is abandoned (its connection closed unless the response
   * was already complete) and the handler hears `onInternalError`.
   */
  handlerThrew(err: unknown): void {
    reportInternalError(err, 'response');
    if (!this.settled) {
      this.settled = true;
      this.aborted = true;
      this.conn?.detach(this, false);
    }
    try {
      this.handler.onInternalError?.(this, err);
    } catch (again) {
      reportInternalError(again, 'response');
    }
  }
}

/** One keep-alive connection to an instance. */
class UpstreamConn {
  readonly socket: Socket;
  readonly pool: UpstreamPool;
  readonly parser: Llhttp;
  call: UpstreamCall | null = null;
  headerParts: string[] = [];
  /** Responses this connection has carried (a reused connection may have been closed by the server meanwhile). */
  served = 0;
  connected = false;
  closed = false;
  /** The server asked to close after this response, or something went wrong: never reuse. */
  noReuse = false;
  /** The current response is complete (set inside the parser, acted on after it returns). */
  complete = false;
  /** Bytes of the current response head/body seen (0 = the server said nothing yet). */
  seen = 0;
  /** performance.now() deadline for the current step (connect, head, or next body chunk); 0 = none. */
  deadline = 0;
  deadlineCode = '';
  /** Body bytes arrived since the deadline was last set (the sweeper pushes it out). */
  activity = false;
  idleSince = 0;
  /** From the server's `keep-alive: timeout=N` (less a second), or the pool's default. */
  idleLimitMs: number;

  constructor(pool: UpstreamPool) {
    this.pool = pool;
    this.idleLimitMs = pool.keepAliveMs;
    const socket = connect({ host: pool.host, port: pool.port, noDelay: true });
    this.socket = socket;
    (socket as ConnSocket)[kUpConn] = this;
    const p = newParser(HTTPParser.RESPONSE, 0, CLIENT_CALLBACKS);
    (p as ParserWithConn)[kUpConn] = this;
    this.parser = p;
    socket.on('connect', onConnect);
    socket.on('data', onResData);
    socket.on('end', onResEnd);
    socket.on('error', onSockError);
    socket.on('close', onSockClose);
    socket.on('drain', onSockDrain);
  }

  /** Bytes on an idle connection: the server is confused; never reuse it. */
  strayBytes(): void {
    this.noReuse = true;
    this.socket.destroy();
  }

  /** After llhttp parsed a chunk: a malformed answer fails the call; a complete one ends it. */
  afterExecute(ret: number | Error): void {
    const call = this.call;
    if (typeof ret !== 'number') {
      this.noReuse = true;
      call?.fail(upstreamError('UND_ERR_BAD_RESPONSE', `malformed response from the upstream (${(ret as Error & { code?: string }).code})`));
      this.socket.destroy();
      return;
    }
    if (this.complete && call !== null && !call.settled) finishCall(this, call);
  }

  /** Stops reading (backpressure from the client); `resume` starts again. */
  pause(): void {
    setReading(this.socket, this.handle, false);
  }

  resume(): void {
    setReading(this.socket, this.handle, true);
  }

  /** The socket's handle, once llhttp reads it directly (after connect). */
  handle: StreamHandle | null = null;

  /** Sends a request on this connection. */
  send(call: UpstreamCall): void {
    this.call = call;
    call.conn = this;
    this.complete = false;
    this.seen = 0;
    this.idleSince = 0;
    const req = call.req;
    let head = `${req.method} ${req.path} HTTP/1.1\r\n`;
    let hasHost = false;
    let hasLength = false;
    const h = req.headers;
    for (let i = 0; i < h.length; i += 2) {
      const name = h[i];
      if (name.length === 4 && name.toLowerCase() === 'host') hasHost = true;
      else if (name.length === 14 && name.toLowerCase() === 'content-length') hasLength = true;
      head += `${name}: ${h[i + 1]}\r\n`;
    }
    if (!hasHost) head += `host: ${this.pool.hostHeader}\r\n`;
    const chunked = req.body !== null && !hasLength;
    if (chunked) head += 'transfer-encoding: chunked\r\n';
    if (this.connected) this.setDeadline(req.body === null ? req.headersTimeout : 0, 'UND_ERR_HEADERS_TIMEOUT');
    this.socket.write(`${head}\r\n`, 'latin1');
    if (req.body !== null) this.sendBody(call, req.body, chunked);
  }

  sendBody(call: UpstreamCall, body: Readable, chunked: boolean): void {
    const socket = this.socket;
    const onData = (chunk: Buffer) => {
      if (call.settled || this.call !== call) return;
      let ok: boolean;
      if (chunked) {
        socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
        socket.write(chunk);
        ok = socket.write('\r\n', 'latin1');
      } else ok = socket.write(chunk);
      if (!ok) body.pause();
    };
    const cleanup = () => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      this.bodyInFlight = null;
    };
    const onEnd = () => {
      cleanup();
      if (call.settled || this.call !== call) return;
      if (chunked) socket.write('0\r\n\r\n', 'latin1');
      call.bodySent = true;
      // The wait for the answer's head starts once the whole request is out (a long upload is not late).
      if (this.connected && !call.started) this.setDeadline(call.req.headersTimeout, 'UND_ERR_HEADERS_TIMEOUT');
    };
    const onError = (err: Error) => {
      cleanup();
      call.abort(err);
    };
    this.bodyInFlight = body;
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onError);
  }

  /** The request body still being written (paused while the socket's buffer is full, resumed on drain). */
  bodyInFlight: Readable | null = null;

  setDeadline(ms: number, code: string): void {
    this.activity = false;
    if (ms > 0) {
      this.deadline = performance.now() + ms;
      this.deadlineCode = code;
    } else this.deadline = 0;
  }

  /** The call is over: give the connection back (when it can carry another request) or close it. */
  detach(call: UpstreamCall, reusable: boolean): void {
    if (this.call !== call) return;
    this.call = null;
    this.deadline = 0;
    if (this.bodyInFlight !== null) {
      this.bodyInFlight.resume(); // drain what is left into nothing; the exchange discards the rest
      this.bodyInFlight = null;
      reusable = false;
    }
    if (reusable && !this.noReuse && !this.closed && call.bodySent && !this.pool.closing) {
      this.served++;
      this.idleSince = performance.now();
      this.resume();
      this.pool.idle.push(this);
    } else this.socket.destroy();
  }

  /** The connection ended or failed with a call on it. */
  lost(err: Error): void {
    const call = this.call;
    if (call === null || call.settled) return;
    // A reused connection the server had already closed, and the request never answered: send it
    // again on a fresh connection, once, when that is safe (no body, idempotent method).
    if (this.served > 0 && this.seen === 0 && !call.retried && call.req.body === null && IDEMPOTENT.has(call.req.method)) {
      this.call = null;
      this.deadline = 0;
      call.retried = true;
      call.conn = null;
      this.pool.fresh(call);
      return;
    }
    call.fail(err);
  }
}

const kUpConn = Symbol('weir.upstreamConn');
type ConnSocket = Socket & { [kUpConn]: UpstreamConn };
type ParserWithConn = Llhttp & { [kUpConn]: UpstreamConn };

function onConnect(this: ConnSocket): void {
  const conn = this[kUpConn];
  conn.connected = true;
  // llhttp reads the handle in C++ from here on (the 'data' listener stays as the fallback).
  conn.handle = consumeSocket(conn.parser, this);
  const call = conn.call;
  if (call !== null) conn.setDeadline(call.bodySent ? call.req.headersTimeout : 0, 'UND_ERR_HEADERS_TIMEOUT');
  else conn.deadline = 0;
}

function onResData(this: ConnSocket, data: Buffer): void {
  const conn = this[kUpConn];
  if (conn.call === null) return conn.strayBytes();
  conn.afterExecute(conn.parser.execute(data));
}

/** Consumed mode: llhttp read the handle in C++ and parsed what came. */
function onResExecute(this: ParserWithConn, ret: number | Error): void {
  const conn = this[kUpConn];
  if (conn.call === null) return conn.strayBytes();
  conn.afterExecute(ret);
}

function finishCall(conn: UpstreamConn, call: UpstreamCall): void {
  call.settled = true;
  conn.detach(call, true);
  try {
    call.handler.onResponseEnd(call, null);
  } catch (err) {
    call.handlerThrew(err);
  }
}

function onResEnd(this: ConnSocket): void {
  const conn = this[kUpConn];
  conn.noReuse = true;
  const call = conn.call;
  if (call !== null && !call.settled && call.started) {
    // A response without a length ends with the connection.
    conn.parser.finish();
    if (conn.complete) return finishCall(conn, call);
  }
  conn.lost(upstreamError('UND_ERR_SOCKET', 'the upstream closed the connection'));
  this.destroy();
}

function onSockError(this: ConnSocket, err: Error): void {
  const conn = this[kUpConn];
  conn.noReuse = true;
  conn.lost(err);
}

function onSockClose(this: ConnSocket): void {
  const conn = this[kUpConn];
  conn.closed = true;
  conn.pool.forget(conn);
  conn.lost(upstreamError('UND_ERR_SOCKET', 'the upstream closed the connection'));
  if (conn.handle !== null) unconsumeSocket(conn.parser, conn.handle);
  freeParser(conn.parser);
}

function onSockDrain(this: ConnSocket): void {
  this[kUpConn].bodyInFlight?.resume();
}

function onResMessageBegin(this: ParserWithConn): void {
  const conn = this[kUpConn];
  if (conn.complete) conn.noReuse = true; // a second response to one request: the connection is not trusted again
}

/** Heads with many headers arrive in parts before onResHeadersComplete. */
function onResHeaders(this: ParserWithConn, headers: string[]): void {
  const conn = this[kUpConn];
  for (let i = 0; i < headers.length; i++) conn.headerParts.push(headers[i]);
}

function onResHeadersComplete(this: ParserWithConn, _major: number, _minor: number, headers: string[] | undefined, _method: unknown, _url: unknown,
  status: number, message: string, _upgrade: boolean, keepAlive: boolean): number {
  const conn = this[kUpConn];
  if (headers === undefined) {
    headers = conn.headerParts;
    conn.headerParts = [];
  }
  const call = conn.call;
  conn.seen++;
  if (call === null || call.settled) return 1;
  // A second answer to one request, in the same read as the first: ignored (onResMessageBegin has
  // already marked the connection never to be reused; the call ends after this read).
  if (conn.complete) return 1;
  if (status < 200) return 0; // 1xx: the final answer follows
  if (!keepAlive) conn.noReuse = true;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i];
    if (name.length === 10 && name.toLowerCase() === 'keep-alive') {
      const m = /timeout=(\d+)/i.exec(headers[i + 1]);
      if (m) conn.idleLimitMs = Math.min(conn.pool.keepAliveMs, Math.max(0, Number(m[1]) * 1000 - 1000));
    }
  }
  call.started = true;
  call.rawHeaders = headers;
  conn.setDeadline(call.req.bodyTimeout, 'UND_ERR_BODY_TIMEOUT');
  try {
    call.handler.onResponseStart(call, status, null, message);
  } catch (err) {
    call.handlerThrew(err);
    return 1;
  }
  return call.req.method === 'HEAD' ? 1 : 0;
}

function onResBody(this: ParserWithConn, chunk: Buffer): void {
  const conn = this[kUpConn];
  const call = conn.call;
  if (call === null || call.settled || conn.complete) return;
  conn.seen++;
  conn.activity = true;
  try {
    call.handler.onResponseData(call, chunk);
  } catch (err) {
    call.handlerThrew(err);
  }
}

function onResMessageComplete(this: ParserWithConn): void {
  const conn = this[kUpConn];
  const call = conn.call;
  if (call === null || !call.started) return; // the end of a 1xx
  conn.complete = true;
}

const CLIENT_CALLBACKS: ParserCallbacks = {
  onMessageBegin: onResMessageBegin,
  onHeaders: onResHeaders,
  onHeadersComplete: onResHeadersComplete,
  onBody: onResBody,
  onMessageComplete: onResMessageComplete,
  onExecute: onResExecute,
};

/**
 * Every pool's open connections, checked against their deadlines ten times a second (idle ones have
 * none). One set for the life of a connection: adding and removing busy ones around every request
 * cost about 1% of the proxy's time.
 */
const openConns = new Set<UpstreamConn>();
let sweeper: NodeJS.Timeout | undefined;

function sweep(): void {
  if (openConns.size === 0) {
    clearInterval(sweeper);
    sweeper = undefined;
    return;
  }
  const now = performance.now();
  for (const conn of openConns) {
    if (conn.deadline === 0) continue;
    if (conn.activity) {
      conn.activity = false;
      const call = conn.call;
      if (call !== null) conn.deadline = now + call.req.bodyTimeout;
      continue;
    }
    if (now > conn.deadline) {
      const call = conn.call;
      const code = conn.deadlineCode;
      conn.noReuse = true;
      call?.fail(upstreamError(code, code === 'UND_ERR_CONNECT_TIMEOUT' ? 'connect timeout' : code === 'UND_ERR_HEADERS_TIMEOUT' ? 'headers timeout' : 'body timeout'));
      conn.socket.destroy();
    }
  }
}

/**
 * Keep-alive connections to one instance (`http://host:port`), as many as there are requests in
 * flight: idle ones are reused most-recent first and closed after `keepAliveMs` (or the server's
 * shorter `keep-alive: timeout`).
 */
export class UpstreamPool {
  readonly host: string;
  readonly port: number;
  readonly hostHeader: string;
  readonly connectTimeoutMs: number;
  readonly keepAliveMs: number;
  readonly idle: UpstreamConn[] = [];
  readonly #all = new Set<UpstreamConn>();
  closing = false;
  #closed: (() => void) | null = null;

  constructor(origin: string, connectTimeoutMs: number, keepAliveMs = 30_000) {
    const u = new URL(origin);
    this.host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
    this.port = Number(u.port || 80);
    this.hostHeader = u.host;
    this.connectTimeoutMs = connectTimeoutMs;
    this.keepAliveMs = keepAliveMs;
  }

  /** Sends a request; the handler hears everything, including failure to connect. */
  dispatch(req: UpstreamRequest, handler: UpstreamHandler): void {
    const call = new UpstreamCall(this, req, handler);
    handler.onRequestStart(call);
    if (call.settled) return;
    if (this.closing) return call.fail(upstreamError('UND_ERR_CLOSED', 'the pool is closed'));
    const now = performance.now();
    let conn: UpstreamConn | undefined;
    while ((conn = this.idle.pop()) !== undefined) {
      if (!conn.closed && now - conn.idleSince < conn.idleLimitMs) break;
      conn.socket.destroy();
    }
    if (conn === undefined) return this.fresh(call);
    conn.send(call);
  }

  /** Sends on a new connection. */
  fresh(call: UpstreamCall): void {
    const conn = new UpstreamConn(this);
    this.#all.add(conn);
    openConns.add(conn);
    sweeper ??= setInterval(sweep, 100).unref();
    conn.send(call);
    conn.setDeadline(this.connectTimeoutMs, 'UND_ERR_CONNECT_TIMEOUT');
  }

  forget(conn: UpstreamConn): void {
    openConns.delete(conn);
    this.#all.delete(conn);
    const i = this.idle.indexOf(conn);
    if (i !== -1) this.idle.splice(i, 1);
    if (this.closing && this.#all.size === 0) this.#closed?.();
  }

  /** Connections open (busy and idle). */
  get size(): number {
    return this.#all.size;
  }

  /** Closes idle connections now and busy ones as their requests finish. */
  close(): Promise<void> {
    this.closing = true;
    for (const c of this.idle.splice(0)) c.socket.destroy();
    if (this.#all.size === 0) return Promise.resolve();
    return new Promise((resolve) => { this.#closed = resolve; });
  }

  /** Closes everything now; requests in flight fail. */
  destroy(): Promise<void> {
    const done = this.close();
    for (const c of this.#all) c.socket.destroy();
    return done;
  }
}
