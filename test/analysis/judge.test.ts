import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeRun, builtinValue } from '../../src/analysis/judge.ts';
import type { JudgeInput, JudgeSettings } from '../../src/analysis/judge.ts';
import type { VersionData } from '../../src/analysis/events-source.ts';
import { createRandom, INITIAL_SEQUENTIAL_STATE, momentsOf, summaryOfMoments, quantile } from '../../src/stats/index.ts';
import { rolloutSpec } from '../../src/rollout/spec.ts';

/** A version's data from simulated requests: log-normal latency, a given error rate, per-path errors. */
function simulate(seed: number, n: number, o: { medianMs: number; errorRate: number; errorPath?: string }): VersionData {
  const rng = createRandom(seed);
  const durations: number[] = [];
  const errs: boolean[] = [];
  const byPath: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    durations.push(rng.lognormal(Math.log(o.medianMs), 0.4));
    const e = rng.uniform() < o.errorRate;
    errs.push(e);
    if (e) byPath[o.errorPath ?? '/api/checkout'] = (byPath[o.errorPath ?? '/api/checkout'] ?? 0) + 1;
  }
  const errors = errs.filter(Boolean).length;
  const buckets = 30;
  const series = Array.from({ length: buckets }, (_, b) => {
    const slice = errs.slice(Math.floor((b * n) / buckets), Math.floor(((b + 1) * n) / buckets));
    return slice.filter(Boolean).length / Math.max(1, slice.length);
  });
  const sorted = [...durations].sort((a, b) => a - b);
  return {
    requests: n, errors, successRate: n ? (100 * (n - errors)) / n : null,
    percentiles: { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) },
    logLatency: summaryOfMoments(momentsOf(durations.map(Math.log))),
    durations, errorRateSeries: series, errorsByPath: byPath,
  };
}

const SETTINGS: JudgeSettings = rolloutSpec({
  analysis: {
    minSamples: 200,
    metrics: [
      { name: 'success-rate', builtin: 'request-success-rate', thresholdRange: { min: 99 } },
      { name: 'latency-p99', builtin: 'request-duration-p99', thresholdRange: { max: 500 } },
    ],
  },
}).analysis;

const input = (canary: VersionData, baseline: VersionData, extra: Partial<JudgeInput> = {}): JudgeInput => ({
  traffic: 'live', canaryShare: 0.5, canary, baseline, external: {}, newErrors: [], sequential: INITIAL_SEQUENTIAL_STATE, ...extra,
});

test('an identical canary passes, with every number shown', () => {
  const v = judgeRun(input(simulate(1, 2000, { medianMs: 50, errorRate: 0.001 }), simulate(2, 2000, { medianMs: 50, errorRate: 0.001 })), SETTINGS);
  assert.equal(v.phase, 'Successful', v.reasons.join('; '));
  assert.equal(v.judge?.verdict, 'Pass');
  assert.ok(v.sequential && v.sequential.decision === 'continue');
  const lat = v.metrics.find((m) => m.name === 'latency-p99');
  assert.ok(lat?.comparison && Number.isFinite(lat.comparison.pValue) && Number.isFinite(lat.comparison.interval.lower));
  assert.match(v.summary, /success-rate .* \(baseline .*\).*score 100/);
});

test('thresholdRange fails a canary (Flagger semantics): success rate below min', () => {
  const v = judgeRun(input(simulate(3, 2000, { medianMs: 50, errorRate: 0.05 }), simulate(4, 2000, { medianMs: 50, errorRate: 0.001 })), SETTINGS);
  assert.equal(v.phase, 'Failed');
  assert.ok(v.reasons.some((r) => /success-rate .* below the minimum 99/.test(r)), v.reasons.join('\n'));
  assert.ok(v.reasons.some((r) => /sequential test/.test(r)), 'the sequential error test sees it too');
});

test('latency 30% slower: the comparison and the sequential mSPRT fail it with ratio and interval', () => {
  const noThresholds = { ...SETTINGS, metrics: SETTINGS.metrics.map((m) => ({ ...m, thresholdRange: undefined })) };
  const v = judgeRun(input(simulate(5, 2000, { medianMs: 65, errorRate: 0 }), simulate(6, 2000, { medianMs: 50, errorRate: 0 })), noThresholds);
  assert.equal(v.phase, 'Failed');
  const lat = v.metrics.find((m) => m.name === 'latency-p99')!;
  assert.equal(lat.comparison?.classification, 'High');
  assert.ok(lat.comparison!.pValue < 1e-6);
  assert.ok(v.sequential?.latency && v.sequential.latency.ratioLower > 1.15 && v.sequential.latency.ratioUpper < 1.45, JSON.stringify(v.sequential?.latency));
});

test('too few samples is Inconclusive — never a pass — but a new error still fails at any size', () => {
  const small = judgeRun(input(simulate(7, 50, { medianMs: 50, errorRate: 0 }), simulate(8, 5000, { medianMs: 50, errorRate: 0 })), SETTINGS);
  assert.equal(small.phase, 'Inconclusive');
  assert.match(small.summary, /too little live traffic: 50 canary and 5000 baseline requests, 200 needed/);
  const none = judgeRun(input(simulate(9, 0, { medianMs: 50, errorRate: 0 }), simulate(10, 0, { medianMs: 50, errorRate: 0 })), { ...SETTINGS, minSamples: 0 });
  assert.equal(none.phase, 'Inconclusive', 'no traffic at all is never Successful, even with minSamples 0');
  const fresh = judgeRun(input(simulate(11, 50, { medianMs: 50, errorRate: 0 }), simulate(12, 5000, { medianMs: 50, errorRate: 0 }), {
    newErrors: [{ fingerprint: 'abc', title: 'HTTP 500 GET /api/checkout', count: 3, rate: 0.06 }],
  }), SETTINGS);
  assert.equal(fresh.phase, 'Failed');
  assert.match(fresh.summary, /new error only in the canary: HTTP 500 GET \/api\/checkout \(3×\)/);
  const ignored = judgeRun(input(simulate(11, 500, { medianMs: 50, errorRate: 0 }), simulate(12, 500, { medianMs: 50, errorRate: 0 }), {
    newErrors: [{ fingerprint: 'abc', title: 'x', count: 1, rate: 0.002 }],
  }), { ...SETTINGS, newErrors: 'ignore' });
  assert.equal(ignored.phase, 'Successful');
});

test('the sequential state is carried: evidence accumulates across runs and a rejection stays', () => {
  let state = INITIAL_SEQUENTIAL_STATE;
  const settings = { ...SETTINGS, metrics: [], judge: { ...SETTINGS.judge, compare: 'none' as const } };
  let failedAt = -1;
  let lastP = 1;
  for (let run = 1; run <= 10; run++) {
    const v = judgeRun(input(simulate(100 + run, 300 * run, { medianMs: 50, errorRate: 0.02, errorPath: '/api/checkout' }), simulate(200 + run, 300 * run, { medianMs: 50, errorRate: 0.005 }), { sequential: state }), settings);
    state = v.sequentialState;
    assert.ok(state.errorsPValue <= lastP, 'an always-valid p-value never goes back up');
    lastP = state.errorsPValue;
    if (v.phase === 'Failed' && failedAt < 0) failedAt = run;
  }
  assert.ok(failedAt > 0 && failedAt <= 8, `failed at run ${failedAt}`);
  assert.ok(state.errorsPValue < 0.004);
});

test('an external metric (Prometheus, webhook) that errors makes the run Error, not a pass', () => {
  const settings = { ...SETTINGS, metrics: [{ name: 'queue', prometheus: { address: 'http://127.0.0.1:9', query: 'x' }, thresholdRange: { max: 10 } }] };
  const ok = simulate(13, 500, { medianMs: 50, errorRate: 0 });
  const v = judgeRun(input(ok, simulate(14, 500, { medianMs: 50, errorRate: 0 }), { external: { queue: { canary: null, error: 'connect ECONNREFUSED' } } }), settings);
  assert.equal(v.phase, 'Error');
  const w = judgeRun(input(ok, simulate(14, 500, { medianMs: 50, errorRate: 0 }), { external: { queue: { canary: 12 } } }), settings);
  assert.equal(w.phase, 'Failed');
  assert.match(w.summary, /queue 12 is above the maximum 10/);
});

test('blue/green preview: test traffic, canary only — thresholds and minSamples, no comparison', () => {
  const v = judgeRun({ traffic: 'test', canaryShare: 0, canary: simulate(15, 300, { medianMs: 50, errorRate: 0 }), external: {}, newErrors: [], sequential: INITIAL_SEQUENTIAL_STATE }, SETTINGS);
  assert.equal(v.phase, 'Successful', v.reasons.join(';'));
  assert.equal(v.judge, undefined);
  assert.equal(v.sequential, undefined);
  assert.equal(builtinValue('request-duration-p50', simulate(16, 100, { medianMs: 50, errorRate: 0 })) !== null, true);
});

test('A/A: identical canaries are rarely failed over a whole analysis step (sequential every run, comparison on the last)', () => {
  const settings = rolloutSpec({ analysis: { minSamples: 100 } }).analysis;
  const N = 300;
  let failed = 0;
  for (let k = 0; k < N; k++) {
    let sequential = INITIAL_SEQUENTIAL_STATE;
    let f = false;
    for (let run = 1; run <= 3; run++) {
      const v = judgeRun({
        traffic: 'live', canaryShare: 0.1, compare: run === 3, external: {}, newErrors: [], sequential,
        canary: simulate(10_000 + k * 10 + run, 100 * run, { medianMs: 50, errorRate: 0.01 }),
        baseline: simulate(50_000 + k * 10 + run, 900 * run, { medianMs: 50, errorRate: 0.01 }),
      }, settings);
      sequential = v.sequentialState;
      f ||= v.phase === 'Failed';
    }
    if (f) failed++;
  }
  // Budget: the sequential alpha (0.01) plus the comparison's false-alarm rate (a few percent at
  // most with Kayenta's tolerance); allow 5 standard deviations above 3 %.
  const p = 0.03;
  assert.ok(failed / N <= p + 5 * Math.sqrt((p * (1 - p)) / N), `${failed}/${N} identical canaries failed`);
});
