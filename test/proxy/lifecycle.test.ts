import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { once } from 'node:events';
import net from 'node:net';
import { Pool, request } from 'undici';
import { WebSocketServer, WebSocket } from 'ws';
import { backend, echo, proxyFor, table, until } from './helpers.ts';

test('streams a large upload and download with flat memory', async (t) => {
  const SIZE = 256 * 1024 * 1024;
  const chunk = Buffer.alloc(1024 * 1024, 7);
  const up = await backend(t, (req, res) => {
    if (req.method === 'POST') {
      let n = 0;
      req.on('data', (c: Buffer) => { n += c.length; });
      req.on('end', () => res.end(String(n)));
      return;
    }
    res.writeHead(200, { 'content-length': SIZE });
    let sent = 0;
    const pump = () => {
      while (sent < SIZE) {
        sent += chunk.length;
        if (!res.write(chunk)) return res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  const { url, events } = await proxyFor(t, { shop: { match: { pathPrefix: '/' }, versions: { stable: up.url } } });
  global.gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  const sample = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 20);
  async function* body() { for (let i = 0; i < SIZE / chunk.length; i++) yield chunk; }
  const upRes = await request(url, { method: 'POST', body: Readable.from(body()), headers: { 'content-length': String(SIZE) } });
  assert.equal(await upRes.body.text(), String(SIZE));
  const down = await request(url);
  let got = 0;
  for await (const c of down.body) got += (c as Buffer).length;
  clearInterval(sample);
  assert.equal(got, SIZE);
  // Client, proxy and upstream share this process; 256 MiB each way must not be buffered. Buffering
  // either body would grow rss by at least 256 MiB; streaming grows it by what the allocator and the
  // young generation keep between collections, which has reached about 100 MiB on a loaded machine.
  assert.ok(peak - before < SIZE / 2, `rss grew by ${Math.round((peak - before) / 1048576)} MiB`);
  await until(() => events.length === 2, 'events');
  assert.equal(events[0]['http.request.body.size'], SIZE);
  assert.equal(events[1]['http.response.body.size'], SIZE);
});

test('WebSocket upgrades pass through to the chosen version', async (t) => {
  const a = await backend(t, echo('stable'));
  const b = await backend(t, echo('canary'));
  for (const [srv, name] of [[a.server, 'stable'], [b.server, 'canary']] as const) {
    const wss = new WebSocketServer({ server: srv });
    wss.on('connection', (ws, req) => {
      ws.send(`hello from ${name} ${req.headers['x-forwarded-for']}`);
      ws.on('message', (m) => ws.send(`echo ${name}: ${m}`));
    });
    t.after(() => wss.close());
  }
  const { port, events } = await proxyFor(t, {
    shop: { match: { pathPrefix: '/' }, versions: { stable: a.url, canary: b.url }, weights: { stable: 100, canary: 0 }, testTraffic: { tokens: ['ws-test-token'] } },
  });
  const ws = new WebSocket(`ws://127.0.0.1:${port}/socket`, { headers: { 'x-weir-test-token': 'ws-test-token', 'x-weir-version': 'canary' } });
  const messages: string[] = [];
  ws.on('message', (m) => messages.push(String(m)));
  await once(ws, 'open');
  ws.send('ping');
  await until(() => messages.length === 2, 'two messages');
  assert.deepEqual(messages, ['hello from canary 127.0.0.1', 'echo canary: ping']);
  ws.close();
  await until(() => events.length === 1, 'event');
  assert.equal(events[0]['http.response.status_code'], 101);
  assert.equal(events[0]['service.version'], 'canary');
});

test('an upgrade the upstream never answers: 504 after the headers timeout, also when the client has left', async (t) => {
  // An upstream that accepts connections and reads, but never answers.
  const held: net.Socket[] = [];
  let closedByProxy = 0;
  const silent = net.createServer((s) => {
    held.push(s);
    s.on('error', () => {});
    s.on('close', () => { closedByProxy++; });
    s.resume();
  });
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  t.after(() => { for (const s of held) s.destroy(); silent.close(); });
  const up = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
  const { port, proxy, events } = await proxyFor(t, { shop: { match: { pathPrefix: '/' }, versions: { stable: { upstreams: [up], timeouts: { headers: 200 } } } } });
  const upgradeHead = 'GET /socket HTTP/1.1\r\nhost: shop\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n';

  const client = net.connect(port, '127.0.0.1');
  let text = '';
  client.on('data', (d: Buffer) => { text += d.toString('latin1'); });
  client.write(upgradeHead);
  await once(client, 'close');
  assert.match(text, /^HTTP\/1\.1 504 Gateway Timeout\r\n/);
  assert.match(text, /"code":"UPSTREAM_TIMEOUT"/);
  await until(() => events.length === 1 && closedByProxy === 1, 'the event, and the upstream connection closed');
  assert.equal(events[0]['error.type'], 'UPSTREAM_TIMEOUT');

  const leaving = net.connect(port, '127.0.0.1');
  leaving.on('error', () => {});
  leaving.write(upgradeHead);
  await until(() => held.length === 2, 'the second attempt reaching the upstream');
  leaving.destroy();
  await until(() => events.length === 2 && closedByProxy === 2, 'the attempt ended (the timeout bounds it)');
  assert.equal(proxy.stats().inflight, 0);
});

test('routing-table swaps under load fail zero requests', async (t) => {
  const backends = await Promise.all(['a', 'b', 'c', 'd'].map((n) => backend(t, echo(n))));
  const svc = (v1: string, v2: string, w: number) => ({ shop: { match: { pathPrefix: '/' }, versions: { stable: v1, canary: v2 }, weights: { stable: 100 - w, canary: w }, stickyBy: 'header:x-user-id' } });
  const { url, proxy } = await proxyFor(t, svc(backends[0].url, backends[1].url, 0));
  const pool = new Pool(url, { connections: 16 });
  t.after(() => pool.close());
  let stop = false;
  const statuses = new Map<number, number>();
  let failures = 0;
  const worker = async (id: number) => {
    let i = 0;
    while (!stop) {
      try {
        const r = await pool.request({ path: '/', method: 'GET', headers: { 'x-user-id': `u${id}-${i++}` } });
        await r.body.dump();
        statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
      } catch {
        failures++;
      }
    }
  };
  const workers = Array.from({ length: 16 }, (_, i) => worker(i));
  for (let v = 2; v <= 60; v++) {
    // Shift weights and move the canary between instances, as rollouts and redeploys do.
    const pair = v % 2 ? [backends[0].url, backends[1].url] : [backends[2].url, backends[3].url];
    proxy.setTable(table({ services: svc(pair[0], pair[1], (v * 7) % 101) }, v));
    const target = [...statuses.values()].reduce((a, b) => a + b, 0) + 20;
    await until(() => [...statuses.values()].reduce((a, b) => a + b, 0) >= target, 'traffic between swaps');
  }
  stop = true;
  await Promise.all(workers);
  const total = [...statuses.values()].reduce((a, b) => a + b, 0);
  assert.equal(failures, 0);
  assert.deepEqual([...statuses.keys()], [200], `statuses: ${JSON.stringify([...statuses])}`);
  assert.ok(total > 1000, `${total} requests`);
});

test('graceful close drains in-flight requests, then refuses new ones', async (t) => {
  const held: Array<() => void> = [];
  const up = await backend(t, (_req, res) => held.push(() => res.end('done')));
  const { url, proxy } = await proxyFor(t, { shop: { match: { pathPrefix: '/' }, versions: { stable: up.url } } });
  const inflight = request(url);
  await until(() => held.length === 1, 'request in flight');
  const closing = proxy.close(5_000);
  await until(() => !proxy.server.listening, 'the listener to close');
  await assert.rejects(request(url, { reset: true }), 'new connections are refused');
  held[0]();
  const res = await inflight;
  assert.equal(res.statusCode, 200);
  assert.equal(await res.body.text(), 'done');
  await closing;
});

test('graceful close gives up at the deadline', async (t) => {
  const up = await backend(t, () => {});
  const { url, proxy } = await proxyFor(t, { shop: { match: { pathPrefix: '/' }, versions: { stable: up.url } } });
  const inflight = request(url).catch((e: Error) => e);
  await until(() => proxy.stats().inflight === 1, 'request in flight');
  await proxy.close(100);
  assert.ok((await inflight) instanceof Error);
});
