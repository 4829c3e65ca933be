import type { IncomingMessage, ServerResponse } from 'node:http';
import { WeirError } from '../errors.ts';

/** Reads a JSON request body up to `limit` bytes; bad JSON, an empty or an oversize body is a WeirError. */
export async function readJson(req: IncomingMessage, limit = 1024 * 1024): Promise<unknown> {
  const raw = await readBody(req, limit);
  if (raw.length === 0) throw new WeirError('BAD_REQUEST', 'a JSON body is required');
  return parseJson(raw);
}

/** Parses a JSON body, turning a syntax error into BAD_REQUEST. */
export function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (cause) {
    throw new WeirError('BAD_REQUEST', `the body is not valid JSON: ${(cause as Error).message}`, { cause });
  }
}

/**
 * Reads a whole request body up to `limit` bytes (PAYLOAD_TOO_LARGE above it, told by a declared
 * Content-Length before reading). The API's one body reader: the control, events, rollout and OFREP
 * routes all use it.
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw new WeirError('PAYLOAD_TOO_LARGE', `the body is ${declared} bytes; the limit is ${limit}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      throw new WeirError('PAYLOAD_TOO_LARGE', `the body is larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Sends a JSON answer. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}
