// The routing-table stream and event shipping over real loopback sockets, in one process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { startServer } from '../../src/runtime/server.ts';
import { startProxyNode } from '../../src/runtime/proxy-node.ts';
import { followTableStream } from '../../src/runtime/table-stream.ts';
import { createEventShipper } from '../../src/runtime/event-shipper.ts';
import { readTableFile } from '../../src/runtime/table-file.ts';
import { request } from 'undici';
import { createTableStreamRoutes, tableEvent } from '../../src/control/stream.ts';
import { ControlPlane } from '../../src/control/plane.ts';
import { createControlServer, listenOn } from '../../src/control/server.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { WideEvent } from '../../src/events/schema.ts';
import type { RoutingTable } from '../../src/proxy/table.ts';
import { backend, config, echo } from '../proxy/helpers.ts';
import { api, configDir, eventually, via } from './helpers.ts';

const ADMIN = 'admin-token-for-scale-tests';
const quick = { baseMs: 10, maxMs: 50 };

async function httpServer(t: import('node:test').TestContext, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const s = createServer(handler);
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  t.after(() => {
    s.closeAllConnections();
    s.close();
  });
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

/** Two backends, a weir.yaml between them, and `weir server` on it (closed after the test). */
async function controlPlane(t: import('node:test').TestContext) {
  const a = await backend(t, echo('stable'));
  const b = await backend(t, echo('canary'));
  const dir = configDir(t, a.url, b.url);
  const server = await startServer({ configPath: 'weir.yaml', cwd: dir, env: { WEIR_ADMIN_TOKEN: ADMIN } });
  t.after(() => server.close());
  return { dir, server, control: `http://127.0.0.1:${server.controlAddress.port}` };
}

test('a proxy node follows the control plane: first table, weight changes, the saved file, events shipped', async (t) => {
  const { dir, server, control } = await controlPlane(t);
  const stateFile = join(dir, 'state', 'proxy-table.json');
  const node = await startProxyNode({ controlUrl: control, token: ADMIN, listen: '127.0.0.1:0', stateFile, events: { flushIntervalMs: 20 } });
  t.after(() => node.close(0));
  const proxy = `http://127.0.0.1:${node.address.port}`;
  assert.equal(node.source, 'control');
  assert.equal(await via(proxy), 'stable');
  const put = await api(control, ADMIN, 'PUT', '/api/v1/services/shop/weights', { stable: 0, canary: 100 });
  assert.equal(put.status, 200);
  await eventually(async () => (await via(proxy)) === 'canary', 'the proxy to follow the new weights');
  await eventually(() => {
    const saved = readTableFile(stateFile);
    return 'table' in saved && saved.table.version === server.plane.table.version;
  }, 'the newest table saved to the state file');
  await eventually(() => node.events.stats().shipped >= 2, 'events shipped to POST /api/v1/proxy-events');
  assert.equal(node.events.stats().dropped, 0);
  // The control plane's Prometheus counters include the requests the remote proxy served.
  await eventually(async () => {
    const m = await request(`${control}/metrics`);
    const text = await m.body.text();
    const served = [...text.matchAll(/^weir_proxy_requests_total\{[^}]*service="shop"[^}]*\} (\d+)/gm)].reduce((a, x) => a + Number(x[1]), 0);
    return served >= 2;
  }, 'the shipped requests in /metrics');
  const once = await api(control, ADMIN, 'GET', '/api/v1/routing-table');
  assert.equal(once.body.version, server.plane.table.version);
});

test('the stream client ignores older tables, sends Last-Event-ID on reconnect, and reports refusals', async (t) => {
  const tables = (v: number): RoutingTable => ({ version: v, services: [] });
  const seen: Array<string | undefined> = [];
  let connection = 0;
  const url = await httpServer(t, (req, res) => {
    if (req.headers.authorization !== 'Bearer good') {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'UNAUTHORIZED', message: 'no' } }));
      return;
    }
    seen.push(req.headers['last-event-id'] as string | undefined);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    // First connection: 10, then an older 5, then 12, then the server drops the stream.
    if (connection++ === 0) res.end(`${tableEvent(tables(10))}: heartbeat\n\n${tableEvent(tables(5))}${tableEvent(tables(12))}`);
    else res.write(tableEvent(tables(20)));
  });
  const got: number[] = [];
  let have = -1;
  const feed = followTableStream({ controlUrl: url, token: 'good', backoff: quick, current: () => have, onTable: (tb) => { have = tb.version; got.push(tb.version); } });
  t.after(() => feed.stop());
  assert.equal((await feed.first).version, 10);
  await eventually(() => got.includes(20), 'the table after reconnecting');
  assert.deepEqual(got, [10, 12, 20], 'the older table 5 was ignored');
  assert.deepEqual(seen.slice(0, 2), [undefined, '12']);

  const states: string[] = [];
  const bad = followTableStream({ controlUrl: url, token: 'bad', backoff: quick, current: () => -1, onTable: () => {}, onState: (s) => states.push(s.reason ?? 'ok') });
  t.after(() => bad.stop());
  await eventually(() => states.length >= 2, 'two refused attempts');
  assert.match(states[0], /HTTP 401 UNAUTHORIZED/);
});

test('a proxy node keeps serving while the control plane restarts, then picks up newer tables', async (t) => {
  const a = await backend(t, echo('stable'));
  const b = await backend(t, echo('canary'));
  const dir = configDir(t, a.url, b.url);
  const first = await startServer({ configPath: 'weir.yaml', cwd: dir, env: { WEIR_ADMIN_TOKEN: ADMIN } });
  const port = first.controlAddress.port;
  const control = `http://127.0.0.1:${port}`;
  const node = await startProxyNode({ controlUrl: control, token: ADMIN, listen: '127.0.0.1:0', stateFile: join(dir, 'pt.json') });
  t.after(() => node.close(0));
  const proxy = `http://127.0.0.1:${node.address.port}`;
  await first.close();
  await eventually(() => !node.connected(), 'the proxy to notice the control plane is gone');
  for (let i = 0; i < 5; i++) assert.equal(await via(proxy), 'stable', 'still serving the last table');
  // The freed port can be taken for a moment as the local end of another test's outgoing connection
  // (the ephemeral range is shared): retry the bind until it is free again.
  let second: Awaited<ReturnType<typeof startServer>> | undefined;
  await eventually(async () => {
    try {
      second = await startServer({ configPath: 'weir.yaml', cwd: dir, env: { WEIR_ADMIN_TOKEN: ADMIN }, controlListen: `127.0.0.1:${port}` });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE' || /EADDRINUSE/.test(String(e))) return false;
      throw e;
    }
  }, 'the control port to be free again');
  t.after(() => second!.close());
  await eventually(() => node.connected(), 'the proxy to reconnect');
  await api(control, ADMIN, 'PUT', '/api/v1/services/shop/weights', { stable: 0, canary: 100 });
  await eventually(async () => (await via(proxy)) === 'canary', 'the new table after the restart');
});

test('the event shipper retries through 503 and 429, keeps order, and drops and counts past its bound', async (t) => {
  const received: WideEvent[] = [];
  const script = [503, 429];
  const auth: string[] = [];
  const url = await httpServer(t, (req, res) => {
    auth.push(String(req.headers.authorization));
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = script.shift() ?? 200;
      if (status !== 200) {
        res.writeHead(status, status === 429 ? { 'retry-after': '0' } : {});
        res.end();
        return;
      }
      const batch = JSON.parse(Buffer.concat(chunks).toString()) as WideEvent[];
      received.push(...batch);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(batch.map((e) => (e['http.route'] === 'reject-me' ? { status: 400, error: 'bad' } : { status: 202 }))));
    });
  });
  const ship = createEventShipper({ controlUrl: url, token: 'tok', batchSize: 3, flushIntervalMs: 20, backoff: quick });
  t.after(() => ship.close(0));
  const ev = (i: number) => ({ 'service.name': 'shop', 'http.route': i === 6 ? 'reject-me' : `/r/${i}`, n: i }) as unknown as WideEvent;
  for (let i = 0; i < 7; i++) ship.push(ev(i));
  await eventually(() => ship.stats().shipped + ship.stats().rejected === 7, 'every event answered');
  assert.deepEqual(received.map((e) => (e as unknown as { n: number }).n), [0, 1, 2, 3, 4, 5, 6], 'in order, each once');
  assert.deepEqual(ship.stats(), { queued: 0, dropped: 0, shipped: 6, rejected: 1, retries: 2 });
  assert.ok(auth.every((a) => a === 'Bearer tok'));

  // Nobody listening: the queue fills to its bound, then drops and counts; close gives up and counts the rest.
  const down = createEventShipper({ controlUrl: 'http://127.0.0.1:9', token: 'tok', capacity: 5, batchSize: 100, flushIntervalMs: 10, backoff: quick });
  for (let i = 0; i < 8; i++) down.push(ev(i));
  assert.deepEqual([down.stats().queued, down.stats().dropped], [5, 3]);
  await down.close(50);
  assert.deepEqual([down.stats().queued, down.stats().dropped, down.stats().shipped], [0, 8, 0]);
});

test('the stream route: the current table first, a heartbeat comment, nothing resent for a Last-Event-ID it already has', async (t) => {
  const dir = configDir(t, 'http://127.0.0.1:1', 'http://127.0.0.1:2');
  const store = openSqliteStore(join(dir, 'state.db'));
  t.after(() => store.close());
  const plane = await ControlPlane.create(config({ services: { shop: { match: { pathPrefix: '/' }, versions: { stable: 'http://127.0.0.1:1', canary: 'http://127.0.0.1:2' } } } }).config, store);
  const stop = new AbortController();
  const server = createControlServer({ routes: createTableStreamRoutes(plane, { heartbeatMs: 20, signal: stop.signal }), tokens: () => [{ token: 'r', principal: { scope: 'operator', name: 'r' } }, { token: 'ro', principal: { scope: 'read', name: 'ro' } }] });
  const { port } = await listenOn(server, 0, '127.0.0.1');
  t.after(() => { stop.abort(); server.closeAllConnections(); server.close(); });
  // The table holds test tokens and shadow credentials: a read token may not follow it.
  const forbidden = await request(`http://127.0.0.1:${port}/api/v1/routing-table/stream`, { headers: { authorization: 'Bearer ro' } });
  assert.equal(forbidden.statusCode, 403);
  await forbidden.body.dump();
  const read = async (headers: Record<string, string>) => {
    const res = await request(`http://127.0.0.1:${port}/api/v1/routing-table/stream`, { headers: { authorization: 'Bearer r', ...headers } });
    assert.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
    let text = '';
    for await (const chunk of res.body) {
      text += String(chunk);
      if (text.includes(': heartbeat')) break;
    }
    res.body.destroy();
    return text;
  };
  const fresh = await read({});
  assert.ok(fresh.indexOf(`id: ${plane.table.version}\nevent: table\n`) < fresh.indexOf(': heartbeat'), 'the table comes first');
  const caughtUp = await read({ 'last-event-id': String(plane.table.version) });
  assert.ok(!caughtUp.includes('event: table'), 'a client that has the version is not sent it again');
});

test('weir proxy --capture-header and --max-header-bytes: the header lands on shipped events; a larger head gets 431', async (t) => {
  const { main } = await import('../../src/cli/main.ts');
  const { dir, control } = await controlPlane(t);
  const stop = new AbortController();
  let out = '';
  const running = main(['proxy', '--control', control, '--token', ADMIN, '--listen', '127.0.0.1:0', '--state-file', join(dir, 'pt.json'),
    '--capture-header', 'X-Tenant', '--max-header-bytes', '4096', '--json'], {
    stdout: (s) => void (out += s), stderr: () => {}, env: {}, cwd: dir, signal: stop.signal,
  });
  t.after(async () => { stop.abort(); await running; });
  await eventually(() => out.includes('\n'), 'weir proxy to start');
  const { proxy } = JSON.parse(out.split('\n')[0]) as { proxy: string };
  const ok = await request(`${proxy}/hello`, { headers: { 'x-tenant': 'acme' } });
  await ok.body.dump();
  assert.equal(ok.statusCode, 200);
  const big = await request(`${proxy}/hello`, { headers: { 'x-big': 'y'.repeat(5000) } });
  await big.body.dump();
  assert.equal(big.statusCode, 431);
  await eventually(async () => {
    const r = await api(control, ADMIN, 'POST', '/api/v1/query', {
      calculations: [{ op: 'COUNT' }], filters: [{ column: 'http.request.header.x-tenant', op: '=', value: 'acme' }], time_range: 3600,
    });
    return r.status === 200 && (r.body as { data: { results: { data: { COUNT: number } }[] } }).data.results[0]?.data.COUNT === 1;
  }, 'the captured header on the shipped event');
});
