// Seeded random abuse over real sockets: malformed, pipelined, cut-off and upgrade requests from
// clients that hang up at random, against a healthy upstream, a flaky one and one that answers with
// garbage, duplicate lengths, bad chunks, extra answers or nothing, with shadow, tap compare and
// faults on. Whatever each client got, afterwards no exchange or copy may be left in flight, no
// internal error may have been contained, and the proxy must still answer. (An upgrade pipelined
// behind requests in flight once stranded their exchanges; this is how it was found.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import type { TestContext } from 'node:test';
import { request } from 'undici';
import { backend, proxyFor, until } from './helpers.ts';
import { internalErrorCount } from '../../src/proxy/internal-error.ts';

/** A seeded generator (an LCG: enough to pick cases repeatably). */
function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
}

async function badUpstream(t: TestContext, rnd: () => number): Promise<string> {
  const answers = [
    'garbage\r\n\r\n',
    'HTTP/1.1 200 OK\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\nabcd',
    'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n',
    'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok',
    'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 200 OK\r\ncontent-le',
    'HTTP/1.1 101 Switching Protocols\r\nupgrade: x\r\n\r\nraw',
    'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"ok":true}',
  ];
  const server = net.createServer((sock) => {
    sock.on('error', () => {});
    let buf = '';
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      while (buf.includes('\r\n\r\n')) {
        buf = buf.slice(buf.indexOf('\r\n\r\n') + 4);
        const r = rnd();
        if (r < 0.1) sock.end('HTTP/1.1 200 OK\r\n\r\nclose-delimited');
        else if (r < 0.2) sock.destroy(); // resets before answering
        else if (r < 0.25) { /* never answers */ } else sock.write(answers[Math.floor(rnd() * answers.length)]);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

/** One client connection with 1–3 requests of random shape, cut short or hung up on at random. */
function oneClient(port: number, rnd: () => number): Promise<void> {
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)];
  const methods = ['GET', 'POST', 'PUT', 'HEAD', 'DELETE', 'OPTIONS', 'CONNECT'];
  const paths = ['/', '/slow', '/api?x=1', '//', '/%zz', '*', 'http://x/abs', 'example.com:443'];
  const extra = ['x-user-id: u1', 'x-user-id: u2', 'x-weir-test-token: fuzz-test-token', 'x-weir-version: bad', 'x-weir-fault-delay-ms: 1',
    'x-weir-fault-abort-status: 503', 'connection: close', 'expect: 100-continue', 'expect: nope', 'transfer-encoding: chunked',
    'content-length: 5', 'content-length: -1', 'connection: upgrade\r\nupgrade: websocket', `x-big: ${'v'.repeat(1500)}`];
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    s.on('data', () => {});
    s.on('close', () => resolve());
    s.setTimeout(3000, () => s.destroy());
    s.on('connect', () => {
      let msg = '';
      const n = 1 + Math.floor(rnd() * 3);
      for (let i = 0; i < n; i++) {
        const h = ['host: shop'];
        for (let k = Math.floor(rnd() * 4); k > 0; k--) h.push(pick(extra));
        const body = h.includes('transfer-encoding: chunked') ? pick(['5\r\nhello\r\n0\r\n\r\n', 'zz\r\n']) : h.includes('content-length: 5') ? pick(['hello', 'hel']) : '';
        msg += `${pick(methods)} ${pick(paths)} HTTP/1.${rnd() < 0.1 ? 0 : 1}\r\n${h.join('\r\n')}\r\n\r\n${body}`;
      }
      if (rnd() < 0.1) msg = Buffer.from(Array.from({ length: 100 }, () => Math.floor(rnd() * 256))).toString('latin1');
      const cut = rnd() < 0.2 ? Math.floor(rnd() * msg.length) : msg.length;
      s.write(msg.slice(0, cut), 'latin1');
      if (cut < msg.length || rnd() < 0.3) setTimeout(() => s.destroy(), Math.floor(rnd() * 20));
      else setTimeout(() => s.end(), 100);
    });
  });
}

for (const seed of [1, 2]) {
  test(`random traffic (seed ${seed}) leaves no exchange or copy in flight and no internal error; the proxy still answers`, async (t) => {
    const rnd = lcg(seed);
    const ok = await backend(t, (req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, r: rnd() })));
    });
    const flaky = await backend(t, (req, res) => {
      req.resume();
      req.on('end', () => (rnd() < 0.2 ? req.socket.destroy() : res.writeHead(200).end('fine')));
    });
    const bad = await badUpstream(t, rnd);
    const services = {
      shop: {
        match: { pathPrefix: '/' },
        versions: { stable: ok.url, stable2: ok.url, next: flaky.url, bad: { upstreams: [bad], timeouts: { headers: '300ms', idle: '300ms' } } },
        weights: { stable: 80, next: 10, bad: 10 },
        stickyBy: 'header:x-user-id',
        testTraffic: { tokens: ['fuzz-test-token'] },
        shadow: { version: 'bad', percent: 50, allowUnsafeMethods: true, timeout: '500ms' },
        compare: { candidate: 'bad', secondary: 'stable2', sampleRate: 0.5, allowSideEffects: true, timeout: '500ms' },
        faults: { rules: [{ name: 'slow', match: { pathPrefix: '/slow' }, delay: { fixed: '2ms' }, scope: 'everyone', percent: 20 }] },
      },
    };
    const before = internalErrorCount();
    const { url, proxy } = await proxyFor(t, services, { random: rnd });
    const port = Number(new URL(url).port);
    let started = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (started < 400) {
        started++;
        await oneClient(port, rnd);
      }
    }));
    const shadow = () => proxy.stats().taps.shadow.get('shop')?.counters.inflight ?? 0;
    const compare = () => proxy.taps.compare.get('shop')?.counters.inflight ?? 0;
    await until(() => proxy.stats().inflight === 0 && shadow() === 0 && compare() === 0, 'nothing left in flight', 15_000);
    assert.equal(internalErrorCount(), before);
    // The healthy version still answers (pinned with the test token: sticky routing may pick 'bad').
    const res = await request(`${url}/after`, { headers: { 'x-weir-test-token': 'fuzz-test-token', 'x-weir-version': 'stable' } });
    assert.equal(res.statusCode, 200);
    await res.body.dump();
  });
}
