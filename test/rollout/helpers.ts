import type { TestContext } from 'node:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request, Pool } from 'undici';
import { startShop } from '../../examples/shop/server.ts';
import type { ShopOptions } from '../../examples/shop/server.ts';
import { startWeir } from '../../src/runtime/up.ts';
import type { Weir } from '../../src/runtime/up.ts';
import { createRandom } from '../../src/stats/index.ts';

/** Waits for an async condition, polling; no fixed sleeps. */
export async function waitFor<T>(fn: () => Promise<T | undefined | false>, what: string, limitMs = 30_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - start > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface Stack {
  weir: Weir;
  dir: string;
  /** The fake clock: the controller's and the proxy's time. */
  clock: { t: number };
  api<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T }>;
  /** Sends n requests through the proxy, in parallel batches; returns the status counts per version. */
  traffic(n: number, opts?: { path?: string; headers?: Record<string, string> }): Promise<Record<string, number>>;
}

/** weir up in-process (port 0, fake clock, fast ticks) in front of two shop versions. */
export async function startStack(t: TestContext, o: { canary?: Partial<ShopOptions>; rollout: string; extra?: string }): Promise<Stack> {
  process.env.WEIR_ROLLOUT_TICK_MS ??= '25';
  const rng = createRandom(99);
  const stable = await startShop({ version: 'v1', random: () => rng.uniform() });
  const canary = await startShop({ version: 'v2', random: () => rng.uniform(), ...o.canary });
  t.after(() => { for (const s of [stable, canary]) { s.server.close(); s.server.closeAllConnections(); } });
  const dir = mkdtempSync(join(tmpdir(), 'weir-rollout-'));
  writeFileSync(join(dir, 'weir.yaml'), `proxy:\n  listen: 127.0.0.1:0\ncontrol:\n  listen: 127.0.0.1:0\ndataDir: .weir\nevents:\n  accessLog: false\nservices:\n  shop:\n    match: { pathPrefix: / }\n    versions:\n      stable: ${stable.url}\n      canary: ${canary.url}\n    testTraffic:\n      tokens: ["test-token-123"]\n${o.extra ?? ''}    rollout:\n${o.rollout.replace(/^/gm, '      ')}\n`);
  const clock = { t: Date.now() };
  const weir = await startWeir({ configPath: join(dir, 'weir.yaml'), env: {}, cwd: dir, now: () => clock.t });
  const pool = new Pool(`http://127.0.0.1:${weir.proxyAddress.port}`, { connections: 16 });
  t.after(async () => { await pool.close(); await weir.close(500); });
  const base = `http://127.0.0.1:${weir.controlAddress.port}`;
  let seq = 0;
  return {
    weir, dir, clock,
    async api(method, path, body) {
      const res = await request(base + path, { method: method as 'GET', headers: { authorization: `Bearer ${weir.token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: res.statusCode, json: await res.body.json() as never };
    },
    async traffic(n, opts = {}) {
      const counts: Record<string, number> = {};
      const paths = ['/api/products', '/api/cart', '/api/checkout', '/api/products/3'];
      for (let done = 0; done < n; done += 50) {
        await Promise.all(Array.from({ length: Math.min(50, n - done) }, async () => {
          const path = opts.path ?? paths[seq++ % paths.length];
          const r = await pool.request({ path, method: 'GET', headers: opts.headers });
          await r.body.dump();
          const k = `${r.headers['x-shop-version'] ?? 'weir'}:${r.statusCode}`;
          counts[k] = (counts[k] ?? 0) + 1;
        }));
      }
      return counts;
    },
  };
}
