import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { request } from 'undici';
import { tempDir } from '../tmpdir.ts';

/** Polls an async condition every 20 ms until it holds; fails with `what` after `limitMs`. No fixed sleeps. */
export async function eventually(predicate: () => Promise<boolean> | boolean, what: string, limitMs = 15_000): Promise<void> {
  const start = Date.now();
  let last: unknown;
  for (;;) {
    try {
      if (await predicate()) return;
    } catch (e) {
      last = e;
    }
    if (Date.now() - start > limitMs) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A temp directory with a weir.yaml routing / between `stable` and `canary`, removed after the file's tests. */
export function configDir(_t: TestContext, stableUrl: string, canaryUrl: string): string {
  const dir = tempDir('weir-scale-');
  writeFileSync(join(dir, 'weir.yaml'), `control: { listen: 127.0.0.1:0 }\nservices:\n  shop:\n    match: { pathPrefix: / }\n    versions: { stable: ${stableUrl}, canary: ${canaryUrl} }\n`);
  return dir;
}

/** Calls a control API; returns status and parsed JSON. */
export async function api(base: string, token: string | null, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await request(base + path, {
    method: method as 'GET',
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: text ? JSON.parse(text) : undefined };
}

/** Which upstream answered a request through a proxy (the echo backend's name); null if it failed. */
export async function via(proxyUrl: string): Promise<string | null> {
  try {
    const r = await request(proxyUrl, { reset: true });
    if (r.statusCode !== 200) {
      await r.body.dump();
      return null;
    }
    return ((await r.body.json()) as { name: string }).name;
  } catch {
    return null;
  }
}
