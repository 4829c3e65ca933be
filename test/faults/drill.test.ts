import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { backend, echo, config, until } from '../proxy/helpers.ts';
import { ControlPlane } from '../../src/control/plane.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { createProxy } from '../../src/proxy/server.ts';
import { createMemorySink } from '../../src/events/jsonl-sink.ts';
import { createServicesRoutes } from '../../src/control/services-routes.ts';
import { createFaultRoutes } from '../../src/proxy/faults/routes.ts';
import { createControlServer, listenOn } from '../../src/control/server.ts';
import { main } from '../../src/cli/main.ts';
import type { TestContext } from 'node:test';

const TOKEN = 'drill-admin-token';

async function stack(t: TestContext, upUrl: string, errorBudget: object | false = { maxErrorRate: 0.5, minRequests: 10 }) {
  const dir = mkdtempSync(join(tmpdir(), 'weir-drill-'));
  const cfg = config({ services: { shop: { match: { pathPrefix: '/' }, versions: { stable: upUrl }, faults: { maxPercent: 100, errorBudget } } } }).config;
  const store = openSqliteStore(join(dir, 'state.db'));
  const plane = await ControlPlane.create(cfg, store);
  const proxy = createProxy({ table: plane.table, sink: createMemorySink() });
  plane.subscribe((tb) => proxy.setTable(tb));
  const { port } = await proxy.listen(0);
  const control = createControlServer({ routes: [...createServicesRoutes(plane, () => proxy), ...createFaultRoutes(plane, () => proxy)], tokens: () => [{ token: TOKEN, principal: { scope: 'admin', name: 'admin' } }] });
  const addr = await listenOn(control, 0, '127.0.0.1');
  t.after(async () => { control.closeAllConnections(); control.close(); await proxy.close(0); await store.close(); });
  let out = '';
  const io = { stdout: (s: string) => { out += s; }, stderr: (s: string) => { out += s; }, env: { WEIR_URL: `http://127.0.0.1:${addr.port}`, WEIR_TOKEN: TOKEN }, cwd: dir, signal: new AbortController().signal };
  return { dir, plane, proxy, store, io, output: () => out, proxyUrl: `http://127.0.0.1:${port}`, api: `http://127.0.0.1:${addr.port}` };
}

test('a drill applies its faults through the API, stops on its own when the proxy\'s error budget trips, removes them, and stores its report in the audit log', async (t) => {
  const up = await backend(t, echo('stable'));
  const s = await stack(t, up.url);
  writeFileSync(join(s.dir, 'drill.yaml'), `name: outage
service: shop
duration: 10m
interval: 20ms
faults:
  - { name: all-down, scope: everyone, percent: 100, abort: { status: 503 } }
`);
  let running = true;
  const traffic = (async () => {
    let failures = 0;
    while (running) {
      const res = await request(s.proxyUrl);
      await res.body.dump();
      if (res.statusCode === 503) failures++;
    }
    return failures;
  })();
  const code = await main(['drill', 'run', 'drill.yaml', '--json'], s.io);
  running = false;
  const failures = await traffic;
  assert.equal(code, 3, s.output());
  const report = JSON.parse(s.output()) as { outcome: string; reason: string; injected: number };
  assert.equal(report.outcome, 'stopped');
  assert.match(report.reason, /the proxy stopped the faults: live error rate/);
  assert.ok(failures >= 10 && report.injected >= 10);
  assert.deepEqual(s.plane.table.services[0].faults, undefined, 'the faults are gone');
  const res = await request(s.proxyUrl);
  assert.equal(res.statusCode, 200);
  await res.body.dump();
  const audit = await s.store.listAudit({ target: 'shop', limit: 10 });
  const cleared = audit.find((a) => a.action === 'faults.clear')!;
  assert.equal((cleared.after as { outcome: string }).outcome, 'stopped');
  assert.ok(audit.some((a) => a.action === 'faults.set'));
});

test('a drill runs its course and reports completed; a stop condition on the error rate ends it early', async (t) => {
  const up = await backend(t, echo('stable'));
  const s = await stack(t, up.url, false);
  writeFileSync(join(s.dir, 'ok.yaml'), `service: shop
duration: 150ms
interval: 30ms
faults: [{ name: tests-slow, scope: test, delay: { fixed: 1ms } }]
`);
  assert.equal(await main(['drill', 'run', 'ok.yaml'], s.io), 0, s.output());
  assert.match(s.output(), /COMPLETED/);
  writeFileSync(join(s.dir, 'stop.yaml'), `service: shop
duration: 10m
interval: 20ms
faults: [{ name: half, scope: { header: x-chaos }, abort: { status: 500 } }]
stop: { maxErrorRate: 0.1, minRequests: 5 }
`);
  let running = true;
  const traffic = (async () => { while (running) await (await request(s.proxyUrl, { headers: { 'x-chaos': '1' } })).body.dump(); })();
  const code = await main(['drill', 'run', 'stop.yaml'], s.io);
  running = false;
  await traffic;
  assert.equal(code, 3, s.output());
  assert.match(s.output(), /STOPPED — error rate/);
  await until(() => s.plane.table.services[0].faults === undefined, 'faults removed');
  const bad = await main(['drill', 'run', 'missing.yaml'], s.io);
  assert.equal(bad, 2);
});
