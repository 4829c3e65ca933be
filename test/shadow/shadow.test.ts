import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { backend, echo, proxyFor, until } from '../proxy/helpers.ts';
import type { Handler } from '../proxy/helpers.ts';
import type { IncomingMessage } from 'node:http';

/** A shadow upstream that records what it received. */
function recorder(): { seen: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }>; handler: Handler } {
  const seen: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }> = [];
  return {
    seen,
    handler: (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString() });
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('shadow');
      });
    },
  };
}

const svc = (stable: string, next: string, shadow: object) => ({ shop: { match: { pathPrefix: '/' }, versions: { stable, next }, shadow: { version: 'next', ...shadow } } });

test('a shadow copy reaches the shadow version with the shadow credentials, never the user\'s, and is an event with weir.traffic=shadow', async (t) => {
  const primary = await backend(t, echo('stable'));
  const rec = recorder();
  const sh = await backend(t, rec.handler);
  const { url, events, proxy } = await proxyFor(t, svc(primary.url, sh.url, { credentials: { authorization: 'Bearer shadow-token' }, headers: { remove: ['x-secret'], set: { 'x-env': 'shadow' } }, hostSuffix: true }));
  const res = await request(`${url}/items?q=1`, { headers: { authorization: 'Bearer USER', cookie: 'session=USER', 'x-secret': 's', host: 'shop.example:80' } });
  assert.equal(res.statusCode, 200);
  const body = await res.body.json() as { name: string; headers: Record<string, string> };
  assert.equal(body.name, 'stable');
  assert.equal(body.headers.authorization, 'Bearer USER', 'the primary gets the user\'s request unchanged');
  await until(() => rec.seen.length === 1 && events.length === 2, 'shadow copy and its event');
  const copy = rec.seen[0];
  assert.equal(copy.url, '/items?q=1');
  assert.equal(copy.headers.authorization, 'Bearer shadow-token');
  assert.equal(copy.headers.cookie, undefined);
  assert.equal(copy.headers['x-secret'], undefined);
  assert.equal(copy.headers['x-env'], 'shadow');
  assert.equal(copy.headers['x-weir-shadow'], '1');
  assert.equal(copy.headers.host, 'shop.example-shadow:80');
  const live = events.find((e) => e['weir.traffic'] === 'live')!;
  const shadow = events.find((e) => e['weir.traffic'] === 'shadow')!;
  assert.equal(live['weir.shadow'], 'sent');
  assert.equal(shadow['service.version'], 'next');
  assert.equal(shadow['http.response.status_code'], 200);
  assert.equal(shadow['request.id'], live['request.id']);
  assert.equal(shadow['http.response.body.size'], 6);
  const c = proxy.stats().taps.shadow.get('shop')!.counters;
  await until(() => c.completed === 1, 'completed count');
  assert.equal(c.sent, 1);
});

test('unsafe methods are not mirrored unless the service opts in; opted-in copies carry x-weir-shadow: 1', async (t) => {
  const primary = await backend(t, echo('stable'));
  const rec = recorder();
  const sh = await backend(t, rec.handler);
  const off = await proxyFor(t, svc(primary.url, sh.url, {}));
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) {
    const res = await request(`${off.url}/orders`, { method, body: '{"a":1}', headers: { 'content-type': 'application/json' } });
    assert.equal(res.statusCode, 200);
    await res.body.dump();
  }
  await until(() => off.events.length === 4, 'events');
  assert.equal(off.proxy.stats().taps.shadow.get('shop')!.counters.dropped['unsafe-method'], 4);
  assert.ok(off.events.every((e) => e['weir.shadow'] === 'dropped:unsafe-method'));
  const on = await proxyFor(t, svc(primary.url, sh.url, { allowUnsafeMethods: true }));
  const res = await request(`${on.url}/orders`, { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } });
  assert.equal(res.statusCode, 200);
  await res.body.dump();
  await until(() => rec.seen.length === 1, 'opted-in copy');
  assert.equal(rec.seen[0].method, 'POST');
  assert.equal(rec.seen[0].body, '{"a":1}');
  assert.equal(rec.seen[0].headers['x-weir-shadow'], '1');
});

test('caps: copies beyond maxConcurrent and maxRps are dropped and counted; percent and match select requests', async (t) => {
  const primary = await backend(t, echo('stable'));
  const hold: Array<() => void> = [];
  const sh = await backend(t, (_req, res) => { hold.push(() => res.end('late')); });
  let r = 0;
  const seq = [0.1, 0.1, 0.9, 0.9]; // the split draws one, then the shadow sampling draws one
  const { url, proxy } = await proxyFor(t, svc(primary.url, sh.url, { maxConcurrent: 2, percent: 50, match: { pathPrefix: '/api' } }), { random: () => seq[r++ % seq.length] });
  for (let i = 0; i < 8; i++) {
    const res = await request(`${url}/api/x`);
    assert.equal(res.statusCode, 200, 'the user never waits for a held shadow');
    await res.body.dump();
  }
  const other = await request(`${url}/other`);
  await other.body.dump();
  const c = proxy.stats().taps.shadow.get('shop')!.counters;
  assert.equal(c.sampled, 4, 'half of the 8 matching requests are sampled (seeded randomness); /other never is');
  assert.equal(c.sent, 2);
  assert.equal(c.dropped.concurrency, 2);
  for (const h of hold) h();
  await until(() => c.inflight === 0, 'held copies end');

  let now = 1_000_000;
  const rate = await proxyFor(t, svc(primary.url, sh.url, { maxRps: 2 }), { now: () => now });
  for (let i = 0; i < 5; i++) await (await request(rate.url)).body.dump();
  const rc = rate.proxy.stats().taps.shadow.get('shop')!.counters;
  assert.equal(rc.sent, 2, 'a burst of one second\'s worth');
  assert.equal(rc.dropped.rate, 3);
  now += 1000;
  await (await request(rate.url)).body.dump();
  assert.equal(rc.sent, 3, 'the bucket refills with the clock passed in');
  for (const h of hold) h();
});

test('request bodies are teed without holding the primary: a shadow that never reads does not slow the upload; over the cap the copy is dropped', async (t) => {
  const primary = await backend(t, echo('stable'));
  const sh = await backend(t, (req) => { req.pause(); /* never reads, never answers */ });
  const { url, events, proxy } = await proxyFor(t, svc(primary.url, sh.url, { allowUnsafeMethods: true, maxBodyBytes: 1024, timeout: 60_000 }));
  const big = Buffer.alloc(4 * 1024 * 1024, 'a');
  const res = await request(url, { method: 'POST', body: big });
  const body = await res.body.json() as { bodyBytes: number };
  assert.equal(body.bodyBytes, big.length, 'the primary got the whole body');
  const small = await request(url, { method: 'POST', body: 'x'.repeat(100) });
  assert.equal((await small.body.json() as { bodyBytes: number }).bodyBytes, 100);
  // A chunked body over the cap: the copy starts, then is dropped when the cap is passed.
  const chunked = await request(url, { method: 'POST', body: Readable.from((function* () { for (let i = 0; i < 10; i++) yield Buffer.alloc(512, 'b'); })()) });
  assert.equal((await chunked.body.json() as { bodyBytes: number }).bodyBytes, 5120);
  const c = proxy.stats().taps.shadow.get('shop')!.counters;
  await until(() => events.filter((e) => e['weir.traffic'] === 'live').length === 3, 'events');
  assert.equal(c.dropped.body, 2, 'one known-length body and one chunked body over 1 KiB');
  assert.equal(c.sent, 2);
});

test('isolation: a hanging, resetting, slow, or huge-body shadow costs the user nothing', async (t) => {
  const primary = await backend(t, echo('stable'));
  const kinds: Record<string, Handler> = {
    hanging: () => { /* never answers */ },
    resetting: (req) => req.socket.destroy(),
    slow: (_req, res) => { const timer = setTimeout(() => res.end('late'), 10_000); res.on('close', () => clearTimeout(timer)); },
    huge: (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024);
      let sent = 0;
      const pump = () => { while (sent < 64 * 1024 * 1024) { sent += chunk.length; if (!res.write(chunk)) return void res.once('drain', pump); } res.end(); };
      pump();
    },
  };
  for (const [kind, handler] of Object.entries(kinds)) {
    const sh = await backend(t, handler);
    const { url, events, proxy } = await proxyFor(t, svc(primary.url, sh.url, { timeout: 200, maxConcurrent: 4 }));
    const results = await Promise.all(Array.from({ length: 40 }, async () => {
      const res = await request(url);
      const b = await res.body.json() as { name: string };
      return [res.statusCode, b.name];
    }));
    assert.ok(results.every(([s, n]) => s === 200 && n === 'stable'), `${kind}: every user request succeeded`);
    const c = proxy.stats().taps.shadow.get('shop')!.counters;
    await until(() => c.inflight === 0, `${kind}: copies ended`);
    assert.equal(c.sent + Object.values(c.dropped).reduce((a, n) => a + n, 0) - c.dropped.slow, 40, `${kind}: every copy sent or dropped`);
    if (kind === 'resetting') assert.ok(c.dropped.unhealthy > 0, 'a resetting shadow pauses the copies');
    assert.equal(events.filter((e) => e['weir.traffic'] === 'live' && e['http.response.status_code'] !== 200).length, 0);
    if (kind !== 'huge') assert.equal(c.failed, c.sent, `${kind}: every copy counted as failed`);
  }
});

test('a service without shadow, compare or faults has no taps (zero per-request work)', async (t) => {
  const primary = await backend(t, echo('stable'));
  const { proxy } = await proxyFor(t, { shop: { match: { pathPrefix: '/' }, versions: { stable: primary.url } } });
  assert.equal(proxy.table.services[0].taps, undefined);
  void once;
});

test('regression: with a shadow, a chunked body over the request-body limit still fails the primary with 413', async (t) => {
  const primary = await backend(t, echo('stable'));
  const sh = await backend(t, echo('next'));
  const { url } = await proxyFor(t, { shop: { match: { pathPrefix: '/' }, versions: { stable: primary.url, next: sh.url }, limits: { requestBody: 1000 }, shadow: { version: 'next', allowUnsafeMethods: true } } });
  const res = await request(url, { method: 'POST', body: Readable.from((function* () { for (let i = 0; i < 10; i++) yield Buffer.alloc(512, 'c'); })()) });
  assert.equal(res.statusCode, 413);
  await res.body.dump();
});

test('maxLoad: while the proxy is busier than the cap, copies and comparisons are dropped as overload; users are answered', async (t) => {
  const primary = await backend(t, echo('stable'));
  const second = await backend(t, echo('stable'));
  const rec = recorder();
  const sh = await backend(t, rec.handler);
  let load = 0.95;
  const services = { shop: { match: { pathPrefix: '/' }, versions: { stable: primary.url, stable2: second.url, next: sh.url }, shadow: { version: 'next', maxLoad: 0.9 }, compare: { candidate: 'next', secondary: 'stable2', sampleRate: 1 } } };
  const { url, proxy, events } = await proxyFor(t, services, { load: () => load });
  for (let i = 0; i < 5; i++) {
    const res = await request(`${url}/items/${i}`);
    assert.equal(res.statusCode, 200);
    await res.body.dump();
  }
  const sc = proxy.stats().taps.shadow.get('shop')!.counters;
  const cc = proxy.taps.compare.get('shop')!.counters;
  assert.equal(sc.dropped.overload, 5);
  assert.equal(sc.sent, 0);
  assert.equal(cc.dropped.overload, 5, 'the compare default (0.8) is passed too');
  assert.ok(events.every((e) => e['weir.shadow'] === 'dropped:overload'));
  load = 0.85; // under the shadow's 0.9, over the compare's default 0.8
  await (await request(`${url}/items/9`)).body.dump();
  await until(() => sc.completed === 1, 'the copy once the load fell');
  assert.equal(cc.dropped.overload, 6);
  assert.equal(rec.seen.length, 1);
});

test('the load gauge reads the event loop: near 1 right after the loop was held busy, near 0 after it waited', async () => {
  const { processLoad } = await import('../../src/proxy/load.ts');
  processLoad(); // starts sampling
  const until2 = async (ok: () => boolean, what: string) => until(ok, what, 5_000);
  const end = performance.now() + 300;
  while (performance.now() < end) { /* the loop is held busy */ }
  await until2(() => processLoad() > 0.5, 'a busy reading');
  await new Promise((r) => setTimeout(r, 250));
  await until2(() => processLoad() < 0.5, 'an idle reading');
});
