import type { IncomingMessage, ServerResponse } from 'node:http';
import { WeirError } from '../errors.ts';

/** Reads a JSON request body up to `limit` bytes; bad JSON or an oversize body is a WeirError. */
export async function readJson(req: IncomingMessage, limit = 1024 * 1024): Promise<unknown> {
  const raw = await readBody(req, limit);
  if (raw.length === 0) throw new WeirError('BAD_REQUEST', 'a JSON body is required');
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (cause) {
    throw new WeirError('BAD_REQUEST', `the body is not valid JSON: ${(cause as Error).message}`, { cause });
  }
}

/** Reads a whole request body up to `limit` bytes. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new WeirError('PAYLOAD_TOO_LARGE', `the body is larger than ${limit} bytes`);
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
