import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { backend, echo, proxyFor, rawRequest, until } from './helpers.ts';

test('forwards with RFC 9110 hygiene: hop-by-hop removed, via / x-forwarded-* / x-request-id added', async (t) => {
  const up = await backend(t, echo('stable'));
  const { url, events } = await proxyFor(t, { shop: { match: { pathPrefix: '/' }, versions: { stable: up.url } } });
  const res = await rawRequest(`${url}/a/b?c=1`, {
    headers: {
      'x-custom': 'kept', 'keep-alive': 'timeout=5', 'proxy-authorization': 'Basic x', te: 'trailers',
      connection: 'x-secret-hop', 'x-secret-hop': 'must-go', 'x-forwarded-for': '203.0.113.9', via: '1.0 edge',
    },
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.via, '1.1 weir');
  const seen = JSON.parse(res.body) as { url: string; headers: Record<string, string> };
  assert.equal(seen.url, '/a/b?c=1');
  assert.equal(seen.headers['x-custom'], 'kept');
  for (const h of ['keep-alive', 'proxy-authorization', 'te', 'x-secret-hop']) assert.equal(seen.headers[h], undefined, `${h} must not be forwarded`);
  assert.equal(seen.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
  assert.equal(seen.headers['x-forwarded-proto'], 'http');
  assert.equal(seen.headers['x-forwarded-host'], url.slice(7));
  assert.equal(seen.headers.via, '1.0 edge, 1.1 weir');
  assert.match(seen.headers['x-request-id'], /^[0-9a-f-]{36}$/);
  await until(() => events.length === 1, 'the event');
  assert.equal(events[0]['request.id'], seen.headers['x-request-id']);
});

test('an incoming x-request-id is kept and passed on', async (t) => {
  const up = await backend(t, echo('stable'));
  const { url, events } = await proxyFor(t, { shop: { match: { pathPrefix: '/' }, versions: { stable: up.url } } });
  const res = await request(url, { headers: { 'x-request-id': 'req-123' } });
  const seen = await res.body.json() as { headers: Record<string, string> };
  assert.equal(seen.headers['x-request-id'], 'req-123');
  await until(() => events.length === 1, 'the event');
  assert.equal(events[0]['request.id'], 'req-123');
});

test('test-token overrides reach an unreleased version; the control headers never reach upstreams', async (t) => {
  const a = await backend(t, echo('stable'));
  const b = await backend(t, echo('canary'));
  const { url, events } = await proxyFor(t, {
    shop: { match: { pathPrefix: '/' }, versions: { stable: a.url, canary: b.url }, weights: { stable: 100, canary: 0 }, testTraffic: { tokens: ['test-token-123'] } },
  });
  const withToken = await (await request(url, { headers: { 'x-weir-test-token': 'test-token-123', 'x-weir-version': 'canary' } })).body.json() as { name: string; headers: Record<string, string> };
  assert.equal(withToken.name, 'canary');
  assert.equal(withToken.headers['x-weir-test-token'], undefined);
  assert.equal(withToken.headers['x-weir-version'], undefined);
  assert.equal(withToken.headers['x-weir-traffic'], 'test', 'test traffic is tagged for the upstream');
  const byCookie = await (await request(url, { headers: { 'x-weir-test-token': 'test-token-123', cookie: 'a=1; weir-version=canary' } })).body.json() as { name: string; headers: Record<string, string> };
  assert.equal(byCookie.name, 'canary');
  assert.equal(byCookie.headers.cookie, 'a=1', 'the weir-version cookie is stripped, others kept');
  const noToken = await (await request(url, { headers: { 'x-weir-version': 'canary', 'x-weir-traffic': 'test', cookie: 'weir-version=canary' } })).body.json() as { name: string; headers: Record<string, string> };
  assert.equal(noToken.name, 'stable', 'without a token the public cannot pin itself to unreleased code');
  assert.equal(noToken.headers['x-weir-version'], undefined);
  assert.equal(noToken.headers['x-weir-traffic'], undefined, 'a client cannot mark its own traffic as test');
  assert.equal(noToken.headers.cookie, undefined);
  const wrong = await (await request(url, { headers: { 'x-weir-test-token': 'guess', 'x-weir-version': 'canary' } })).body.json() as { name: string };
  assert.equal(wrong.name, 'stable');
  await until(() => events.length === 4, 'the events');
  assert.deepEqual(events.map((e) => [e['service.version'], e['weir.decision'], e['weir.traffic']]), [
    ['canary', 'test-override', 'test'], ['canary', 'test-override', 'test'], ['stable', 'random', 'live'], ['stable', 'random', 'live'],
  ]);
});

test('the wide event carries the request, the decision, sizes, a hashed sticky key and captured headers', async (t) => {
  const up = await backend(t, echo('stable'));
  const { url, events } = await proxyFor(t,
    { shop: { match: { pathPrefix: '/api' }, versions: { stable: up.url }, stickyBy: 'header:x-user-id' } },
    { captureHeaders: ['x-plan'] });
  const res = await request(`${url}/api/cart?x=1`, { method: 'POST', body: 'hello', headers: { 'x-user-id': 'alice', 'x-plan': 'pro', 'user-agent': 'test-agent' } });
  const text = await res.body.text();
  await until(() => events.length === 1, 'the event');
  const e = events[0];
  assert.equal(e['service.name'], 'shop');
  assert.equal(e['service.version'], 'stable');
  assert.equal(e['http.request.method'], 'POST');
  assert.equal(e['url.path'], '/api/cart');
  assert.equal(e['http.route'], '/api');
  assert.equal(e['http.response.status_code'], 200);
  assert.equal(e['weir.decision'], 'weight');
  assert.equal(e['weir.traffic'], 'live');
  assert.equal(e['http.request.body.size'], 5);
  assert.equal(e['http.response.body.size'], Buffer.byteLength(text));
  assert.equal(e['user_agent.original'], 'test-agent');
  assert.equal(e['client.address'], '127.0.0.1');
  assert.equal(e['upstream.address'], up.url.slice(7));
  assert.equal(e['http.request.header.x-plan'], 'pro');
  assert.match(String(e['weir.sticky_key_hash']), /^[0-9a-f]{16}$/);
  assert.equal(e['weir.sticky_key'], undefined, 'the raw key is not recorded unless configured');
  assert.ok(typeof e.duration_ms === 'number' && e.duration_ms >= (e['upstream.duration_ms'] as number));
});

test('services match by host and path prefix, most specific first; no match is a 404 NO_ROUTE', async (t) => {
  const a = await backend(t, echo('root'));
  const b = await backend(t, echo('api'));
  const c = await backend(t, echo('host-api'));
  const { url } = await proxyFor(t, {
    root: { match: { pathPrefix: '/' }, versions: { v1: a.url } },
    api: { match: { pathPrefix: '/api' }, versions: { v1: b.url } },
    hostapi: { match: { host: 'shop.example.com', pathPrefix: '/api' }, versions: { v1: c.url } },
  });
  const name = async (path: string, host?: string) => ((await (await request(url + path, { headers: host ? { host } : {} })).body.json()) as { name: string }).name;
  assert.equal(await name('/api/x'), 'api');
  assert.equal(await name('/api'), 'api');
  assert.equal(await name('/apix'), 'root', 'prefixes match whole segments');
  assert.equal(await name('/api/x', 'shop.example.com:8080'), 'host-api');
  assert.equal(await name('/other', 'shop.example.com'), 'root');
  const { url: url2 } = await proxyFor(t, { only: { match: { host: 'a.example' }, versions: { v1: a.url } } });
  const res = await request(`${url2}/x`);
  assert.equal(res.statusCode, 404);
  assert.equal(((await res.body.json()) as { error: { code: string } }).error.code, 'NO_ROUTE');
  // Weir's own answers carry a Date (RFC 9110 §6.6.1), within a few seconds of now.
  assert.ok(Math.abs(Date.parse(String(res.headers.date)) - Date.now()) < 5_000, `date: ${String(res.headers.date)}`);
});

test('the upstream URL path is a base path for forwarded requests', async (t) => {
  const up = await backend(t, echo('stable'));
  const { url } = await proxyFor(t, { shop: { match: { pathPrefix: '/' }, versions: { stable: `${up.url}/base` } } });
  const seen = await (await request(`${url}/x?y=1`)).body.json() as { url: string };
  assert.equal(seen.url, '/base/x?y=1');
});

test('HEAD, 204 and 304 answers pass through without bodies', async (t) => {
  const up = await backend(t, (req, res) => {
    if (req.url === '/204') { res.writeHead(204); res.end(); return; }
    if (req.url === '/304') { res.writeHead(304, { etag: '"x"' }); res.end(); return; }
    res.writeHead(200, { 'content-length': 5, 'content-type': 'text/plain' });
    res.end(req.method === 'HEAD' ? undefined : 'hello');
  });
  const { url } = await proxyFor(t, { shop: { match: { pathPrefix: '/' }, versions: { stable: up.url } } });
  const head = await request(url, { method: 'HEAD' });
  assert.equal(head.statusCode, 200);
  assert.equal(head.headers['content-length'], '5');
  assert.equal(await head.body.text(), '');
  assert.equal((await request(`${url}/204`)).statusCode, 204);
  const r304 = await request(`${url}/304`);
  assert.equal(r304.statusCode, 304);
  assert.equal(r304.headers.etag, '"x"');
});
