// Flags at the edge: a service's version chosen by a flag's variant, over real sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { buildTable } from '../../src/proxy/table.ts';
import { createProxy } from '../../src/proxy/server.ts';
import { createMemorySink } from '../../src/events/jsonl-sink.ts';
import { validateConfig } from '../../src/config/validate.ts';
import { startWeir } from '../../src/runtime/up.ts';
import { backend, config, echo, until } from './helpers.ts';
import { tempDir } from '../tmpdir.ts';

const CHECKOUT = {
  state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'off',
  targeting: { if: [{ in: [{ var: 'headers.x-plan' }, ['pro']] }, 'on', { if: [{ starts_with: [{ var: 'targetingKey' }, 'beta-'] }, 'on', null] }] },
};

async function get(url: string, headers: Record<string, string> = {}) {
  const r = await request(url, { headers });
  return (await r.body.json()) as { name: string; headers: Record<string, string> };
}

test('proxy: flag variant chooses the version (after test override and cohorts, before weights); event and forwarded header carry the variant', async (t) => {
  const stable = await backend(t, echo('stable'));
  const canary = await backend(t, echo('canary'));
  const services = {
    shop: {
      match: { pathPrefix: '/' }, versions: { stable: stable.url, canary: canary.url }, weights: { stable: 100, canary: 0 },
      stickyBy: 'header:x-user', testTraffic: { tokens: ['test-token-123'] },
      cohorts: [{ version: 'stable', match: { header: 'x-staff', exact: 'yes' } }],
      flag: { key: 'new-checkout', versions: { on: 'canary', off: 'stable' }, forwardHeader: 'x-weir-flag-new-checkout', contextHeaders: ['x-plan'] },
    },
  };
  const sink = createMemorySink();
  const proxy = createProxy({ table: buildTable(config({ services }).config, 1, {}, {}, {}, { 'new-checkout': CHECKOUT, unrelated: { state: 'ENABLED', variants: { a: 1 } } }), sink });
  const { port } = await proxy.listen(0, '127.0.0.1');
  t.after(() => proxy.close(0));
  const url = `http://127.0.0.1:${port}/cart`;
  assert.deepEqual(Object.keys(proxy.table.services[0].route.flag?.flags ?? {}), ['new-checkout'], 'only the flags the service references');

  const pro = await get(url, { 'x-plan': 'pro', 'x-user': 'u1', 'x-weir-flag-new-checkout': 'spoofed' });
  assert.equal(pro.name, 'canary');
  assert.equal(pro.headers['x-weir-flag-new-checkout'], 'on', 'the variant, never the client\'s header');
  assert.equal((await get(url, { 'x-user': 'beta-7' })).name, 'canary', 'targetingKey is the sticky key');
  const plain = await get(url, { 'x-user': 'u2' });
  assert.equal(plain.name, 'stable');
  assert.equal(plain.headers['x-weir-flag-new-checkout'], 'off');
  assert.equal((await get(url, { 'x-plan': 'pro', 'x-staff': 'yes' })).name, 'stable', 'cohorts come before the flag');
  assert.equal((await get(url, { 'x-plan': 'free', 'x-weir-test-token': 'test-token-123', 'x-weir-version': 'canary' })).name, 'canary', 'test override first');
  await until(() => sink.events.length >= 5, 'events');
  const ev = sink.events[0];
  assert.deepEqual([ev['weir.decision'], ev['feature_flag.key'], ev['feature_flag.result.variant'], ev['service.version']], ['flag', 'new-checkout', 'on', 'canary']);
  assert.equal(sink.events[3]['weir.decision'], 'cohort');
  assert.equal(sink.events[3]['feature_flag.key'], undefined);
});

test('proxy: an undefined or disabled flag (or an unmapped variant) falls through to the weights', async (t) => {
  const stable = await backend(t, echo('stable'));
  const canary = await backend(t, echo('canary'));
  const services = { shop: { match: { pathPrefix: '/' }, versions: { stable: stable.url, canary: canary.url }, weights: { stable: 0, canary: 100 }, flag: { key: 'new-checkout', versions: { on: 'stable' } } } };
  for (const defs of [{}, { 'new-checkout': { ...CHECKOUT, state: 'DISABLED' } }, { 'new-checkout': { ...CHECKOUT, targeting: undefined } }]) {
    const sink = createMemorySink();
    const proxy = createProxy({ table: buildTable(config({ services }).config, 1, {}, {}, {}, defs), sink });
    const { port } = await proxy.listen(0, '127.0.0.1');
    t.after(() => proxy.close(0));
    assert.equal((await get(`http://127.0.0.1:${port}/`)).name, 'canary');
    await until(() => sink.events.length === 1, 'event');
    assert.equal(sink.events[0]['weir.decision'], 'random');
  }
});

test('config: services.<name>.flag.versions must name versions of the service', () => {
  const r = validateConfig({ services: { shop: { match: {}, versions: { stable: 'http://127.0.0.1:1' }, flag: { key: 'f', versions: { on: 'canry' } } } } }, {});
  assert.equal(r.ok, false);
  assert.ok(!r.ok && r.issues.some((i) => i.path === 'services.shop.flag.versions.on'));
});

test('weir up: a flag changed through the API reaches the proxy through the routing table (kill switch → weights)', async (t) => {
  const stable = await backend(t, echo('stable'));
  const canary = await backend(t, echo('canary'));
  const dir = tempDir('weir-edge-flags-');
  writeFileSync(join(dir, 'flags.json'), JSON.stringify({ flags: { 'new-checkout': { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'on' } } }));
  writeFileSync(join(dir, 'weir.yaml'), `events: { accessLog: false }\nflags: { files: [flags.json] }\nservices:\n  shop:\n    match: { pathPrefix: / }\n    versions: { stable: ${stable.url}, canary: ${canary.url} }\n    flag: { key: new-checkout, versions: { on: canary } }\n`);
  const weir = await startWeir({ configPath: join(dir, 'weir.yaml'), cwd: dir, env: { WEIR_ADMIN_TOKEN: 'edge-token-123' }, proxyListen: '127.0.0.1:0', controlListen: '127.0.0.1:0' });
  t.after(() => weir.close(0));
  const url = `http://127.0.0.1:${weir.proxyAddress.port}/`;
  assert.equal((await get(url)).name, 'canary');
  const r = await request(`http://127.0.0.1:${weir.controlAddress.port}/api/v1/flags/new-checkout/disable`, { method: 'POST', headers: { authorization: 'Bearer edge-token-123' } });
  assert.equal(r.statusCode, 200);
  await r.body.dump();
  await until(() => weir.proxy.table.services[0].route.flag?.flags['new-checkout'] !== undefined && (weir.proxy.table.services[0].route.flag?.flags['new-checkout'] as { state: string }).state === 'DISABLED', 'the new table');
  assert.equal((await get(url)).name, 'stable');
});
