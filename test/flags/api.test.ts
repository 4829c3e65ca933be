// The flags API over a real control plane (startControl on loopback): files + API layers, kill switch,
// validation, history, scheduled changes, overrides, stale report, the flag-set stream.
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startControl } from '../../src/runtime/control.ts';
import { tempDir } from '../tmpdir.ts';

const TOKEN = 'flags-admin-token-for-tests';
const FILE = `flags:\n  new-checkout:\n    state: ENABLED\n    variants: { on: true, off: false }\n    defaultVariant: off\n    targeting:\n      if: [{ ends_with: [{ var: email }, "@example.com"] }, on, off]\n  banner:\n    state: ENABLED\n    variants: { a: a, b: b }\n    defaultVariant: a\n`;

async function start(t: TestContext, opts: { overrides?: string; env?: Record<string, string> } = {}) {
  const dir = tempDir('weir-flags-api-');
  writeFileSync(join(dir, 'flags.yaml'), FILE);
  if (opts.overrides) writeFileSync(join(dir, 'flags.local.yaml'), opts.overrides);
  writeFileSync(join(dir, 'weir.yaml'), `control: { listen: 127.0.0.1:0 }\nevents: { accessLog: false }\nflags: { files: [flags.yaml]${opts.overrides ? ', overrides: flags.local.yaml' : ''} }\nservices:\n  shop:\n    match: { pathPrefix: / }\n    versions: { stable: http://127.0.0.1:9 }\n`);
  let now = Date.parse('2026-11-24T08:00:00Z');
  const logs: string[] = [];
  const cp = await startControl({ configPath: join(dir, 'weir.yaml'), cwd: dir, env: { WEIR_ADMIN_TOKEN: TOKEN, ...opts.env }, now: () => now, log: (l) => logs.push(l) });
  t.after(() => cp.close());
  cp.setReady(true);
  const base = `http://127.0.0.1:${cp.controlAddress.port}`;
  const call = async (method: string, path: string, body?: unknown) => {
    const r = await request(base + path, { method: method as 'GET', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: r.statusCode, body: await r.body.json() as any };
  };
  const ofrep = async (key: string, context: Record<string, unknown> = { targetingKey: 'u1' }) => (await call('POST', `/ofrep/v1/evaluate/flags/${key}`, { context })).body;
  return { cp, call, ofrep, logs, base, advance: (ms: number) => (now += ms), now: () => now };
}

test('flags API: file flags listed; PUT defines a flag (API wins over files); bad definitions apply nothing, with paths', async (t) => {
  const w = await start(t);
  const list = await w.call('GET', '/api/v1/flags');
  assert.deepEqual(list.body.flags.map((f: any) => [f.key, f.layer]), [['banner', 'file'], ['new-checkout', 'file']]);
  const bad = await w.call('PUT', '/api/v1/flags/banner', { state: 'ENABLED', variants: { a: 'a' }, defaultVariant: 'zz' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'CONFIG_INVALID');
  assert.equal(bad.body.error.details[0].path, 'flags.banner.defaultVariant');
  assert.equal((await w.ofrep('banner')).value, 'a', 'nothing applied');
  const put = await w.call('PUT', '/api/v1/flags/banner', { state: 'ENABLED', variants: { a: 'a', b: 'b' }, defaultVariant: 'b' });
  assert.equal(put.status, 200);
  assert.deepEqual([put.body.layer, put.body.revision], ['api', 1]);
  assert.equal((await w.ofrep('banner')).value, 'b', 'the API definition wins over the file');
  const created = await w.call('PUT', '/api/v1/flags/dark-mode', { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'on' });
  assert.equal(created.status, 200);
  assert.equal((await w.ofrep('dark-mode')).value, true);
  const del = await w.call('DELETE', '/api/v1/flags/banner');
  assert.deepEqual([del.status, del.body.stillDefined], [200, true]);
  assert.equal((await w.ofrep('banner')).value, 'a', 'the file definition is back');
  assert.equal((await w.call('DELETE', '/api/v1/flags/new-checkout')).body.error.code, 'NOT_FOUND');
});

test('flags API: disable is the kill switch (code default at once, streams told); enable restores; history has who and the diff', async (t) => {
  const w = await start(t);
  const events: string[] = [];
  const ac = new AbortController();
  t.after(() => ac.abort());
  const stream = await request(`${w.base}/api/v1/flags/stream`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: ac.signal });
  assert.equal(stream.statusCode, 200);
  const reader = (async () => { try { for await (const c of stream.body) events.push(String(c)); } catch { /* aborted */ } })();
  const waitFor = async (pred: () => boolean) => { while (!pred()) await new Promise((r) => setImmediate(r)); };
  await waitFor(() => events.join('').includes('event: flags'));
  assert.equal((await w.ofrep('new-checkout', { targetingKey: 'u', email: 'a@example.com' })).value, true);
  const off = await w.call('POST', '/api/v1/flags/new-checkout/disable', { reason: 'checkout errors' });
  assert.deepEqual([off.status, off.body.definition.state, off.body.layer], [200, 'DISABLED', 'api']);
  const r = await w.ofrep('new-checkout', { targetingKey: 'u', email: 'a@example.com' });
  assert.equal(r.reason, 'DISABLED');
  assert.equal(r.value, undefined, 'no value: the caller uses its code default');
  await waitFor(() => events.join('').split('event: flags').length >= 3);
  assert.match(events.join(''), /"state":"DISABLED"/);
  await w.call('POST', '/api/v1/flags/new-checkout/enable');
  assert.equal((await w.ofrep('new-checkout', { targetingKey: 'u', email: 'a@example.com' })).value, true);
  const h = await w.call('GET', '/api/v1/flags/new-checkout/history');
  assert.deepEqual(h.body.entries.map((e: any) => [e.action, e.actor]), [['flag.enable', 'admin'], ['flag.disable', 'admin']]);
  assert.equal(h.body.entries[1].reason, 'checkout errors');
  assert.equal(h.body.entries[1].before.state, 'ENABLED');
  assert.equal(h.body.entries[1].after.state, 'DISABLED');
  ac.abort();
  await reader;
});

test('flags API: a scheduled change applies at its time, once, audited; cancel; invalid schedules are refused', async (t) => {
  const w = await start(t);
  const at = new Date(w.now() + 3_600_000).toISOString();
  const def = { state: 'ENABLED', variants: { a: 'a', b: 'b' }, defaultVariant: 'a', targeting: { fractional: [['a', 50], ['b', 50]] } };
  const s = await w.call('POST', '/api/v1/flags/banner/schedule', { at, definition: def });
  assert.equal(s.status, 201);
  const s2 = await w.call('POST', '/api/v1/flags/banner/schedule', { at, definition: { ...def, defaultVariant: 'b' } });
  assert.equal((await w.call('POST', '/api/v1/flags/banner/schedule', { at, definition: { state: 'ON' } })).body.error.details[0].path, 'flags.banner.state');
  assert.equal((await w.call('POST', '/api/v1/flags/banner/schedule', { at: '2020-01-01T00:00:00Z', definition: def })).status, 400);
  assert.equal((await w.call('DELETE', `/api/v1/flags/banner/schedule/${s2.body.id}`)).status, 200);
  assert.equal((await w.call('DELETE', `/api/v1/flags/banner/schedule/${s2.body.id}`)).status, 409);
  w.advance(3_600_000);
  // The control plane ticks every second on its own timer; wait until it has applied the change.
  while ((await w.call('GET', '/api/v1/flags/banner')).body.layer !== 'api') await new Promise((r) => setTimeout(r, 50));
  const list = (await w.call('GET', '/api/v1/flags/banner/schedule')).body.schedules;
  assert.deepEqual(list.map((x: any) => x.status), ['applied', 'cancelled']);
  const h = (await w.call('GET', '/api/v1/flags/banner/history')).body.entries.map((e: any) => [e.action, e.actor]);
  assert.deepEqual(h[0], ['flag.schedule.apply', 'controller']);
  assert.equal(h.filter((e: string[]) => e[0] === 'flag.schedule.apply').length, 1);
});

test('flags: prerequisites checked at PUT (unknown flag, cycle) and evaluated (unmet → defaultVariant, reason DEFAULT)', async (t) => {
  const w = await start(t);
  const dep = (flag: string, variants: string[]) => ({ state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'on', prerequisites: [{ flag, variants }] });
  const unknown = await w.call('PUT', '/api/v1/flags/upsell', dep('nope', ['on']));
  assert.equal(unknown.body.error.details[0].path, 'flags.upsell.prerequisites[0].flag');
  assert.equal((await w.call('PUT', '/api/v1/flags/upsell', dep('new-checkout', ['maybe']))).status, 400);
  assert.equal((await w.call('PUT', '/api/v1/flags/upsell', { ...dep('new-checkout', ['on']), defaultVariant: 'off', targeting: { if: [true, 'on'] } })).status, 200);
  const met = await w.ofrep('upsell', { targetingKey: 'u', email: 'a@example.com' });
  assert.deepEqual([met.value, met.reason], [true, 'TARGETING_MATCH']);
  const unmet = await w.ofrep('upsell', { targetingKey: 'u', email: 'b@other.org' });
  assert.deepEqual([unmet.value, unmet.variant, unmet.reason], [false, 'off', 'DEFAULT']);
  const cycle = await w.call('PUT', '/api/v1/flags/new-checkout', { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'off', prerequisites: [{ flag: 'upsell', variants: ['on'] }] });
  assert.equal(cycle.status, 400);
  assert.match(JSON.stringify(cycle.body.error.details), /cycle/);
});

test('flags: the overrides file wins over files and the API, loudly; refused in production', async (t) => {
  const w = await start(t, { overrides: 'flags:\n  banner:\n    state: ENABLED\n    variants: { z: z }\n    defaultVariant: z\n' });
  assert.ok(w.logs.some((l) => /FLAG OVERRIDES ACTIVE.*banner/.test(l)));
  await w.call('PUT', '/api/v1/flags/banner', { state: 'ENABLED', variants: { a: 'a' }, defaultVariant: 'a' });
  assert.equal((await w.ofrep('banner')).value, 'z');
  assert.equal((await w.call('GET', '/api/v1/flags/banner')).body.layer, 'overrides');
  await assert.rejects(start(t, { overrides: 'flags: {}\n', env: { NODE_ENV: 'production' } }), /refused when NODE_ENV or WEIR_ENV is production/);
});

test('flags: the stale report lists flags never evaluated and flags that always gave one variant', async (t) => {
  const w = await start(t);
  for (const email of ['a@example.com', 'b@other.org']) await w.ofrep('new-checkout', { targetingKey: 'u', email });
  await w.ofrep('banner');
  let stale = (await w.call('GET', '/api/v1/flags/stale?days=7')).body.flags;
  assert.deepEqual(stale.map((f: any) => [f.key, f.reason]), [['banner', 'single-variant']]);
  assert.equal((await w.call('POST', '/api/v1/flags/usage', [{ key: 'banner', variants: { b: 2 }, lastEvaluatedAt: w.now() }])).status, 200);
  assert.deepEqual((await w.call('GET', '/api/v1/flags/stale?days=7')).body.flags, []);
  w.advance(8 * 86_400_000);
  stale = (await w.call('GET', '/api/v1/flags/stale?days=7')).body.flags;
  assert.deepEqual(stale.map((f: any) => [f.key, f.reason]), [['banner', 'not-evaluated'], ['new-checkout', 'not-evaluated']]);
  assert.equal((await w.call('POST', '/api/v1/flags/usage', { nope: 1 })).status, 400);
});
