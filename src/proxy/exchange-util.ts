import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { WeirError, ERROR_STATUS } from '../errors.ts';
import type { ErrorCode } from '../errors.ts';
import { murmur3Bytes, utf8 } from '../util/murmur3.ts';
import { VIA, httpDate } from './headers.ts';

/** Helpers of the proxy's exchanges: error classification, Weir's own error answers, body metering. */

export const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
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

/** Where Weir's own answers are written (the proxy's ProxyResponse; node:http's ServerResponse fits too). */
export interface ErrorAnswerTarget {
  writeHead(status: number, headers: string[]): unknown;
  end(body: string): unknown;
}

/** Writes Weir's own JSON error answer. */
export function sendError(res: ErrorAnswerTarget, code: ErrorCode, message: string, requestId: string, status: number = ERROR_STATUS[code]): number {
  const body = JSON.stringify({ error: { code, message, requestId } });
  const headers = ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(body)), 'date', httpDate(), 'x-request-id', requestId, 'via', VIA];
  if (status === 503) headers.push('retry-after', '1');
  res.writeHead(status, headers);
  res.end(body);
  return status;
}

/** Counts request body bytes and enforces the request-body limit on bodies without a length. */
export class BodyMeter extends Transform {
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

export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

export function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}


/** A 64-bit hex digest of the sticky key (two seeded 32-bit hashes), so events never hold user ids by default. */
export function stickyHash(key: string): string {
  const bytes = utf8(key); // encoded once for both hashes
  return murmur3Bytes(bytes, 0x9747b28c).toString(16).padStart(8, '0') + murmur3Bytes(bytes, 0x5bd1e995).toString(16).padStart(8, '0');
}
