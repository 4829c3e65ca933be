import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { once } from 'node:events';
import { createOtlpExporter } from '../../src/events/otlp/export.ts';
import { decodeRequest, encodeResponse } from '../../src/events/otlp/decode.ts';
import { spansToEvents } from '../../src/events/otlp/map.ts';
import type { TracesRequest } from '../../src/events/otlp/map.ts';
import { createEventsRoutes } from '../../src/events/routes.ts';
import { NOW, event, openStore, serve } from './helpers.ts';

/** A collector that answers with the statuses given, in turn, then 200; it records decoded requests. */
async function collector(t: import('node:test').TestContext, statuses: number[]) {
  const received: TracesRequest[] = [];
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const status = statuses.shift() ?? 200;
    if (status !== 200) {
      res.writeHead(status, { 'retry-after': '0' }).end();
      return;
    }
    received.push(decodeRequest('traces', Buffer.concat(chunks)) as TracesRequest);
    const body = encodeResponse('traces');
    res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const addr = server.address() as { port: number };
  return { url: `http://127.0.0.1:${addr.port}/v1/traces`, received };
}

test('the exporter sends wide events as spans, retrying 503s with backoff', async (t) => {
  const c = await collector(t, [503, 503]);
  const exp = createOtlpExporter({ url: c.url, intervalMs: 3_600_000, initialBackoffMs: 1, random: () => 0.5 });
  t.after(() => exp.close());
  exp.push(event({ 'service.version': 'v2', duration_ms: 12.5, 'http.route': '/cart', 'app.plan': 'pro', 'trace.trace_id': '0af7651916cd43dd8448eb211c80319c' }));
  exp.push(event({ 'service.name': 'search', 'http.response.status_code': 503 }));
  await exp.flush();
  assert.deepEqual(exp.stats(), { sent: 2, dropped: 0, failedBatches: 0, retries: 2, rejected: 0 });
  const events = spansToEvents(c.received[0], 'base64');
  assert.equal(events.length, 2);
  const shop = events.find((e) => e['service.name'] === 'shop')!;
  assert.equal(shop['service.version'], 'v2');
  assert.equal(shop.name, 'GET /cart');
  assert.equal(shop.duration_ms, 12.5);
  assert.equal(shop.timestamp, NOW);
  assert.equal(shop['app.plan'], 'pro');
  assert.equal(shop['trace.trace_id'], '0af7651916cd43dd8448eb211c80319c');
  assert.equal(events.find((e) => e['service.name'] === 'search')!['otel.status_code'], 'ERROR');
});

test('collector down: batches are dropped and counted after their attempts; a full queue drops on push', async (t) => {
  const c = await collector(t, [503, 503, 503, 400]);
  const exp = createOtlpExporter({ url: c.url, intervalMs: 3_600_000, initialBackoffMs: 1, maxAttempts: 3, maxQueue: 2, batchSize: 1, random: () => 0 });
  t.after(() => exp.close());
  exp.push(event({}));
  exp.push(event({}));
  exp.push(event({}));
  assert.equal(exp.dropped, 1);
  await exp.flush();
  assert.deepEqual(exp.stats(), { sent: 0, dropped: 3, failedBatches: 2, retries: 2, rejected: 0 });
  assert.equal(c.received.length, 0);
});

test('round trip: Weir exports to its own OTLP ingest', async (t) => {
  const store = await openStore(t);
  const url = await serve(t, createEventsRoutes(store));
  const exp = createOtlpExporter({ url: `${url}/v1/traces`, intervalMs: 3_600_000 });
  t.after(() => exp.close());
  for (let i = 0; i < 10; i++) exp.push(event({ timestamp: NOW - i, duration_ms: i, 'service.version': `v${i % 2}` }));
  await exp.flush();
  await store.flush();
  const r = await store.query({ calculations: ['COUNT', 'SUM(duration_ms)'], breakdowns: ['version'], time_range: 60, orders: [{ column: 'version' }] });
  assert.deepEqual(r.data.results.map((x) => x.data), [{ version: 'v0', COUNT: 5, 'SUM(duration_ms)': 20 }, { version: 'v1', COUNT: 5, 'SUM(duration_ms)': 25 }]);
});
