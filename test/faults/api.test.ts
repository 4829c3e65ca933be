import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { backend, echo, config } from '../proxy/helpers.ts';
import { ControlPlane } from '../../src/control/plane.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { createProxy } from '../../src/proxy/server.ts';
import { createMemorySink } from '../../src/events/jsonl-sink.ts';
import { createFaultRoutes } from '../../src/proxy/faults/routes.ts';
import { createShadowRoutes } from '../../src/proxy/shadow/routes.ts';
import { createControlServer, listenOn } from '../../src/control/server.ts';

test('faults API: rules validated with paths, applied to the proxy at once, expiring, removed back to weir.yaml\'s rules; shadow counters over the API', async (t) => {
  const up = await backend(t, echo('stable'));
  const next = await backend(t, echo('next'));
  const cfg = config({ services: { shop: { match: { pathPrefix: '/' }, versions: { stable: up.url, next: next.url }, shadow: { version: 'next' }, faults: { maxPercent: 20, rules: [{ name: 'from-yaml', scope: { header: 'x-yaml' }, percent: 20, abort: { status: 418 } }] } } } }).config;
  const store = openSqliteStore(join(mkdtempSync(join(tmpdir(), 'weir-faults-')), 'state.db'));
  let now = 1_000_000;
  const plane = await ControlPlane.create(cfg, store, () => now);
  const proxy = createProxy({ table: plane.table, sink: createMemorySink(), now: () => now, random: () => 0 }); // every percent draw hits
  plane.subscribe((tb) => proxy.setTable(tb));
  const { port } = await proxy.listen(0);
  const control = createControlServer({ routes: [...createFaultRoutes(plane, () => proxy, () => now), ...createShadowRoutes(() => proxy)], tokens: () => [{ token: 'faults-admin-token', principal: { scope: 'admin', name: 'alice' } }] });
  const addr = await listenOn(control, 0, '127.0.0.1');
  t.after(async () => { control.closeAllConnections(); control.close(); await proxy.close(0); await store.close(); });
  const api = (method: 'GET' | 'POST' | 'DELETE', body?: unknown, path = '/api/v1/services/shop/faults') => request(`http://127.0.0.1:${addr.port}${path}`, { method, headers: { authorization: 'Bearer faults-admin-token', 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const hit = async (headers: Record<string, string> = {}) => { const r = await request(`http://127.0.0.1:${port}/`, { headers }); await r.body.dump(); return r.statusCode; };

  const bad = await api('POST', { faults: [{ scope: 'everyone', percent: 50, abort: { status: 503 } }, { version: 'nope', delay: { fixed: 5 } }] });
  assert.equal(bad.statusCode, 400);
  const err = await bad.body.json() as { error: { code: string; details: { problems: string[] } } };
  assert.equal(err.error.code, 'VALIDATION_FAILED');
  assert.deepEqual(err.error.details.problems, [
    'faults[0].percent: 50% is above maxPercent 20 for a fault not scoped to test traffic; lower it, scope it to test, or raise faults.maxPercent',
    'faults[1].version: no version named "nope" (versions: stable, next)',
  ]);
  assert.equal(await hit({ 'x-yaml': '1' }), 418, 'weir.yaml\'s rule is on');

  const set = await api('POST', { faults: [{ name: 'drill', scope: { header: 'x-drill' }, percent: 10, abort: { status: 502 } }], durationMs: 60_000, reason: 'game day' });
  assert.equal(set.statusCode, 200);
  const view = await set.body.json() as { source: string; rules: Array<{ name: string; until: number }> };
  assert.equal(view.source, 'api');
  assert.equal(view.rules[0].until, now + 60_000);
  assert.equal(await hit({ 'x-drill': '1' }), 502);
  assert.equal(await hit({ 'x-yaml': '1' }), 200, 'API rules replace the config\'s');
  now += 60_001;
  assert.equal(await hit({ 'x-drill': '1' }), 200, 'expired on its own');

  const del = await api('DELETE', { reason: 'done' });
  assert.equal(del.statusCode, 200);
  await del.body.dump();
  assert.equal(await hit({ 'x-yaml': '1' }), 418, 'back to weir.yaml\'s rules');
  const all = await request(`http://127.0.0.1:${addr.port}/api/v1/services/shop/faults?all=1`, { method: 'DELETE', headers: { authorization: 'Bearer faults-admin-token' } });
  await all.body.dump();
  assert.equal(await hit({ 'x-yaml': '1' }), 200, '?all=1 silences them too');
  const audit = await store.listAudit({ target: 'shop', limit: 10 });
  assert.deepEqual(audit.map((a) => a.action).filter((a) => a.startsWith('faults.')).sort(), ['faults.clear', 'faults.clear', 'faults.set']);
  assert.ok(audit.every((a) => !a.action.startsWith('faults.') || a.actor === 'alice'));

  const sh = await api('GET', undefined, '/api/v1/services/shop/shadow');
  const shadow = await sh.body.json() as { counters: { sent: number } };
  assert.ok(shadow.counters.sent >= 1);
});
