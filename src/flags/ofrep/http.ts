/** The small HTTP pieces the OFREP routes need: bounded JSON bodies, JSON replies, ETag matching, tokens. */
import type { IncomingMessage } from 'node:http';
import { createHash } from 'node:crypto';
import { WeirError } from '../../errors.ts';
import { readBody } from '../../control/http.ts';

export type BodyResult = { ok: true; value: unknown } | { ok: false; status: number; details: string };

/** Reads a JSON body of at most `limit` bytes (the API's reader, src/control/http.ts). An empty body is `undefined`. */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  let raw: Buffer;
  try {
    raw = await readBody(req, limit);
  } catch (err) {
    if (err instanceof WeirError) return { ok: false, status: err.status, details: err.message };
    throw err;
  }
  const text = raw.toString('utf8');
  if (text.trim() === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, status: 400, details: `request body is not valid JSON: ${(err as Error).message}` };
  }
}

export { sendJson } from '../../control/http.ts';

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
