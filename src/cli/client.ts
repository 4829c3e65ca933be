import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { WeirError } from '../errors.ts';
import type { ErrorCode } from '../errors.ts';

/** How CLI commands reach a running control plane. */
export interface ApiTarget {
  url: string;
  token?: string;
}

/**
 * Finds the control API: `--url`/`WEIR_URL` (default http://127.0.0.1:8081) and the token from
 * `--token`, `WEIR_TOKEN`, `WEIR_ADMIN_TOKEN`, or `<dataDir>/admin-token` (dataDir from `WEIR_DATA_DIR`,
 * default `.weir`).
 */
export function resolveTarget(opts: { url?: string; token?: string; dataDir?: string }, env: Record<string, string | undefined>, cwd: string): ApiTarget {
  const url = (opts.url ?? env.WEIR_URL ?? 'http://127.0.0.1:8081').replace(/\/$/, '');
  let token = opts.token ?? env.WEIR_TOKEN ?? env.WEIR_ADMIN_TOKEN;
  if (!token) {
    try {
      token = readFileSync(join(cwd, opts.dataDir ?? env.WEIR_DATA_DIR ?? '.weir', 'admin-token'), 'utf8').trim();
    } catch {
      // No token file: the request goes without one and the API answers UNAUTHORIZED clearly.
    }
  }
  return { url, token };
}

/** Calls the control API and returns its JSON; an API error becomes a WeirError with the API's code. */
export async function apiCall<T = unknown>(target: ApiTarget, method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (target.token) headers.authorization = `Bearer ${target.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await request(target.url + path, { method: method as 'GET', headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (cause) {
    throw new WeirError('UPSTREAM_UNAVAILABLE', `cannot reach the Weir control API at ${target.url}: is \`weir up\` running? (${(cause as Error).message})`, { cause });
  }
  const text = await res.body.text();
  const json = text ? JSON.parse(text) : undefined;
  if (res.statusCode >= 400) {
    const e = json?.error;
    throw new WeirError((e?.code ?? 'INTERNAL') as ErrorCode, e?.message ?? `HTTP ${res.statusCode}`, { details: e?.details });
  }
  return json as T;
}
