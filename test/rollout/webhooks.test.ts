import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startStack, waitFor } from './helpers.ts';

interface Status { phase: string; step: number; weights: Record<string, number>; message: string; runs: { phase: string; traffic: string; samples: { canary: number } }[]; pauseReason: string | null }

/** A webhook receiver: answers per hook name, records every body. */
async function hooks(t: import('node:test').TestContext) {
  const answers: Record<string, number> = {};
  const bodies: { path: string; body: Record<string, unknown> }[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      bodies.push({ path: req.url ?? '/', body: JSON.parse(raw || '{}') });
      res.writeHead(answers[req.url ?? '/'] ?? 200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(() => server.close());
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, answers, bodies };
}

test('Flagger-style webhooks: confirm-rollout gates the start, confirm-promotion gates the end, event hooks hear every transition', async (t) => {
  const h = await hooks(t);
  h.answers['/confirm'] = 403;
  h.answers['/promote'] = 409;
  const s = await startStack(t, {
    rollout: `steps:\n  - setWeight: 20\nwebhooks:\n  - { name: freeze, type: confirm-rollout, url: ${h.url}/confirm }\n  - { name: smoke, type: pre-rollout, url: ${h.url}/smoke }\n  - { name: manager, type: confirm-promotion, url: ${h.url}/promote }\n  - { name: chat, type: event, url: ${h.url}/events }`,
  });
  const refused = await s.api<{ error: { code: string; message: string } }>('POST', '/api/v1/services/shop/rollout', { to: 'canary' });
  assert.equal(refused.status, 409);
  assert.equal(refused.json.error.code, 'GATE_CLOSED');
  assert.match(refused.json.error.message, /confirm-rollout webhook said no: freeze answered 403/);
  h.answers['/confirm'] = 200;
  const started = await s.api<Status>('POST', '/api/v1/services/shop/rollout', { to: 'canary' });
  assert.equal(started.status, 201);
  assert.deepEqual(started.json.weights, { stable: 80, canary: 20 }, 'waiting at 20% for confirm-promotion');
  await waitFor(async () => (await s.api<Status>('GET', '/api/v1/services/shop/rollout')).json.message.includes('waiting for confirm-promotion'), 'the gate to be asked');
  h.answers['/promote'] = 200;
  s.clock.t += 10_000;
  const done = await waitFor(async () => {
    const r = (await s.api<Status>('GET', '/api/v1/services/shop/rollout')).json;
    return r.phase === 'Succeeded' && r;
  }, 'promotion after the gate opens');
  assert.deepEqual(done.weights, { stable: 0, canary: 100 });
  const events = await waitFor(async () => {
    const e = h.bodies.filter((b) => b.path === '/events').map((b) => b.body.event);
    return e.includes('rollout.succeeded') && e;
  }, 'the event hook');
  assert.ok(events.includes('rollout.started'), String(events));
  const gate = h.bodies.find((b) => b.path === '/promote');
  assert.equal(gate?.body.service, 'shop');
  assert.equal(gate?.body.type, 'confirm-promotion');
});

test('blue/green: preview at 0% judged on test traffic, a person promotes, 100% at once, abort during keep-warm switches back', async (t) => {
  const s = await startStack(t, {
    rollout: 'strategy: blueGreen\nsteps:\n  - analysis: { interval: 10s, count: 1 }\nanalysis:\n  minSamples: 20\nblueGreen:\n  keepWarm: 10m',
  });
  const started = await s.api<Status>('POST', '/api/v1/services/shop/rollout', { to: 'canary' });
  assert.deepEqual(started.json.weights, { stable: 100, canary: 0 });
  const live = await s.traffic(40, { path: '/api/products' });
  assert.deepEqual(Object.keys(live), ['v1:200'], 'no live request reaches the preview');
  const preview = await s.traffic(40, { path: '/api/products', headers: { 'x-weir-test-token': 'test-token-123', 'x-weir-version': 'canary' } });
  assert.deepEqual(preview, { 'v2:200': 40 });
  s.clock.t += 10_000;
  const paused = await waitFor(async () => {
    const r = (await s.api<Status>('GET', '/api/v1/services/shop/rollout')).json;
    return r.phase === 'Paused' && r;
  }, 'the preview analysis');
  assert.equal(paused.runs[0].phase, 'Successful');
  assert.equal(paused.runs[0].traffic, 'test');
  assert.ok(paused.runs[0].samples.canary >= 20);
  const switched = await s.api<Status>('POST', '/api/v1/services/shop/rollout/promote', {});
  assert.deepEqual(switched.json.weights, { stable: 0, canary: 100 });
  assert.equal(switched.json.phase, 'Progressing', 'keeping the old version warm');
  assert.deepEqual(await s.traffic(20, { path: '/api/products' }), { 'v2:200': 20 });
  const back = await s.api<Status>('POST', '/api/v1/services/shop/rollout/abort', { reason: 'checkout broken' });
  assert.equal(back.json.phase, 'Aborted');
  assert.deepEqual(await s.traffic(20, { path: '/api/products' }), { 'v1:200': 20 });
});
