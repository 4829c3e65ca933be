import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small JSON shop used by `weir demo`, the tests and the benchmarks. Each instance says which
 * version it is. A version can carry a deliberate bug: a share of 5xx answers and slower answers on
 * one endpoint (the rollout demo catches it).
 */
export interface ShopOptions {
  version: string;
  /** Share of /api/checkout requests answered 500 (0–1). */
  errorRate?: number;
  /** Extra latency on /api/checkout, ms. */
  extraLatencyMs?: number;
  /** Randomness in [0, 1), for the bug's share. */
  random?: () => number;
}

const PRODUCTS = Array.from({ length: 20 }, (_, i) => ({ id: i + 1, name: `Product ${i + 1}`, price: Math.round((5 + i * 3.7) * 100) / 100 }));

export function createShopServer(opts: ShopOptions): Server {
  const random = opts.random ?? Math.random;
  return createServer((req, res) => {
    const url = req.url ?? '/';
    const send = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-shop-version': opts.version });
      res.end(text);
    };
    if (url === '/healthz') return send(200, { ok: true, version: opts.version });
    if (url.startsWith('/api/products/')) {
      const id = Number(url.slice('/api/products/'.length));
      const p = PRODUCTS.find((x) => x.id === id);
      return p ? send(200, { ...p, version: opts.version }) : send(404, { error: 'no such product' });
    }
    if (url.startsWith('/api/products')) return send(200, { version: opts.version, products: PRODUCTS.slice(0, 5) });
    if (url.startsWith('/api/cart')) return send(200, { version: opts.version, items: [{ id: 3, qty: 1 }], total: PRODUCTS[2].price });
    if (url.startsWith('/api/checkout')) {
      const finish = () => {
        if (opts.errorRate && random() < opts.errorRate) return send(500, { error: 'payment provider timeout', version: opts.version });
        send(200, { version: opts.version, order: `ord-${Math.floor(random() * 1e9)}`, status: 'confirmed' });
      };
      req.resume();
      if (opts.extraLatencyMs) setTimeout(finish, opts.extraLatencyMs);
      else finish();
      return;
    }
    if (url === '/' || url.startsWith('/?')) return send(200, { service: 'shop', version: opts.version });
    send(404, { error: 'not found', path: url });
  });
}

export async function startShop(opts: ShopOptions, port = 0, host = '127.0.0.1'): Promise<{ server: Server; url: string }> {
  const server = createShopServer(opts);
  await new Promise<void>((r) => server.listen(port, host, () => r()));
  const { port: p } = server.address() as AddressInfo;
  return { server, url: `http://${host}:${p}` };
}
