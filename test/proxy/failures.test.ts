import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import net from 'node:net';
import { once } from 'node:events';
import { request } from 'undici';
import { backend, blackholePort, closedPort, echo, proxyFor, rawRequest, until } from './helpers.ts';

async function errorOf(res: { statusCode: number; body: { json(): Promise<unknown> } }): Promise<[number, string]> {
  const body = await res.body.json() as { error: { code: string } };
  return [res.statusCode, body.error.code];
}

const svc = (versions: object, extra: object = {}) => ({ shop: { match: { pathPrefix: '/' }, versions, ...extra } });

test('connection refused answers 502 UPSTREAM_CONNECT_FAILED', async (t) => {
  const port = await closedPort();
  const { url, events } = await proxyFor(t, svc({ stable: `http://127.0.0.1:${port}` }));
  assert.deepEqual(await errorOf(await request(url)), [502, 'UPSTREAM_CONNECT_FAILED']);
  await until(() => events.length === 1, 'event');
  assert.equal(events[0]['error.type'], 'UPSTREAM_CONNECT_FAILED');
  assert.equal(events[0]['http.response.status_code'], 502);
});

test('connect timeout answers 504 UPSTREAM_CONNECT_TIMEOUT', async (t) => {
  const port = await blackholePort(t);
  const { url } = await proxyFor(t, svc({ stable: { upstreams: [`http://127.0.0.1:${port}`], timeouts: { connect: 200 } } }));
  assert.deepEqual(await errorOf(await request(url)), [504, 'UPSTREAM_CONNECT_TIMEOUT']);
});

test('response-headers timeout answers 504 UPSTREAM_TIMEOUT', async (t) => {
  const up = await backend(t, () => { /* never answers */ });
  const { url } = await proxyFor(t, svc({ stable: { upstreams: [up.url], timeouts: { headers: 150 } } }));
  assert.deepEqual(await errorOf(await request(url)), [504, 'UPSTREAM_TIMEOUT']);
});

test('idle body timeout after headers resets the client connection and records UPSTREAM_TIMEOUT', async (t) => {
  const up = await backend(t, (_req, res) => {
    res.writeHead(200, { 'content-length': 100 });
    res.write('partial');
  });
  const { url, events } = await proxyFor(t, svc({ stable: { upstreams: [up.url], timeouts: { idle: 150 } } }));
  const res = await request(url);
  assert.equal(res.statusCode, 200);
  await assert.rejects(res.body.text());
  await until(() => events.length === 1, 'event');
  assert.equal(events[0]['error.type'], 'UPSTREAM_TIMEOUT');
});

test('total timeout bounds a trickling upstream', async (t) => {
  const up = await backend(t, (_req, res) => {
    res.writeHead(200);
    const timer = setInterval(() => res.write('x'), 20);
    res.on('close', () => clearInterval(timer));
  });
  const { url, events } = await proxyFor(t, svc({ stable: { upstreams: [up.url], timeouts: { total: 300, idle: 5000 } } }));
  const res = await request(url);
  await assert.rejects(res.body.text());
  await until(() => events.length === 1, 'event');
  assert.equal(events[0]['error.type'], 'UPSTREAM_TIMEOUT');
});

test('total timeout before headers answers 504', async (t) => {
  const up = await backend(t, () => {});
  const { url } = await proxyFor(t, svc({ stable: { upstreams: [up.url], timeouts: { total: 150, headers: 5000 } } }));
  assert.deepEqual(await errorOf(await request(url)), [504, 'UPSTREAM_TIMEOUT']);
});

test('an upstream reset answers 502 UPSTREAM_RESET', async (t) => {
  const up = await backend(t, (req) => req.socket.destroy());
  const { url } = await proxyFor(t, svc({ stable: up.url }));
  assert.deepEqual(await errorOf(await request(url)), [502, 'UPSTREAM_RESET']);
});

test('request body limit: a declared length over the limit is 413 before any upstream sees it', async (t) => {
  let hits = 0;
  const up = await backend(t, (req, res) => { hits++; req.resume(); req.on('end', () => res.end('ok')); });
  const { url } = await proxyFor(t, svc({ stable: { upstreams: [up.url], limits: { requestBody: 1000 } } }));
  assert.deepEqual(await errorOf(await request(url, { method: 'POST', body: Buffer.alloc(2000) })), [413, 'REQUEST_BODY_TOO_LARGE']);
  assert.equal(hits, 0);
  const ok = await request(url, { method: 'POST', body: Buffer.alloc(900) });
  assert.equal(ok.statusCode, 200);
  await ok.body.dump();
});

test('request body limit: a chunked body that passes the limit is refused with 413', async (t) => {
  const up = await backend(t, (req, res) => { req.resume(); req.on('end', () => res.end('ok')); });
  const { url } = await proxyFor(t, svc({ stable: { upstreams: [up.url], limits: { requestBody: 1000 } } }));
  async function* chunks() { for (let i = 0; i < 10; i++) yield Buffer.alloc(500); }
  const res = await request(url, { method: 'POST', body: Readable.from(chunks()) });
  assert.equal(res.statusCode, 413);
  await res.body.dump();
});

test('response body limit: a declared length over the limit is 502 UPSTREAM_RESPONSE_TOO_LARGE', async (t) => {
  const up = await backend(t, (_req, res) => res.end(Buffer.alloc(5000)));
  const { url } = await proxyFor(t, svc({ stable: { upstreams: [up.url], limits: { responseBody: 1000 } } }));
  assert.deepEqual(await errorOf(await request(url)), [502, 'UPSTREAM_RESPONSE_TOO_LARGE']);
});

test('request headers over maxHeaderBytes get 431', async (t) => {
  const up = await backend(t, echo('stable'));
  const { url } = await proxyFor(t, svc({ stable: up.url }), { maxHeaderBytes: 2048 });
  const res = await rawRequest(url, { headers: { 'x-big': 'a'.repeat(4096) } });
  assert.equal(res.status, 431);
  assert.equal(JSON.parse(res.body).error.code, 'HEADERS_TOO_LARGE');
  assert.match(String(res.headers.date), /^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
});

test('maxPending per instance sheds load with 503 OVERLOADED', async (t) => {
  const held: Array<() => void> = [];
  const up = await backend(t, (_req, res) => held.push(() => res.end('ok')));
  const { url } = await proxyFor(t, svc({ stable: { upstreams: [up.url], limits: { maxPending: 1 } } }));
  const first = request(url);
  await until(() => held.length === 1, 'the first request to arrive');
  assert.deepEqual(await errorOf(await request(url)), [503, 'OVERLOADED']);
  held[0]();
  assert.equal((await first).statusCode, 200);
});

test('an idempotent bodyless request that failed to connect is retried once on another instance', async (t) => {
  const dead = await closedPort();
  const live = await backend(t, echo('live'));
  const { url, events } = await proxyFor(t, svc({ stable: [`http://127.0.0.1:${dead}`, live.url] }));
  for (let i = 0; i < 6; i++) {
    const res = await request(url);
    assert.equal(res.statusCode, 200, `GET ${i} must succeed through the retry`);
    await res.body.dump();
  }
  await until(() => events.length === 6, 'events');
  assert.ok(events.every((e) => e['upstream.address'] === live.url.slice(7)));
});

test('a request with a body is not retried', async (t) => {
  const dead = await closedPort();
  let hits = 0;
  const live = await backend(t, (req, res) => { hits++; req.resume(); req.on('end', () => res.end('ok')); });
  const { url } = await proxyFor(t, svc({ stable: [`http://127.0.0.1:${dead}`, live.url] }));
  const codes: number[] = [];
  for (let i = 0; i < 4; i++) {
    const res = await request(url, { method: 'POST', body: 'x' });
    codes.push(res.statusCode);
    await res.body.dump();
  }
  assert.ok(codes.includes(502), `a POST that hit the dead instance fails rather than being replayed: ${codes}`);
  assert.equal(hits, codes.filter((c) => c === 200).length);
});

test('outlier ejection: after N connect failures an instance is skipped for the cool-down', async (t) => {
  const dead = await closedPort();
  const live = await backend(t, echo('live'));
  let now = 1_000_000;
  const { url, proxy } = await proxyFor(t, svc({ stable: [`http://127.0.0.1:${dead}`, live.url] }, { outlier: { consecutiveFailures: 3, cooldown: '30s' } }), { now: () => now });
  for (let i = 0; i < 8; i++) await (await request(url)).body.dump();
  const inst = proxy.registry.all().find((i) => i.url.endsWith(`:${dead}`))!;
  assert.equal(inst.ejections, 1);
  assert.ok(inst.isEjected(now));
  const pendingBefore = inst.consecutiveFailures;
  for (let i = 0; i < 5; i++) await (await request(url)).body.dump();
  assert.equal(inst.consecutiveFailures, pendingBefore, 'an ejected instance gets no traffic');
  now += 31_000;
  assert.ok(!inst.isEjected(now), 'back after the cool-down');
});

test('a client that goes away aborts the upstream request and is recorded as CLIENT_CLOSED', async (t) => {
  let upstreamClosed = false;
  let arrived = false;
  const up = await backend(t, (_req, res) => { arrived = true; res.on('close', () => { upstreamClosed = true; }); });
  const { port, events } = await proxyFor(t, svc({ stable: up.url }));
  const sock = net.connect(port, '127.0.0.1');
  await once(sock, 'connect');
  sock.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
  await until(() => arrived, 'the request to reach the upstream');
  sock.destroy();
  await until(() => events.length === 1 && upstreamClosed, 'abort to propagate');
  assert.equal(events[0]['error.type'], 'CLIENT_CLOSED');
});

test('an upstream that fails after its head but before any body: the client still gets a clean 502, not a closed connection', async (t) => {
  const server = net.createServer((s) => {
    s.on('error', () => {});
    s.on('data', () => s.end('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n'));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const { url, events } = await proxyFor(t, svc({ stable: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}` }));
  assert.deepEqual(await errorOf(await request(url)), [502, 'UPSTREAM_BAD_RESPONSE']);
  await until(() => events.length === 1, 'event');
  assert.equal(events[0]['http.response.status_code'], 502);
  assert.equal(events[0]['error.type'], 'UPSTREAM_BAD_RESPONSE');
});

test('an upstream that sends two answers to one request: the user gets the first, and the connection is never reused', async (t) => {
  // A desynchronised upstream (two responses in one write, or the start of a second one) must not
  // hand its extra bytes to the next user's request on that connection.
  let connections = 0;
  const server = net.createServer((s) => {
    connections++;
    const n = connections;
    s.on('data', (d) => {
      if (!d.toString('latin1').includes('\r\n\r\n')) return;
      const one = (body: string) => `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
      if (n === 1) s.write(one('first') + one('extra'));
      else if (n === 2) s.write(one('second') + 'HTTP/1.1 200 OK\r\ncontent-le');
      else s.write(one(`fresh-${n}`));
    });
    s.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const { port } = server.address() as net.AddressInfo;
  const { url } = await proxyFor(t, svc({ stable: `http://127.0.0.1:${port}` }));
  const text = async (path: string) => { const r = await request(`${url}${path}`); return [r.statusCode, await r.body.text()]; };
  assert.deepEqual(await text('/a'), [200, 'first']);
  assert.deepEqual(await text('/b'), [200, 'second']);
  assert.deepEqual(await text('/c'), [200, 'fresh-3']);
  assert.equal(connections, 3);
});
