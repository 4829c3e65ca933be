import type { IncomingMessage } from 'node:http';
import { gunzip, inflate } from 'node:zlib';
import { promisify } from 'node:util';
import { WeirError } from '../errors.ts';
import { readBody as readRawBody } from '../control/http.ts';

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

/**
 * Reads a request body up to `maxBytes` (compressed) and inflates gzip/deflate up to `maxInflated`.
 * Throws WeirError PAYLOAD_TOO_LARGE or BAD_REQUEST.
 */
export async function readBody(req: IncomingMessage, maxBytes: number, maxInflated = maxBytes * 4): Promise<Buffer> {
  const raw = await readRawBody(req, maxBytes);
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

export { parseJson, sendJson } from '../control/http.ts';
