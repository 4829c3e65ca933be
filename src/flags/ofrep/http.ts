/** The small HTTP pieces the OFREP routes need: bounded JSON bodies, JSON replies, ETag matching, tokens. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';

export type BodyResult = { ok: true; value: unknown } | { ok: false; status: number; details: string };

/** Reads a JSON body of at most `limit` bytes. An empty body is `undefined`. */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return { ok: false, status: 413, details: `request body is larger than ${limit} bytes` };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      return { ok: false, status: 413, details: `request body is larger than ${limit} bytes` };
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, status: 400, details: `request body is not valid JSON: ${(err as Error).message}` };
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/** A strong ETag for a response body. */
export function etagOf(text: string): string {
  return `"${createHash('sha256').update(text).digest('base64url').slice(0, 22)}"`;
}

/** RFC 9110 If-None-Match: `*`, a list, weak or strong validators (weak comparison). */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === bare);
}

/**
 * The caller's token for the OFREP routes: `Authorization: Bearer <token>`, or `X-API-Key: <token>`
 * (the spec's ApiKeyAuth scheme). The control server can use this instead of reading only Authorization.
 *
 * @example
 *   const token = ofrepToken(req); // 'abc' for "Authorization: Bearer abc" or "X-API-Key: abc"
 */
export function ofrepToken(req: Pick<IncomingMessage, 'headers'>): string | null {
  const auth = req.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1];
  }
  const key = req.headers['x-api-key'];
  const v = Array.isArray(key) ? key[0] : key;
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : null;
}
