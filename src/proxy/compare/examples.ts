import type { CompareResponse, Difference, RawHeaders } from './types.ts';
import { normalizeHeaders } from './headers.ts';

/** A request as the compare engine sees it. */
export interface CompareRequest {
  method: string;
  /** Path with query string, as sent upstream. */
  path: string;
  headers?: RawHeaders;
  body?: Uint8Array | string;
}

/** A stored request or response, small and redacted. */
export interface MessageSummary {
  headers: Record<string, string>;
  /** The body as UTF-8 text, cut to `maxExampleBodyBytes`. */
  body: string;
  /** The body's full length in bytes. */
  bodyBytes: number;
  truncated: boolean;
}

export interface RequestSummary extends MessageSummary {
  method: string;
  path: string;
}

export interface ResponseSummary extends MessageSummary {
  status: number;
}

/** Which message a redaction applies to. */
export type MessageRole = 'request' | 'primary' | 'secondary' | 'candidate';

/**
 * Redacts a stored message before it is kept as an example. Runs after the default redaction of
 * credential headers; return a new summary (or the same one).
 */
export type RedactFn = (message: MessageSummary, role: MessageRole) => MessageSummary;

/** One stored example of a field's difference: the request, the three responses and what differed. */
export interface CompareExample {
  request: RequestSummary;
  primary: ResponseSummary;
  secondary: ResponseSummary;
  candidate: ResponseSummary;
  /** The candidate-vs-primary differences of this field in this request. */
  differences: Difference[];
}

/** Header values replaced by `[redacted]` in every stored example. */
export const REDACTED_HEADERS: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'x-auth-token',
  'x-csrf-token',
];

function summarize(headers: RawHeaders | undefined, body: Uint8Array | string | undefined, max: number): MessageSummary {
  const h: Record<string, string> = {};
  if (headers !== undefined) {
    for (const [k, v] of normalizeHeaders(headers)) h[k] = REDACTED_HEADERS.includes(k) ? '[redacted]' : v;
  }
  const bytes = body === undefined ? Buffer.alloc(0) : typeof body === 'string' ? Buffer.from(body) : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const truncated = bytes.length > max;
  return { headers: h, body: bytes.toString('utf8', 0, Math.min(bytes.length, max)), bodyBytes: bytes.length, truncated };
}

/**
 * The stored form of one request's exchange, redacted.
 * @example
 * summarizeExchange(request, primary, secondary, candidate, 4096, (m) => ({ ...m, body: m.body.replace(/"ssn":"[^"]*"/g, '"ssn":"***"') }))
 */
export function summarizeExchange(
  request: CompareRequest,
  primary: CompareResponse,
  secondary: CompareResponse,
  candidate: CompareResponse,
  maxBodyBytes: number,
  redact?: RedactFn,
): Omit<CompareExample, 'differences'> {
  const r = (m: MessageSummary, role: MessageRole): MessageSummary => (redact ? redact(m, role) : m);
  const res = (x: CompareResponse, role: MessageRole): ResponseSummary => ({ status: x.status, ...r(summarize(x.headers, x.body, maxBodyBytes), role) });
  return {
    request: { method: request.method.toUpperCase(), path: request.path, ...r(summarize(request.headers, request.body, maxBodyBytes), 'request') },
    primary: res(primary, 'primary'),
    secondary: res(secondary, 'secondary'),
    candidate: res(candidate, 'candidate'),
  };
}
