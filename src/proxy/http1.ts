import { createServer as createNetServer } from 'node:net';
import type { Server as NetServer, Socket } from 'node:net';
import { Readable } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { HTTPParser, consumeSocket, freeParser, methods, newParser, setReading, unconsumeSocket } from './llhttp.ts';
import type { Llhttp, ParseError, ParserCallbacks, StreamHandle } from './llhttp.ts';
import { httpDate } from './headers.ts';
import { sendError } from './exchange-util.ts';

/*
 * The proxy's HTTP/1.1 server: net sockets driven by Node's own llhttp parser.
 *
 * Why not node:http: a proxy needs the request line, the raw headers and a way to write bytes back.
 * node:http builds an IncomingMessage (a Readable), a ServerResponse (an OutgoingMessage with its own
 * header bookkeeping) and their event listeners for every request, which measured as the largest
 * single cost on the proxy's path (a prototype of this file took a node:http + undici proxy from
 * 1.0× to 1.7× the requests per second). Parsing stays with llhttp, the parser node:http uses, with
 * the same strict defaults (no lenient flags), so request smuggling defences are Node's: conflicting
 * Content-Length and Transfer-Encoding, bad chunk sizes and obsolete line folding are refused by it.
 * What this file adds is the part node:http does around the parser: response framing
 * (Content-Length, chunked, or close-delimited), keep-alive, pipelined requests answered in order,
 * request bodies as streams with backpressure, upgrades, and the headers and idle timeouts.
 */

/** The server's parser: llhttp with this file's per-connection fields. */
type ServerParser = Llhttp & {
  [kConnOf]?: Connection;
  [kHeaderParts]?: string[];
  [kUrlPart]?: string;
};

const kConnOf = Symbol('weir.connection');
const kHeaderParts = Symbol('weir.headerParts');
const kUrlPart = Symbol('weir.urlPart');
const EMPTY = Buffer.alloc(0);
/** Bytes of a request body held for a request nobody reads yet (a pipelined one) before reading pauses. */
const PENDING_LIMIT = 64 * 1024;
/** Bodies up to this size leave in one buffer with their head (copying more costs more than a writev). */
const COMBINE_LIMIT = 16 * 1024;

export interface Http1Options {
  /** Largest request head; above it the client gets 431. */
  maxHeaderBytes: number;
  /** A request's head must arrive within this (slow-loris defence). */
  headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** Each request, with its response to write. */
  onRequest(req: ProxyRequest, res: ProxyResponse): void;
  /** `onRequest` threw (a bug): report it; the server then answers 500 (or closes) unless the response's owner did. */
  onRequestError?(err: unknown, req: ProxyRequest): void;
  /** An upgrade (WebSocket) request: the socket is the caller's from here on; `head` is what followed the request head. */
  onUpgrade(req: ProxyRequest, socket: Socket, head: Buffer): void;
}

/**
 * The request as the proxy sees it: request line, raw headers (name, value, name, value…) and, when
 * it has one, the body as a stream.
 */
export class ProxyRequest {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: string[];
  /** `1.0` or `1.1`. */
  readonly httpVersion: string;
  /** The client wants the connection kept open after this exchange (llhttp's reading of version and Connection). */
  readonly keepAlive: boolean;
  readonly upgrade: boolean;
  readonly remoteAddress: string;
  readonly res: ProxyResponse;
  /** The whole body has been received. */
  complete = false;
  readonly #conn: Connection;
  #stream: Readable | null = null;
  #pending: Buffer[] | null = null;
  #pendingBytes = 0;
  #dumped = false;
  #headers: Record<string, string> | undefined;

  constructor(conn: Connection, method: string, url: string, rawHeaders: string[], httpVersion: string, keepAlive: boolean, upgrade: boolean) {
    this.#conn = conn;
    this.method = method;
    this.url = url;
    this.rawHeaders = rawHeaders;
    this.httpVersion = httpVersion;
    this.keepAlive = keepAlive;
    this.upgrade = upgrade;
    this.remoteAddress = conn.remoteAddress;
    this.res = new ProxyResponse(conn, this);
  }

  /** Lower-case header map (first value wins), built on first use: only rare paths need it. */
  get headers(): Record<string, string> {
    if (this.#headers === undefined) {
      const h: Record<string, string> = {};
      for (let i = 0; i < this.rawHeaders.length; i += 2) h[this.rawHeaders[i].toLowerCase()] ??= this.rawHeaders[i + 1];
      this.#headers = h;
    }
    return this.#headers;
  }

  /** The body as a stream (created on first call; reading it is what lets the client send more). */
  body(): Readable {
    if (this.#stream !== null) return this.#stream;
    const conn = this.#conn;
    const stream = new Readable({ read: () => conn.resumeReading() });
    this.#stream = stream;
    if (this.#pending !== null) {
      for (const b of this.#pending) stream.push(b);
      this.#pending = null;
    }
    if (this.complete) stream.push(null);
    else if (conn.closed) stream.destroy();
    return stream;
  }

  /** Reads and drops the rest of the body (the answer did not need it); the connection stays usable. */
  discard(): void {
    if (this.#dumped) return;
    this.#dumped = true;
    this.#pending = null;
    if (this.#stream !== null && !this.#stream.destroyed) this.#stream.resume();
    this.#conn.resumeReading();
  }

  /** @internal a piece of body from the parser. */
  onBody(chunk: Buffer): void {
    if (this.#dumped) return;
    if (this.#stream !== null) {
      if (!this.#stream.push(chunk)) this.#conn.pauseReading();
      return;
    }
    (this.#pending ??= []).push(chunk);
    this.#pendingBytes += chunk.length;
    if (this.#pendingBytes > PENDING_LIMIT) this.#conn.pauseReading();
  }

  /** @internal the parser reached the end of the message. */
  onComplete(): void {
    this.complete = true;
    if (this.#stream !== null && !this.#dumped) this.#stream.push(null);
  }

  /** @internal the connection closed before the body was complete. */
  onAbort(): void {
    const stream = this.#stream;
    if (this.complete || stream === null) return;
    // As IncomingMessage does: the error only for someone listening (a pipe source has no listener;
    // the exchange hears of the close anyway).
    stream.destroy(stream.listenerCount('error') > 0 ? aborted() : undefined);
  }
}

function aborted(): Error {
  return Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
}

/** The exchange that owns a response hears about the client going away through this. */
export interface ResponseOwner {
  onClientClose(): void;
  /** Weir's own code threw while handling the request (already reported): answer 500 or close, and record it. */
  onInternalError(): void;
}

/**
 * The response to one request. Head and first body bytes leave in one write (the socket is corked
 * for the rest of the tick); the framing is chosen here: the upstream's Content-Length when it gave
 * one, chunked for HTTP/1.1 otherwise, close-delimited for HTTP/1.0.
 */
export class ProxyResponse {
  headersSent = false;
  finished = false;
  destroyed = false;
  /** Told when the client closes the connection before this response finished. */
  owner: ResponseOwner | null = null;
  readonly #conn: Connection;
  readonly #req: ProxyRequest;
  #head: string | null = null;
  #chunked = false;
  #noBody = false;
  #close = false;
  #corked = false;
  #onDrain: (() => void) | null = null;

  constructor(conn: Connection, req: ProxyRequest) {
    this.#conn = conn;
    this.#req = req;
  }

  /** Sets status and headers (flat name, value list). They are sent with the first body bytes or at `end`. */
  writeHead(status: number, headers: readonly string[], statusMessage?: string): void {
    if (this.headersSent) throw new Error('headers already sent');
    this.headersSent = true;
    const req = this.#req;
    let close = !req.keepAlive || this.#conn.server.draining;
    let hasLength = false;
    let head = `HTTP/1.1 ${status} ${statusMessage ?? STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i];
      if (name.length === 14 && name.toLowerCase() === 'content-length') hasLength = true;
      else if (name.length === 10 && name.toLowerCase() === 'connection') {
        if (headers[i + 1].toLowerCase().includes('close')) close = true;
        continue; // written once, below
      }
      head += `${name}: ${headers[i + 1]}\r\n`;
    }
    this.#noBody = req.method === 'HEAD' || status === 204 || status === 304 || status < 200;
    if (!this.#noBody && !hasLength) {
      if (req.httpVersion === '1.1') {
        this.#chunked = true;
        head += 'transfer-encoding: chunked\r\n';
      } else close = true; // an HTTP/1.0 body without a length ends when the connection does
    }
    this.#close = close;
    if (close) head += 'connection: close\r\n';
    else if (req.httpVersion === '1.0') head += 'connection: keep-alive\r\n';
    this.#head = `${head}\r\n`;
  }

  /**
   * Takes back a head not yet written, so another answer (Weir's own error) can take its place: an
   * upstream that fails between its head and its first body bytes still gets the client a 502, not a
   * connection closed on nothing. False once the head is on the wire.
   */
  retract(): boolean {
    if (!this.headersSent || this.#head === null || this.finished || this.destroyed) return false;
    this.headersSent = false;
    this.#head = null;
    this.#chunked = false;
    this.#noBody = false;
    this.#close = false;
    return true;
  }

  /** Sends `100 Continue` (for a request that asked with `expect: 100-continue`). */
  writeContinue(): void {
    if (!this.headersSent && !this.#conn.closed) this.#conn.socket.write('HTTP/1.1 100 Continue\r\n\r\n');
  }

  /** Writes body bytes; false means the socket's buffer is full: wait for `onDrain`. */
  write(chunk: Buffer | string): boolean {
    const socket = this.#conn.socket;
    if (this.finished || this.destroyed || !socket.writable) return false;
    const head = this.#head;
    if (head !== null && !this.#chunked && !this.#noBody && typeof chunk !== 'string' && chunk.length <= COMBINE_LIMIT) {
      // The usual answer: head and body (or its first part) in one buffer and one write, with no
      // cork, tick or writev. The head is latin1 (one byte per character), as written below.
      this.#head = null;
      const buf = Buffer.allocUnsafe(head.length + chunk.length);
      buf.write(head, 0, 'latin1');
      chunk.copy(buf, head.length);
      return socket.write(buf);
    }
    if (!this.#corked) {
      this.#corked = true;
      socket.cork();
      process.nextTick(uncork, socket);
    }
    if (this.#head !== null) {
      socket.write(this.#head, 'latin1');
      this.#head = null;
    }
    if (this.#noBody) return true;
    const len = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    if (len === 0) return true;
    if (this.#chunked) {
      socket.write(`${len.toString(16)}\r\n`, 'latin1');
      socket.write(chunk);
      return socket.write('\r\n', 'latin1');
    }
    return socket.write(chunk);
  }

  /** Calls `fn` once when the socket can take more after `write` returned false. */
  onDrain(fn: () => void): void {
    this.#onDrain = fn;
  }

  /** @internal the socket drained. */
  drained(): void {
    const fn = this.#onDrain;
    this.#onDrain = null;
    fn?.();
  }

  /** Finishes the response (writing `body` first when given). */
  end(body?: Buffer | string): void {
    if (this.finished || this.destroyed) return;
    if (!this.headersSent) this.writeHead(200, []);
    if (body !== undefined) this.write(body);
    const socket = this.#conn.socket;
    this.finished = true;
    if (!socket.writable) return this.#conn.responseDone(this.#req, true);
    if (this.#head !== null) {
      socket.write(this.#head, 'latin1');
      this.#head = null;
    }
    if (this.#chunked) socket.write('0\r\n\r\n', 'latin1');
    this.#conn.responseDone(this.#req, this.#close);
  }

  /** Abandons the response and its connection (the only honest signal once the status is on the wire). */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.#conn.socket.destroy();
  }
}

function uncork(socket: Socket): void {
  socket.uncork();
}

/** One client connection: its parser, the request being answered and any pipelined behind it. */
class Connection {
  readonly socket: Socket;
  readonly server: Http1Server;
  readonly parser: ServerParser;
  readonly remoteAddress: string;
  /** The request whose body the parser is reading. */
  parsing: ProxyRequest | null = null;
  /** The request being answered. */
  active: ProxyRequest | null = null;
  queue: ProxyRequest[] = [];
  upgradeReq: ProxyRequest | null = null;
  /** performance.now() when the current request head began (as far as afterExecute can tell), 0 when not inside a head. */
  headStart = 0;
  /** Request heads completed on this connection, and as of the previous afterExecute. */
  heads = 0;
  headsBefore = 0;
  /** performance.now() when the connection last became idle, 0 while busy. */
  idleSince: number;
  closed = false;
  /** An answer said `connection: close`: nothing after it is answered. */
  ending = false;
  paused = false;
  /** The socket's libuv handle, when llhttp reads it directly (the usual case for TCP). */
  readonly handle: StreamHandle | null;

  constructor(server: Http1Server, socket: Socket) {
    this.server = server;
    this.socket = socket;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.idleSince = performance.now();
    const p: ServerParser = newParser(HTTPParser.REQUEST, server.options.maxHeaderBytes, SERVER_CALLBACKS);
    p[kConnOf] = this;
    this.parser = p;
    this.handle = consumeSocket(p, socket);
  }

  /** What a parse of the next bytes gave: an error, or how much it used (the rest may follow an upgrade's head). */
  afterExecute(ret: number | ParseError, data: Buffer | undefined): void {
    if (typeof ret !== 'number') return this.parseError(ret);
    // Bytes that did not complete a head, on a connection with nothing else going on: a head has
    // begun, and the head timeout (slow-loris defence) runs from here.
    if (this.heads === this.headsBefore) {
      if (ret > 0 && this.headStart === 0 && this.active === null && this.parsing === null) this.headStart = performance.now();
    } else this.headsBefore = this.heads;
    const up = this.upgradeReq;
    if (up === null) return;
    this.upgradeReq = null;
    if (this.active !== null || up.method === 'CONNECT') {
      // Not one to hand over: a CONNECT (this is not a forward proxy), or an upgrade pipelined behind
      // a request still being answered. llhttp parses nothing after an upgrade's head, so reading
      // stops; the answers in progress and queued finish in order, then this one gets 400 and the
      // connection closes (responseDone). Taking the socket now would strand those answers.
      this.pauseReading();
      this.rejectUpgrade = true;
      if (this.active === null) this.endRejected();
      return;
    }
    const socket = this.socket;
    const d = data ?? this.parser.getCurrentBuffer();
    socket.removeListener('data', onData);
    socket.removeListener('end', onEnd);
    socket.removeListener('drain', onDrain);
    socket.pause(); // bytes that arrive before the upgrade's handler pipes the socket wait in its buffer
    this.release();
    this.server.connections.delete(this);
    this.closed = true; // for this server; the socket belongs to the upgrade now
    try {
      this.server.options.onUpgrade(up, socket, ret < d.length ? d.subarray(ret) : EMPTY);
    } catch (err) {
      this.server.options.onRequestError?.(err, up);
      socket.destroy();
    }
  }

  /** Gives the socket back to JS reads and frees the parser (once its stack has unwound). */
  release(): void {
    if (this.released) return;
    this.released = true;
    if (this.handle !== null) unconsumeSocket(this.parser, this.handle);
    freeParser(this.parser);
  }

  released = false;

  start(req: ProxyRequest): void {
    this.active = req;
    this.idleSince = 0;
    try {
      this.server.options.onRequest(req, req.res);
    } catch (err) {
      this.requestThrew(req, err);
    }
  }

  /**
   * Handling a request threw (a bug): contained here rather than ending the process with every other
   * request in it. The response's owner answers if there is one; else a 500, or a closed connection
   * when the status is already on the wire.
   */
  requestThrew(req: ProxyRequest, err: unknown): void {
    const res = req.res;
    try {
      this.server.options.onRequestError?.(err, req);
      if (res.owner !== null) res.owner.onInternalError();
      else if (!res.headersSent && !res.destroyed) sendError(res, 'INTERNAL', 'internal error in the proxy', req.headers['x-request-id'] ?? '');
      else if (!res.finished) res.destroy();
    } catch {
      this.socket.destroy(); // containing it failed too: close this connection, keep the process
    }
  }

  responseDone(req: ProxyRequest, close: boolean): void {
    if (this.active !== req) return;
    this.active = null;
    if (!req.complete) req.discard();
    if (close || this.closed) {
      this.ending = true;
      this.queue.length = 0;
      if (!this.closed && this.socket.writable) this.socket.end();
      return;
    }
    const next = this.queue.shift();
    if (next !== undefined) return this.start(next);
    if (this.rejectUpgrade) return this.endRejected();
    this.idleSince = performance.now();
    if (this.server.draining) this.socket.end();
  }

  /** An upgrade or CONNECT this server refuses: it gets 400 once the answers before it are out. */
  rejectUpgrade = false;

  endRejected(): void {
    this.ending = true;
    if (!this.closed && this.socket.writable) this.socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  }

  pauseReading(): void {
    if (this.paused || this.closed) return;
    this.paused = true;
    setReading(this.socket, this.handle, false);
  }

  resumeReading(): void {
    if (!this.paused || this.closed) return;
    this.paused = false;
    setReading(this.socket, this.handle, true);
  }

  /** A request llhttp refused: answer it when nothing else is on the wire, then close. */
  parseError(err: ParseError): void {
    const active = this.active;
    if (err.code === 'HPE_CLOSED_CONNECTION') return; // bytes after `connection: close`: ignored, we close after the answer
    if (active !== null && active.res.headersSent) return void this.socket.destroy();
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
    const code = tooLarge ? 'HEADERS_TOO_LARGE' : 'BAD_REQUEST';
    const body = JSON.stringify({ error: { code, message: tooLarge ? 'request headers are too large' : `malformed HTTP request (${err.code})` } });
    if (active !== null) active.res.destroyed = true; // its exchange hears of the close
    this.queue.length = 0;
    this.socket.end(`HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\ndate: ${httpDate()}\r\nconnection: close\r\n\r\n${body}`);
    this.socket.destroySoon();
  }

  onClose(): void {
    if (this.released) return; // upgraded: no longer ours
    this.closed = true;
    this.release();
    this.server.connections.delete(this);
    this.parsing?.onAbort();
    const active = this.active;
    this.active = null;
    if (active !== null) {
      active.onAbort();
      try {
        if (!active.res.finished) active.res.owner?.onClientClose();
      } catch (err) {
        this.requestThrew(active, err);
      }
    }
    this.queue.length = 0;
  }
}

// Parser callbacks: shared functions, `this` is the parser (no closures per connection). There is
// no kOnMessageBegin: every call from llhttp into JS costs about a microsecond, and the head
// timeout is armed from afterExecute instead.

/** Heads with many headers arrive in parts before onHeadersComplete. */
function onHeaders(this: ServerParser, headers: string[], url: string): void {
  const parts = (this[kHeaderParts] ??= []);
  for (let i = 0; i < headers.length; i++) parts.push(headers[i]);
  this[kUrlPart] = (this[kUrlPart] ?? '') + url;
}

function onHeadersComplete(this: ServerParser, major: number, minor: number, headers: string[] | undefined, method: number, url: string | undefined,
  _status: unknown, _message: unknown, upgrade: boolean, keepAlive: boolean): number {
  const conn = this[kConnOf]!;
  conn.headStart = 0;
  conn.heads++;
  if (conn.ending || conn.closed) return 0; // after `connection: close` nothing more is answered
  if (headers === undefined) {
    headers = this[kHeaderParts] ?? [];
    this[kHeaderParts] = undefined;
  }
  if (url === undefined) {
    url = this[kUrlPart] ?? '';
    this[kUrlPart] = undefined;
  }
  const req = new ProxyRequest(conn, methods[method], url, headers, major === 1 && minor === 0 ? '1.0' : '1.1', keepAlive, upgrade);
  conn.parsing = req;
  if (upgrade) conn.upgradeReq = req;
  else if (conn.active === null) conn.start(req);
  else conn.queue.push(req);
  return 0;
}

function onBody(this: ServerParser, chunk: Buffer): void {
  this[kConnOf]!.parsing?.onBody(chunk);
}

function onMessageComplete(this: ServerParser): void {
  const conn = this[kConnOf]!;
  const req = conn.parsing;
  conn.parsing = null;
  req?.onComplete();
}

const SERVER_CALLBACKS: ParserCallbacks = { onHeaders, onHeadersComplete, onBody, onMessageComplete, onExecute };

const kConn = Symbol('weir.conn');
type ProxySocket = Socket & { [kConn]?: Connection };

function onData(this: ProxySocket, data: Buffer): void {
  const conn = this[kConn]!;
  conn.afterExecute(conn.parser.execute(data), data);
}

function onExecute(this: ServerParser, ret: number | ParseError): void {
  this[kConnOf]!.afterExecute(ret, undefined);
}

function onEnd(this: ProxySocket): void {
  const conn = this[kConn]!;
  const err = conn.parser.finish();
  if (err !== undefined) return conn.parseError(err);
  // As node:http does: a client that half-closes has gone away; an answer in progress is abandoned
  // (its exchange hears of it on 'close' and aborts the upstream request).
  this.end();
}

function onDrain(this: ProxySocket): void {
  this[kConn]?.active?.res.drained();
}

function onClose(this: ProxySocket): void {
  this[kConn]?.onClose();
}

function onError(this: ProxySocket): void {
  this.destroy();
}

/**
 * An HTTP/1.1 server for the proxy: listen like a net.Server; every request goes to `onRequest`.
 * `draining` makes answers carry `connection: close` and idle connections close.
 */
export class Http1Server {
  readonly server: NetServer;
  readonly options: Http1Options;
  readonly connections = new Set<Connection>();
  draining = false;
  #sweep: NodeJS.Timeout | undefined;

  constructor(options: Http1Options) {
    this.options = options;
    this.server = createNetServer({ allowHalfOpen: true, noDelay: true }, (socket: ProxySocket) => {
      const conn = new Connection(this, socket);
      socket[kConn] = conn;
      this.connections.add(conn);
      socket.on('data', onData);
      socket.on('end', onEnd);
      socket.on('drain', onDrain);
      socket.on('close', onClose);
      socket.on('error', onError);
    });
    this.server.on('listening', () => {
      this.#sweep = setInterval(() => this.sweep(performance.now()), 1000).unref();
    });
    this.server.on('close', () => clearInterval(this.#sweep));
  }

  /** Closes connections whose head is overdue (408) or that sat idle past the keep-alive timeout. */
  sweep(now: number): void {
    const { headersTimeoutMs, keepAliveTimeoutMs } = this.options;
    for (const c of this.connections) {
      if (c.headStart > 0 && now - c.headStart > headersTimeoutMs) {
        if (c.active === null) c.socket.end(`HTTP/1.1 408 Request Timeout\r\ndate: ${httpDate()}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
        c.socket.destroySoon();
      } else if (c.idleSince > 0 && c.headStart === 0 && now - c.idleSince > keepAliveTimeoutMs) {
        c.socket.destroy();
      }
    }
  }

  /** Closes every connection that is not answering a request. */
  closeIdle(): void {
    for (const c of this.connections) if (c.active === null && c.parsing === null) c.socket.destroy();
  }

  closeAll(): void {
    for (const c of this.connections) c.socket.destroy();
  }
}
