// The proxy's own HTTP/1.1 server and upstream client (http1.ts, upstream-client.ts), spoken to in
// raw bytes over loopback: framing, pipelining, refusals, and keep-alive reuse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import type { TestContext } from 'node:test';
import { backend, echo, proxyFor, rawRequest, until } from './helpers.ts';

const svc = (versions: Record<string, string>) => ({ shop: { match: { pathPrefix: '/' }, versions } });

/** Writes `bytes` (then `more`, a moment later) on a fresh connection and collects what comes back until `done` says so or the server closes. */
async function converse(port: number, bytes: string | Buffer, done: (text: string) => boolean = () => false, more?: string): Promise<{ text: string; closed: boolean }> {
  const sock = net.connect(port, '127.0.0.1');
  await once(sock, 'connect');
  let text = '';
  let closed = false;
  sock.write(bytes);
  if (more !== undefined) setImmediate(() => sock.write(more)); // a second packet, while the first is being handled
  await new Promise<void>((resolve) => {
    sock.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (done(text)) resolve();
    });
    sock.on('close', () => { closed = true; resolve(); });
    sock.on('error', () => {});
  });
  sock.destroy();
  return { text, closed };
}

/** Counts complete HTTP answers in `text` (heads seen), for pipelined exchanges. */
const heads = (text: string) => text.match(/HTTP\/1\.1 \d{3}/g) ?? [];

/** A TCP upstream that speaks raw HTTP as `onRequest` decides (one call per request head seen). */
async function rawUpstream(t: TestContext, onRequest: (sock: net.Socket, head: string, n: number) => void): Promise<{ url: string; connections: () => number }> {
  let n = 0;
  let conns = 0;
  const server = net.createServer((sock) => {
    conns++;
    let buf = '';
    sock.on('error', () => {});
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      let i: number;
      while ((i = buf.indexOf('\r\n\r\n')) !== -1) {
        const head = buf.slice(0, i);
        buf = buf.slice(i + 4);
        onRequest(sock, head, n++);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => conns };
}

test('pipelined requests are answered in order on one connection', async (t) => {
  const up = await backend(t, echo('stable'));
  const { port } = await proxyFor(t, svc({ stable: up.url }));
  const req = (p: string, last = false) => `GET ${p} HTTP/1.1\r\nhost: x\r\n${last ? 'connection: close\r\n' : ''}\r\n`;
  const { text, closed } = await converse(port, req('/one') + req('/two') + req('/three', true));
  assert.ok(closed, 'closed after the answer to the request that asked for it');
  const urls = [...text.matchAll(/"url":"([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(urls, ['/one', '/two', '/three']);
});

test('framing: a chunked upstream answer is re-chunked for HTTP/1.1 and close-delimited for HTTP/1.0', async (t) => {
  const up = await backend(t, (_req, res) => {
    res.write('hello ');
    res.end('world'); // no content-length: node sends it chunked
  });
  const { port } = await proxyFor(t, svc({ stable: up.url }));
  const one1 = await converse(port, 'GET / HTTP/1.1\r\nhost: x\r\n\r\n', (s) => s.endsWith('0\r\n\r\n'));
  assert.match(one1.text, /transfer-encoding: chunked/i);
  assert.ok(one1.text.includes('6\r\nhello \r\n'));
  const one0 = await converse(port, 'GET / HTTP/1.0\r\nhost: x\r\n\r\n');
  assert.ok(one0.closed, 'an HTTP/1.0 body without a length ends with the connection');
  assert.doesNotMatch(one0.text, /transfer-encoding/i);
  assert.match(one0.text, /connection: close/i);
  assert.ok(one0.text.endsWith('\r\n\r\nhello world'));
});

test('HTTP/1.0 keep-alive is honoured; connection: close is obeyed', async (t) => {
  const up = await backend(t, (req, res) => res.writeHead(200, { 'content-length': String(req.url!.length) }).end(req.url));
  const { port } = await proxyFor(t, svc({ stable: up.url }));
  const ka = await converse(port, 'GET /a HTTP/1.0\r\nhost: x\r\nconnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\nhost: x\r\n\r\n');
  assert.equal(heads(ka.text).length, 2);
  assert.match(ka.text, /connection: keep-alive/i);
  assert.ok(ka.closed);
  const close = await converse(port, 'GET /c HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\nGET /d HTTP/1.1\r\nhost: x\r\n\r\n');
  assert.ok(close.closed);
  assert.equal(heads(close.text).length, 1, 'nothing after connection: close is answered');
  assert.match(close.text, /connection: close/i);
});

test('refusals: no Host on HTTP/1.1 is 400, an unknown Expect is 417, 100-continue is answered first', async (t) => {
  const up = await backend(t, echo('stable'));
  const { port, events } = await proxyFor(t, svc({ stable: up.url }));
  const noHost = await converse(port, 'GET / HTTP/1.1\r\n\r\n', (s) => s.includes('}'));
  assert.match(noHost.text, /^HTTP\/1\.1 400 /);
  assert.match(noHost.text, /"code":"BAD_REQUEST"/);
  const odd = await converse(port, 'GET / HTTP/1.1\r\nhost: x\r\nexpect: tea\r\n\r\n', (s) => s.includes('}'));
  assert.match(odd.text, /^HTTP\/1\.1 417 /);
  const cont = await converse(port, 'POST / HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\ncontent-length: 5\r\n\r\n', (s) => s.startsWith('HTTP/1.1 100'));
  assert.match(cont.text, /^HTTP\/1\.1 100 Continue\r\n\r\n/);
  await until(() => events.length >= 2, 'the refusals to be recorded');
  assert.deepEqual(events.slice(0, 2).map((e) => e['error.type']), ['BAD_REQUEST', 'EXPECTATION_FAILED']);
});

test('request smuggling shapes are refused by llhttp with 400, and nothing reaches the upstream', async (t) => {
  let reached = 0;
  let completed = 0;
  const up = await backend(t, (req, res) => {
    reached++;
    req.on('error', () => {});
    req.on('end', () => completed++);
    req.resume();
    res.end('ok');
  });
  const { port } = await proxyFor(t, svc({ stable: up.url }));
  const shapes = [
    'POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n',
    'POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 4\r\ncontent-length: 5\r\n\r\nabcde',
    'GET / HTTP/1.1\r\nhost: x\r\nbad header\r\n\r\n',
    'GET / HTTP/1.1\r\nhost: x\r\nx-a: 1\r\n x-folded: 2\r\n\r\n',
  ];
  for (const s of shapes) {
    const r = await converse(port, s);
    assert.match(r.text, /^HTTP\/1\.1 400 /, s);
    assert.ok(r.closed, 'the connection is closed after a malformed request');
  }
  assert.equal(reached, 0);
  // A bad chunk is found only in the body, after the request has started upstream: the client gets
  // 400 and the upstream's copy is cut off, never completed.
  const r = await converse(port, 'POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n');
  assert.match(r.text, /^HTTP\/1\.1 400 /);
  assert.ok(r.closed);
  assert.equal(completed, 0);
});

test('a reused upstream connection found closed is retried once on a fresh one (bodyless idempotent only)', async (t) => {
  // The upstream answers a connection's first request with keep-alive, then closes that connection
  // when the second request arrives, without answering: the race of a server's idle timeout.
  const up = await rawUpstream(t, (sock, head, _n) => {
    const count = ((sock as net.Socket & { served?: number }).served ??= 0);
    (sock as net.Socket & { served?: number }).served = count + 1;
    if (count === 0) sock.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    else sock.destroy();
    void head;
  });
  const { url } = await proxyFor(t, svc({ stable: up.url }));
  assert.equal(await (await fetch(`${url}/1`)).text(), 'ok');
  const second = await fetch(`${url}/2`);
  assert.equal(second.status, 200, 'a GET is sent again on a new connection');
  assert.equal(up.connections(), 2);
  const post = await fetch(`${url}/3`, { method: 'POST', body: 'data' });
  assert.equal(post.status, 502, 'a request with a body is never replayed');
  assert.equal(((await post.json()) as { error: { code: string } }).error.code, 'UPSTREAM_RESET');
});

test('an upstream answer with many headers passes through whole', async (t) => {
  const up = await backend(t, (_req, res) => {
    for (let i = 0; i < 60; i++) res.setHeader(`x-h${i}`, `v${i}`);
    res.end('ok');
  });
  const { url } = await proxyFor(t, svc({ stable: up.url }));
  const res = await fetch(url);
  for (let i = 0; i < 60; i++) assert.equal(res.headers.get(`x-h${i}`), `v${i}`);
});

test('a request with many headers reaches the upstream whole', async (t) => {
  const up = await backend(t, echo('stable'));
  const { url } = await proxyFor(t, svc({ stable: up.url }));
  const headers: Record<string, string> = {};
  for (let i = 0; i < 60; i++) headers[`x-h${i}`] = `v${i}`;
  const res = await rawRequest(url, { headers });
  const body = JSON.parse(res.body) as { headers: Record<string, string> };
  for (let i = 0; i < 60; i++) assert.equal(body.headers[`x-h${i}`], `v${i}`);
});

test('bytes sent right behind an upgrade request reach the upstream', async (t) => {
  // An upstream that switches protocols and then echoes every byte back.
  const server = net.createServer((sock) => {
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    let upgraded = false;
    sock.on('data', (d: Buffer) => {
      if (upgraded) return void sock.write(d);
      buf = Buffer.concat([buf, d]);
      const i = buf.indexOf('\r\n\r\n');
      if (i === -1) return;
      upgraded = true;
      sock.write('HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: echo\r\n\r\n');
      if (buf.length > i + 4) sock.write(buf.subarray(i + 4));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const { port } = await proxyFor(t, svc({ stable: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
  const { text } = await converse(port, 'GET /ws HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: echo\r\n\r\nEARLY-', (s) => s.includes('EARLY-BYTES'), 'BYTES');
  assert.match(text, /^HTTP\/1\.1 101 /);
  assert.ok(text.endsWith('\r\n\r\nEARLY-BYTES'), 'both the bytes in the head\'s packet and the ones after it');
});

test('an upgrade pipelined behind requests in flight: they are answered in order, then 400 and close; a CONNECT gets 400', async (t) => {
  // A slow upstream, so the first request is still being answered when the upgrade's head arrives.
  const up = await backend(t, (req, res) => setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end(`answer to ${req.url}`), 30));
  const { port, proxy, events } = await proxyFor(t, svc({ stable: up.url }));
  const { text, closed } = await converse(port,
    'GET /one HTTP/1.1\r\nhost: x\r\n\r\nGET /two HTTP/1.1\r\nhost: x\r\n\r\nGET /ws HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n');
  assert.deepEqual(heads(text), ['HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 400']);
  assert.ok(text.indexOf('answer to /one') < text.indexOf('answer to /two'), 'in order');
  assert.ok(closed);
  await until(() => events.length === 2, 'both events');
  assert.equal(proxy.stats().inflight, 0, 'no exchange is stranded');
  const connect = await converse(port, 'CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\n\r\n');
  assert.deepEqual(heads(connect.text), ['HTTP/1.1 400']);
  assert.ok(connect.closed);
});

test('every connection frees its llhttp parsers (they are not garbage-collected)', async (t) => {
  const { parsersInUse } = await import('../../src/proxy/llhttp.ts');
  // An upstream that closes every connection, so both sides make a parser per request.
  const up = await backend(t, (_req, res) => res.writeHead(200, { connection: 'close', 'content-length': '2' }).end('ok'));
  const { port } = await proxyFor(t, svc({ stable: up.url }));
  const before = parsersInUse();
  for (let i = 0; i < 50; i++) {
    const r = await converse(port, 'GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    assert.match(r.text, /^HTTP\/1\.1 200 /);
  }
  await until(() => parsersInUse() <= before, `parsers to be freed (${parsersInUse() - before} left)`);
});

test('a head that does not complete in time gets 408 and the connection closes; idle connections close at the keep-alive limit without one', async (t) => {
  const { Http1Server } = await import('../../src/proxy/http1.ts');
  const http = new Http1Server({
    maxHeaderBytes: 16 * 1024, headersTimeoutMs: 60_000, keepAliveTimeoutMs: 65_000,
    onRequest: (_req, res) => { res.writeHead(200, ['content-length', '2']); res.end('ok'); },
    onUpgrade: (_req, socket) => socket.destroy(),
  });
  http.server.listen(0, '127.0.0.1');
  await once(http.server, 'listening');
  t.after(() => { http.closeAll(); http.server.close(); });
  const port = (http.server.address() as AddressInfo).port;
  const open = async (bytes: string) => {
    const sock = net.connect(port, '127.0.0.1');
    let text = '';
    sock.on('data', (d: Buffer) => { text += d.toString('latin1'); });
    const closed = once(sock, 'close');
    await once(sock, 'connect');
    if (bytes) sock.write(bytes);
    return { sock, closed, text: () => text };
  };
  const partial = await open('GET /slow HTTP/1.1\r\nhost: x\r\nx-a: 1\r\n');
  const answered = await open('GET /fast HTTP/1.1\r\nhost: x\r\n\r\n');
  const silent = await open('');
  await until(() => http.connections.size === 3 && [...http.connections].filter((c) => c.headStart > 0).length === 1 && answered.text().includes('ok'), 'the partial head to arrive');
  http.sweep(performance.now() + 61_000);
  await partial.closed;
  assert.match(partial.text(), /^HTTP\/1\.1 408 /);
  assert.equal(http.connections.size, 2, 'a connection that sent a whole request, or nothing, is not timed out as a slow head');
  http.sweep(performance.now() + 66_000);
  await Promise.all([answered.closed, silent.closed]);
  assert.equal(silent.text(), '', 'an idle connection closes without an answer');
  assert.doesNotMatch(answered.text(), /408/);
});
