import { createRequire } from 'node:module';
import type { Socket } from 'node:net';

/*
 * Node's llhttp binding, as node:http itself drives it, shared by the proxy's server (http1.ts) and
 * its upstream client (upstream-client.ts): making and freeing parsers, and letting a parser read a
 * socket's handle directly in C++ (`consume`), with pausing and resuming that handle.
 */

/** One llhttp parser (Node's `HTTPParser`); callbacks are set by index (`HTTPParser.kOn…`). */
export interface Llhttp {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | ParseError;
  finish(): undefined | ParseError;
  /** Reads the socket's handle directly in C++ (no JS 'data' events); results come to kOnExecute. */
  consume(handle: object): void;
  unconsume(): void;
  /** The chunk being parsed (consumed mode), e.g. to find the bytes after an upgrade's head. */
  getCurrentBuffer(): Buffer;
  /** Frees the C++ parser (it is not garbage-collected otherwise). */
  close(): void;
  [k: number]: unknown;
}

export interface ParseError extends Error { code: string; reason?: string }

interface LlhttpClass {
  new(): Llhttp;
  REQUEST: number;
  RESPONSE: number;
  kOnMessageBegin: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
  kOnExecute: number;
}

/** Node's llhttp binding and its method names (indexed by the parser's method number). */
export const { HTTPParser, methods } = createRequire(import.meta.url)('_http_common') as { HTTPParser: LlhttpClass; methods: string[] };

/** The parts of a libuv stream handle (TCPWrap) the proxy touches. */
export interface StreamHandle {
  isStreamBase?: boolean;
  _consumed?: boolean;
  reading: boolean;
  readStart(): number;
  readStop(): number;
}

let liveParsers = 0;

/** llhttp parsers made by `newParser` and not yet freed (for leak tests). */
export function parsersInUse(): number {
  return liveParsers;
}

/** A parser callback; `this` is the parser. */
type ParserCallback = (this: never, ...args: never[]) => unknown;

/**
 * What llhttp calls into JavaScript, each optional (every call from C++ costs about a microsecond, so
 * leave out what a side does not need). Pass one object per side, made once, not one per connection.
 */
export interface ParserCallbacks {
  onMessageBegin?: ParserCallback;
  onHeaders?: ParserCallback;
  onHeadersComplete?: ParserCallback;
  onBody?: ParserCallback;
  onMessageComplete?: ParserCallback;
  onExecute?: ParserCallback;
}

/** A parser for one connection at Node's strict defaults; `freeParser` must be called when the connection is done. */
export function newParser(type: number, maxHeaderSize: number, cb: ParserCallbacks): Llhttp {
  const p = new HTTPParser();
  p.initialize(type, {}, maxHeaderSize, 0);
  if (cb.onMessageBegin) p[HTTPParser.kOnMessageBegin] = cb.onMessageBegin;
  if (cb.onHeaders) p[HTTPParser.kOnHeaders] = cb.onHeaders;
  if (cb.onHeadersComplete) p[HTTPParser.kOnHeadersComplete] = cb.onHeadersComplete;
  if (cb.onBody) p[HTTPParser.kOnBody] = cb.onBody;
  if (cb.onMessageComplete) p[HTTPParser.kOnMessageComplete] = cb.onMessageComplete;
  if (cb.onExecute) p[HTTPParser.kOnExecute] = cb.onExecute;
  liveParsers++;
  return p;
}

function closeParser(p: Llhttp): void {
  p.close();
  liveParsers--;
}

/** Frees a parser once the stack that may be inside it has unwound (it is not garbage-collected). */
export function freeParser(p: Llhttp): void {
  setImmediate(closeParser, p);
}

/**
 * As node:http's server does: lets `parser` read the socket's handle in C++, so a read costs no
 * Buffer, stream push or 'data' event in JS; results come to the parser's kOnExecute. Returns the
 * handle, or null when the socket has no stream handle to consume (then feed `execute` from 'data').
 * Keep a 'data' listener either way, so that 'end' is still delivered.
 */
export function consumeSocket(parser: Llhttp, socket: Socket): StreamHandle | null {
  const handle = (socket as unknown as { _handle?: StreamHandle })._handle;
  if (handle?.isStreamBase !== true || handle._consumed === true) return null;
  handle._consumed = true;
  parser.consume(handle);
  return handle;
}

/** Gives a consumed handle back to JS reads. */
export function unconsumeSocket(parser: Llhttp, handle: StreamHandle): void {
  parser.unconsume();
  handle._consumed = false;
}

/** Stops or starts reading: on the handle when a parser consumes it (socket.pause would not stop it), else on the socket. */
export function setReading(socket: Socket, handle: StreamHandle | null, on: boolean): void {
  if (handle === null) {
    if (on) socket.resume();
    else socket.pause();
  } else if (handle.reading !== on) {
    handle.reading = on;
    if (on) handle.readStart();
    else handle.readStop();
  }
}
