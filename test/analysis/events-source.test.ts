import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEventStore } from '../../src/events/index.ts';
import type { WideEvent } from '../../src/events/schema.ts';
import { versionData, calculation, canaryOnlyErrors } from '../../src/analysis/events-source.ts';
import { createAnalyzer } from '../../src/analysis/analyzer.ts';
import { rolloutSpec } from '../../src/rollout/spec.ts';
import { createRandom, INITIAL_SEQUENTIAL_STATE } from '../../src/stats/index.ts';

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);

function event(i: number, o: Partial<WideEvent> & { version: string }): WideEvent {
  return {
    timestamp: T0 + i * 10, 'request.id': `r${i}-${o.version}`, 'service.name': 'shop', 'service.version': o.version,
    'http.request.method': 'GET', 'url.path': '/api/products', 'http.route': '/', 'http.response.status_code': 200,
    duration_ms: 10, 'weir.traffic': 'live', 'weir.decision': 'weight', 'http.request.body.size': 0, 'http.response.body.size': 10, ...o,
  };
}

test('event-store metric source: only live, split-placed traffic counts; percentiles, samples, new errors, query calculations', async (t) => {
  const store = await createEventStore({ path: ':memory:', clock: () => T0 + 60_000, flushIntervalMs: 50 });
  t.after(() => store.close());
  const rng = createRandom(5);
  const events: WideEvent[] = [];
  for (let i = 0; i < 1000; i++) {
    events.push(event(i, { version: 'stable', duration_ms: rng.lognormal(Math.log(20), 0.3) }));
    if (i % 4 === 0) {
      const bad = i % 40 === 0;
      events.push(event(i, { version: 'canary', duration_ms: rng.lognormal(Math.log(30), 0.3), 'url.path': bad ? '/api/checkout' : '/api/cart', 'http.response.status_code': bad ? 500 : 200 }));
    }
  }
  // None of these may count: test, shadow and replay traffic, and cohort routing.
  for (let i = 0; i < 200; i++) {
    for (const traffic of ['test', 'shadow', 'replay'] as const) events.push(event(i, { version: 'canary', 'weir.traffic': traffic, 'http.response.status_code': 503, 'url.path': '/x' }));
    events.push(event(i, { version: 'canary', 'weir.decision': 'cohort', 'http.response.status_code': 503, 'url.path': '/x' }));
  }
  store.ingest(events);
  await store.flush();
  const win = (version: string) => ({ service: 'shop', version, from: T0, to: T0 + 60_000, traffic: 'live' as const });
  const c = await versionData(store, win('canary'), 1000);
  const b = await versionData(store, win('stable'), 1000);
  assert.equal(c.requests, 250);
  assert.equal(c.errors, 25);
  assert.equal(c.successRate, 90);
  assert.deepEqual(c.errorsByPath, { '/api/checkout': 25 });
  assert.equal(b.requests, 1000);
  assert.equal(b.errors, 0);
  assert.ok(c.percentiles.p50! > 25 && c.percentiles.p50! < 36, String(c.percentiles.p50));
  assert.equal(c.durations.length, 250);
  assert.ok(c.errorRateSeries.length >= 9);
  assert.ok(Math.abs(c.logLatency.mean - Math.log(30)) < 0.1);
  const testWin = await versionData(store, { ...win('canary'), traffic: 'test' }, 1000);
  assert.equal(testWin.requests, 200);

  const p95 = await calculation(store, win('canary'), 'P95(duration_ms)');
  assert.ok(p95 !== null && p95 > 30);
  const count = await calculation(store, win('canary'), 'COUNT', [{ column: 'url.path', op: '=', value: '/api/checkout' }]);
  assert.equal(count, 25);
  assert.equal(await calculation(store, win('canary'), 'COUNT'), 250, 'cohort-routed requests are left out');

  const fresh = await canaryOnlyErrors(store, { service: 'shop', canary: 'canary', baseline: 'stable', since: T0, traffic: 'live' });
  assert.ok(fresh.length >= 1, 'the checkout 500 is new in the canary');
  assert.ok(fresh.every((e) => e.count > 0));

  const analyzer = createAnalyzer({ events: () => store });
  const { run } = await analyzer.run({
    runId: 'r', rolloutId: 'x', service: 'shop', step: 1, baseline: 'stable', canary: 'canary', from: T0, to: T0 + 60_000,
    traffic: 'live', canaryShare: 0.2, final: true, settings: rolloutSpec({ analysis: { minSamples: 100 } }).analysis, sequential: INITIAL_SEQUENTIAL_STATE,
  });
  assert.equal(run.phase, 'Failed');
  assert.ok(run.judge, 'the final run of a step includes the comparison');
  assert.equal(run.metrics.find((m) => m.name === 'latency-p99')?.comparison?.classification, 'High');
  assert.ok(run.sequential && run.sequential.errorKeys.some((k) => k.key === '/api/checkout'));
});
