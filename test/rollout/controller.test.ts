import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, waitFor } from './helpers.ts';

interface Run { phase: string; summary: string; reasons: string[]; samples: { baseline: number; canary: number }; traffic: string; sequential?: { errors: { pValue: number } } }
interface Status { phase: string; step: number; weights: Record<string, number>; message: string; runs: Run[]; pauseReason: string | null }
interface Service { stable: string; weights: Record<string, number> }

test('a canary with a real bug is caught by analysis and every request goes back to stable, with the evidence stored', async (t) => {
  const s = await startStack(t, {
    canary: { errorRate: 0.3, extraLatencyMs: 20 },
    rollout: 'steps:\n  - setWeight: 50\n  - analysis: { interval: 10s, count: 3 }\nanalysis:\n  minSamples: 50',
  });
  const started = await s.api<Status>('POST', '/api/v1/services/shop/rollout', { to: 'canary' });
  assert.equal(started.status, 201, JSON.stringify(started.json));
  assert.equal(started.json.phase, 'Progressing');
  assert.equal(started.json.step, 1);
  assert.deepEqual((await s.api<Service>('GET', '/api/v1/services/shop')).json.weights, { stable: 50, canary: 50 });
  const sent = await s.traffic(400);
  assert.ok((sent['v2:500'] ?? 0) > 0, `the canary's bug shows: ${JSON.stringify(sent)}`);
  s.clock.t += 10_000;
  const failed = await waitFor(async () => {
    const r = (await s.api<Status>('GET', '/api/v1/services/shop/rollout')).json;
    return r.phase !== 'Progressing' && r;
  }, 'the rollout to finish');
  assert.equal(failed.phase, 'Failed', failed.message);
  assert.deepEqual(failed.weights, { stable: 100, canary: 0 });
  const run = failed.runs[0];
  assert.equal(run.phase, 'Failed');
  assert.equal(run.traffic, 'live');
  assert.ok(run.samples.canary >= 50 && run.samples.baseline >= 50, JSON.stringify(run.samples));
  assert.ok(run.reasons.some((r) => /new error only in the canary|sequential test|success-rate/.test(r)), run.reasons.join('\n'));
  assert.match(failed.message, /all traffic back on stable/);
  assert.deepEqual((await s.api<Service>('GET', '/api/v1/services/shop')).json.weights, { stable: 100, canary: 0 });
  const after = await s.traffic(60);
  assert.deepEqual(Object.keys(after).filter((k) => k.startsWith('v2')), [], 'no live request reaches the canary after the rollback');
  const audit = (await s.api<{ entries: { action: string }[] }>('GET', '/api/v1/audit?target=shop')).json.entries.map((e) => e.action);
  assert.ok(audit.includes('rollout.start') && audit.includes('rollout.analysis'), audit.join(','));
});

test('a good canary is promoted by a person and becomes the stable version; test traffic never fails it', async (t) => {
  // The canary fails every /api/checkout, but only test traffic goes there: it must not count.
  const s = await startStack(t, {
    canary: { errorRate: 1 },
    rollout: 'steps:\n  - setWeight: 50\n  - analysis: { interval: 10s, count: 2 }\n  - pause: {}\nanalysis:\n  minSamples: 50\n  judge: { compare: none }',
  });
  assert.equal((await s.api('POST', '/api/v1/services/shop/rollout', { to: 'canary' })).status, 201);
  const live = async () => {
    await s.traffic(150, { path: '/api/products' });
    await s.traffic(150, { path: '/api/cart' });
  };
  await live();
  const test = await s.traffic(30, { path: '/api/checkout', headers: { 'x-weir-test-token': 'test-token-123', 'x-weir-version': 'canary' } });
  assert.equal(test['v2:500'], 30);
  s.clock.t += 10_000;
  await waitFor(async () => (await s.api<Status>('GET', '/api/v1/services/shop/rollout')).json.runs.length === 1, 'the first run');
  await live();
  s.clock.t += 10_000;
  const paused = await waitFor(async () => {
    const r = (await s.api<Status>('GET', '/api/v1/services/shop/rollout')).json;
    return r.phase !== 'Progressing' && r;
  }, 'the pause step');
  assert.equal(paused.phase, 'Paused', paused.message);
  assert.equal(paused.pauseReason, 'step');
  assert.deepEqual(paused.runs.map((r) => r.phase), ['Successful', 'Successful'], JSON.stringify(paused.runs.map((r) => r.reasons)));
  assert.ok(paused.runs.every((r) => r.sequential && r.sequential.errors.pValue > 0.01));
  const done = await s.api<Status>('POST', '/api/v1/services/shop/rollout/promote', {});
  assert.equal(done.json.phase, 'Succeeded');
  const svc = (await s.api<Service>('GET', '/api/v1/services/shop')).json;
  assert.equal(svc.stable, 'canary');
  assert.deepEqual(svc.weights, { stable: 0, canary: 100 });
  // The next rollout is judged against the new stable version.
  const back = await s.api<Status & { stable: string; canary: string }>('POST', '/api/v1/services/shop/rollout', { to: 'stable' });
  assert.equal(back.status, 201);
  assert.equal(back.json.stable, 'canary');
});

test('no traffic is Inconclusive, never a pass: the rollout waits, then pauses for a person', async (t) => {
  const s = await startStack(t, {
    rollout: 'steps:\n  - setWeight: 10\n  - analysis: { interval: 10s, count: 1 }\nanalysis:\n  minSamples: 20\n  inconclusiveLimit: 2',
  });
  await s.api('POST', '/api/v1/services/shop/rollout', { to: 'canary' });
  for (let i = 1; i <= 2; i++) {
    s.clock.t += 10_000;
    await waitFor(async () => (await s.api<Status>('GET', '/api/v1/services/shop/rollout')).json.runs.length === i, `run ${i}`);
  }
  const r = await waitFor(async () => {
    const x = (await s.api<Status>('GET', '/api/v1/services/shop/rollout')).json;
    return x.phase === 'Paused' && x;
  }, 'the pause');
  assert.equal(r.pauseReason, 'inconclusive');
  assert.deepEqual(r.runs.map((x) => x.phase), ['Inconclusive', 'Inconclusive']);
  assert.match(r.runs[0].summary, /too little live traffic: 0 canary and 0 baseline requests, 20 needed/);
  assert.deepEqual(r.weights, { stable: 90, canary: 10 });
});

test('weir halt sends every service back to stable and freezes rollouts until unhalt', async (t) => {
  const s = await startStack(t, { rollout: 'steps:\n  - setWeight: 30\n  - pause: {}' });
  await s.api('POST', '/api/v1/services/shop/rollout', { to: 'canary' });
  const h = await s.api<{ services: string[] }>('POST', '/api/v1/halt', { reason: 'incident 42' });
  assert.equal(h.status, 200);
  assert.deepEqual(h.json.services, ['shop']);
  const r = (await s.api<Status>('GET', '/api/v1/services/shop/rollout')).json;
  assert.equal(r.phase, 'Aborted');
  assert.deepEqual((await s.api<Service>('GET', '/api/v1/services/shop')).json.weights, { stable: 100, canary: 0 });
  const refused = await s.api<{ error: { code: string } }>('POST', '/api/v1/services/shop/rollout/retry');
  assert.equal(refused.status, 409);
  assert.equal(refused.json.error.code, 'HALTED');
  assert.equal((await s.api<{ error: { code: string } }>('POST', '/api/v1/services/shop/rollout', { to: 'canary' })).json.error.code, 'HALTED');
  await s.api('POST', '/api/v1/unhalt');
  const again = await s.api<Status>('POST', '/api/v1/services/shop/rollout/retry');
  assert.equal(again.json.phase, 'Paused');
  assert.deepEqual(again.json.weights, { stable: 70, canary: 30 });
});

test('between analysis runs the sequential watch fails a bad canary within seconds, long before the first run is due', async (t) => {
  const s = await startStack(t, {
    canary: { errorRate: 0.3 },
    rollout: 'steps:\n  - setWeight: 50\n  - analysis: { interval: 60s, count: 3 }\nanalysis:\n  minSamples: 50',
  });
  const started = await s.api<Status>('POST', '/api/v1/services/shop/rollout', { to: 'canary' });
  assert.equal(started.status, 201, JSON.stringify(started.json));
  // The bug is on /api/checkout only, so 400 requests gave the canary as few as 15 errors in some
  // runs (which interleaving of requests meets the seeded shops' random draws varies), too little for
  // the watch at α = 0.01; 1,200 give it about three times that.
  const sent = await s.traffic(1200);
  assert.ok((sent['v2:500'] ?? 0) > 0, JSON.stringify(sent));
  // The events are in the store before fake time moves: on a busy machine the store's real-time
  // commit beat could otherwise lag the 5 real seconds the fake minute below takes.
  await s.weir.sink.flush();
  const begin = s.clock.t;
  let last = Date.now();
  const failed = await waitFor(async () => {
    // Fake time moves a second per 100 ms of real time (the store commits on a real-time beat), and
    // stops short of the first regular run at 60 s.
    if (Date.now() - last >= 100 && s.clock.t < begin + 50_000) {
      s.clock.t += 1000;
      last = Date.now();
    }
    const r = (await s.api<Status & { runs: (Run & { id: string })[] }>('GET', '/api/v1/services/shop/rollout')).json;
    return r.phase !== 'Progressing' && r;
  }, 'the watch to fail the canary');
  assert.equal(failed.phase, 'Failed', failed.message);
  assert.ok(s.clock.t - begin < 60_000, 'before the first regular run');
  assert.deepEqual(failed.weights, { stable: 100, canary: 0 });
  const run = failed.runs[0];
  assert.match(run.id, /\/watch-\d+$/);
  assert.equal(run.phase, 'Failed');
  assert.match(run.summary, /^sequential test: canary has/);
  assert.ok(run.samples.canary > 0 && run.samples.baseline > 0, JSON.stringify(run.samples));
});
