import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { ApiRoute } from '../../src/control/route.ts';
import { errorBody } from '../../src/errors.ts';
import { createEventStore } from '../../src/events/store.ts';
import type { EventStore, EventStoreOptions } from '../../src/events/store.ts';
import type { WideEvent } from '../../src/events/schema.ts';
import { createRandom } from '../../src/stats/random.ts';
import { tempDir as fileTempDir } from '../tmpdir.ts';

/** Seeded uniform [0, 1) randomness: the project's PRNG (src/stats/random.ts). */
export function seeded(seed: number): () => number {
  const r = createRandom(seed);
  return () => r.uniform();
}

/** A temporary directory, removed after the file's tests (after the stores in it are closed). */
export function tempDir(_t: TestContext): string {
  return fileTempDir('weir-events-');
}

export async function openStore(t: TestContext, opts: Partial<EventStoreOptions> = {}): Promise<EventStore> {
  const store = await createEventStore({ path: join(tempDir(t), 'events.duckdb'), clock: () => NOW, threads: 1, ...opts });
  t.after(() => store.close());
  return store;
}

/** The tests' "now": a fixed instant, so time ranges are exact. */
export const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

/**
 * A tiny router standing in for the control server: matches method and path (with `{param}`),
 * serialises WeirErrors the way the control server does. No auth: scopes are the server's job.
 */
export async function serve(t: TestContext, routes: ApiRoute[]): Promise<string> {
  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    for (const r of routes) {
      if (r.method !== req.method) continue;
      const names: string[] = [];
      const re = new RegExp(`^${r.path.replace(/\{(\w+)\}/g, (_, n) => (names.push(n), '([^/]+)'))}$`);
      const m = re.exec(url.pathname);
      if (!m) continue;
      const params = Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1])]));
      try {
        await r.handler(req, res, { url, params, principal: null });
      } catch (err) {
        const { status, body } = errorBody(err);
        if (!res.headersSent) res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      }
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return `http://127.0.0.1:${addr.port}`;
}

export const VERSIONS = ['v1', 'v2', 'v3'] as const;
export const ROUTES = ['/api/cart', '/api/items', '/api/users', '/health', '/api/checkout'] as const;

/** Realistic-ish proxy events over the hour before NOW, with some custom fields and errors. */
export function generateEvents(n: number, seed = 1): WideEvent[] {
  const r = seeded(seed);
  const out: WideEvent[] = [];
  for (let i = 0; i < n; i++) {
    const version = VERSIONS[Math.floor(r() * 3)];
    const route = ROUTES[Math.floor(r() * ROUTES.length)];
    const slow = version === 'v3' && r() < 0.3;
    const status = r() < (version === 'v2' ? 0.08 : 0.02) ? 503 : r() < 0.1 ? 404 : 200;
    const e: WideEvent = {
      timestamp: NOW - 3_600_000 + Math.floor(r() * 3_600_000),
      'request.id': `req-${seed}-${i}`,
      'service.name': r() < 0.8 ? 'shop' : 'search',
      'service.version': version,
      'http.request.method': r() < 0.7 ? 'GET' : 'POST',
      'url.path': `${route}/${Math.floor(r() * 20)}`,
      'http.route': route,
      'http.response.status_code': status,
      duration_ms: Math.round((slow ? 800 + r() * 400 : 5 + r() * r() * 300) * 1000) / 1000,
      'weir.traffic': r() < 0.9 ? 'live' : 'shadow',
      'http.request.body.size': 0,
      'http.response.body.size': Math.floor(r() * 5000),
      'app.user_id': `u${Math.floor(r() * 50)}`,
      'app.counter': i,
    };
    if (r() < 0.5) e['app.plan'] = r() < 0.5 ? 'pro' : 'free';
    if (r() < 0.3) e['app.beta'] = r() < 0.5;
    out.push(e);
  }
  return out;
}

/** A minimal proxy event with `fields` on top (for tests that only care about a few fields). */
export function event(fields: Partial<WideEvent> & Record<string, string | number | boolean | undefined>): WideEvent {
  return {
    timestamp: NOW, 'request.id': 'r', 'service.name': 'shop', 'http.request.method': 'GET', 'url.path': '/',
    'http.response.status_code': 200, duration_ms: 1, 'weir.traffic': 'live', 'http.request.body.size': 0, 'http.response.body.size': 0,
    ...fields,
  };
}
