/**
 * Micro-benchmarks for the per-event hot functions: `metrics.record` (once per proxied request) and
 * `fingerprint` (once per written event; cheap for non-errors, a hash for errors), and `encodeColumns`
 * (once per event on the store's main thread: the column hand-off to the writer thread).
 *
 *   node bench/events-hot.ts [--n 1000000]
 */
import { parseArgs } from 'node:util';
import { createProxyMetrics } from '../src/events/metrics.ts';
import { fingerprint } from '../src/events/fingerprint.ts';
import { encodeColumns } from '../src/events/handoff.ts';
import type { WideEvent } from '../src/events/schema.ts';

const { values } = parseArgs({ options: { n: { type: 'string', default: '1000000' } } });
const N = Number(values.n);

const ok: WideEvent = {
  timestamp: 1_700_000_000_000, 'request.id': 'r1', 'service.name': 'shop', 'service.version': 'v2', 'http.request.method': 'GET',
  'url.path': '/api/cart/7', 'http.route': 'shop/api', 'http.response.status_code': 200, duration_ms: 12.5, 'weir.traffic': 'live',
  'http.request.body.size': 0, 'http.response.body.size': 512,
};
const events = Array.from({ length: 64 }, (_, i) => ({ ...ok, 'service.version': `v${i % 3}`, 'http.response.status_code': i % 20 === 0 ? 503 : 200, duration_ms: i }));
const error: WideEvent = { ...ok, 'http.response.status_code': 500, 'exception.type': 'TypeError', 'exception.message': `cannot read 'sku' of undefined (cart 1234)`,
  'exception.stacktrace': 'TypeError: x\n    at getCart (/srv/app/src/cart.js:40:15)\n    at async handler (/srv/app/src/routes.js:12:3)\n    at Layer.handle (/srv/app/node_modules/express/lib/router/layer.js:95:5)' };

function bench(name: string, n: number, f: (i: number) => void): void {
  for (let i = 0; i < Math.min(n, 10_000); i++) f(i); // warm
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) f(i);
  const ns = Number(process.hrtime.bigint() - t0) / n;
  console.log(`${name.padEnd(34)} ${ns.toFixed(0).padStart(6)} ns/op  (${(1e9 / ns / 1e6).toFixed(2)} M ops/s)`);
}

const metrics = createProxyMetrics();
bench('metrics.record', N, (i) => metrics.record(events[i & 63]));
bench('fingerprint (not an error)', N, () => void fingerprint(ok));
bench('fingerprint (exception with stack)', Math.max(1, N / 10), () => void fingerprint(error));
const proxyEvents: WideEvent[] = Array.from({ length: 2048 }, (_, i) => ({ ...ok, 'request.id': `r${i}`, 'service.version': `v${i % 3}`, 'url.path': `/api/cart/${i % 50}`, 'http.route': `/api/cart/${i % 50}`,
  'upstream.address': `10.0.0.${i % 8}:8080`, 'weir.decision': 'weight' as const, 'upstream.duration_ms': i / 3, duration_ms: i / 2, 'app.user_id': `u${i * 7919 % 100_000}` }));
bench('encodeColumns (per event, 2048 a batch)', Math.max(1, Math.floor(N / 2048)) * 2048, (i) => {
  if (i % 2048 === 0) encodeColumns(proxyEvents, 0, 2048);
});
