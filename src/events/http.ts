import type { IncomingMessage, ServerResponse } from 'node:http';
import { gunzip, inflate } from 'node:zlib';
import { promisify } from 'node:util';
import { WeirError } from '../errors.ts';

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

/**
 * Reads a request body up to `maxBytes` (compressed) and inflates gzip/deflate up to `maxInflated`.
 * Throws WeirError PAYLOAD_TOO_LARGE or BAD_REQUEST.
 */
export async function readBody(req: IncomingMessage, maxBytes: number, maxInflated = maxBytes * 4): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    throw new WeirError('PAYLOAD_TOO_LARGE', `request body is ${declared} bytes; the limit is ${maxBytes}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      req.resume();
      throw new WeirError('PAYLOAD_TOO_LARGE', `request body exceeds ${maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  const raw = Buffer.concat(chunks);
  const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase().trim();
  try {
    if (encoding === 'gzip' || encoding === 'x-gzip') return await gunzipAsync(raw, { maxOutputLength: maxInflated });
    if (encoding === 'deflate') return await inflateAsync(raw, { maxOutputLength: maxInflated });
  } catch (cause) {
    const tooBig = (cause as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
    throw new WeirError(tooBig ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST', tooBig ? `inflated body exceeds ${maxInflated} bytes` : `cannot ${encoding}-decode the body`, { cause });
  }
  if (encoding !== 'identity' && encoding !== '') throw new WeirError('BAD_REQUEST', `unsupported content-encoding "${encoding}"; use gzip or none`);
  return raw;
}

/** Parses a JSON body, turning a syntax error into BAD_REQUEST. */
export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (cause) {
    throw new WeirError('BAD_REQUEST', `body is not valid JSON: ${(cause as Error).message}`, { cause });
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
