import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRandom } from '../../src/stats/random.ts';
import type { Random } from '../../src/stats/random.ts';
import {
  binomialGreaterLogEValue,
  multinomialLogEValue,
  multinomialSequentialTest,
} from '../../src/stats/sequential-multinomial.ts';
import { asymptoticConfidenceSequence, asymptoticLiftSequence, msprt, summaryOfMoments } from '../../src/stats/sequential-means.ts';
import { momentsOf } from '../../src/stats/descriptive.ts';
import type { MeanSummary } from '../../src/stats/sequential-means.ts';
import { INITIAL_SEQUENTIAL_STATE, judgeSequentialCanary } from '../../src/stats/sequential-judge.ts';
import type { SequentialCanaryState } from '../../src/stats/sequential-judge.ts';
import { normalPpf } from '../../src/stats/distributions.ts';
import { assertClose, fixtures } from './helpers.ts';

/** Upper bound a Monte Carlo rate may reach: the target plus 5 standard deviations of the estimate. */
const limit = (alpha: number, runs: number): number => alpha + 5 * Math.sqrt((alpha * (1 - alpha)) / runs);

test('e-values and confidence-sequence widths match the formulas computed with scipy.special', () => {
  const fx = fixtures.sequential;
  for (const c of fx.multinomial) {
    assertClose(multinomialLogEValue(c.counts, c.shares, c.concentration), c.logEValue, 1e-10, 1e-10);
  }
  for (const c of fx.oneSided) {
    assertClose(binomialGreaterLogEValue(c.x, c.n, c.theta0, c.concentration), c.logEValue, 1e-9, 1e-10);
  }
  for (const c of fx.means) {
    const cs = asymptoticConfidenceSequence(c.control, c.treatment, { alpha: c.alpha, tuning: c.tuning });
    assertClose((cs.upper - cs.lower) / 2, c.csHalfWidth, 1e-12);
    const lift = asymptoticLiftSequence(c.control, c.treatment, { alpha: c.alpha, tuning: c.tuning });
    assertClose(lift.lift, c.lift, 1e-12, 1e-15);
    assertClose((lift.upper - lift.lower) / 2, c.liftHalfWidth, 1e-12);
    const m = msprt(c.control, c.treatment, { alpha: c.alpha, mixingSd: c.mixingSd });
    assertClose(m.logLikelihoodRatio, c.logLikelihoodRatio, 1e-12, 1e-12);
    assertClose((m.upper - m.lower) / 2, c.msprtHalfWidth, 1e-12);
    // Rejection and the interval agree: reject ⇔ 0 lies outside the interval.
    assert.equal(m.reject, m.lower > 0 || m.upper < 0);
  }
});

test('summaryOfMoments turns streaming moments into the summary the tests take', () => {
  assert.deepEqual(summaryOfMoments(momentsOf([1, 2, 3])), { n: 3, mean: 2, variance: 1 });
  assert.deepEqual(summaryOfMoments(momentsOf([5])), { n: 1, mean: 5, variance: 0 });
});

test('multinomial test: p-value is monotone and rejection is permanent', () => {
  let state = { pValue: 1 };
  const seen: number[] = [];
  for (const counts of [[10, 3], [20, 12], [30, 30], [31, 90], [60, 90]]) {
    const r = multinomialSequentialTest(counts, [0.5, 0.5], { alpha: 0.01 }, state);
    seen.push(r.pValue);
    state = r;
  }
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i] <= seen[i - 1]);
  assert.ok(state.pValue <= 0.01, 'rejected at [31, 90] and stays rejected');
});

function multinomialFalsePositiveRate(
  rng: Random,
  shares: number[],
  runs: number,
  events: number,
  alpha: number,
  alternative: 'two-sided' | 'greater',
): number {
  let rejections = 0;
  for (let r = 0; r < runs; r++) {
    const counts = shares.map(() => 0);
    let state = { pValue: 1 };
    for (let e = 0; e < events; e++) {
      const u = rng.uniform();
      let acc = 0;
      let k = 0;
      for (; k < shares.length - 1; k++) {
        acc += shares[k];
        if (u < acc) break;
      }
      counts[k] += 1;
      const res = multinomialSequentialTest(counts, shares, { alpha, alternative }, state);
      state = res;
      if (res.reject) {
        rejections += 1;
        break;
      }
    }
  }
  return rejections / runs;
}

test('multinomial e-process: false alarms ≤ alpha when checked after every single event', () => {
  const rng = createRandom(101);
  const alpha = 0.05;
  const runs = 1500;
  const twoSided = multinomialFalsePositiveRate(rng, [0.5, 0.5], runs, 600, alpha, 'two-sided');
  assert.ok(twoSided <= limit(alpha, runs), `two-sided false-positive rate ${twoSided}`);
  const greater = multinomialFalsePositiveRate(rng, [0.95, 0.05], runs, 600, alpha, 'greater');
  assert.ok(greater <= limit(alpha, runs), `one-sided 95/5 false-positive rate ${greater}`);
  const three = multinomialFalsePositiveRate(rng, [0.2, 0.3, 0.5], 800, 400, alpha, 'two-sided');
  assert.ok(three <= limit(alpha, 800), `three-arm false-positive rate ${three}`);
});

/** Cumulative summary after adding a batch of `k` normal draws, using sufficient statistics only. */
function addBatch(rng: Random, s: MeanSummary & { m2: number }, k: number, mu: number, sd: number): MeanSummary & { m2: number } {
  let bs = 0;
  let bss = 0;
  for (let i = 0; i < k; i++) {
    const v = mu + sd * rng.normal();
    bs += v;
    bss += v * v;
  }
  const bm = bs / k;
  const bm2 = bss - k * bm * bm;
  const n = s.n + k;
  const d = bm - s.mean;
  const mean = s.mean + (d * k) / n;
  const m2 = s.m2 + bm2 + (d * d * s.n * k) / n;
  return { n, mean, m2, variance: n > 1 ? m2 / (n - 1) : 0 };
}

test('mSPRT and asymptotic CS: false alarms ≤ alpha over 100 looks; naive peeking is far worse', () => {
  const rng = createRandom(202);
  const alpha = 0.05;
  const runs = 1500;
  let msprtRejects = 0;
  let csRejects = 0;
  let naiveRejects = 0;
  const z = normalPpf(1 - alpha / 2);
  for (let r = 0; r < runs; r++) {
    let c = { n: 0, mean: 0, m2: 0, variance: 0 };
    let t = { n: 0, mean: 0, m2: 0, variance: 0 };
    let state = { pValue: 1 };
    let msprtHit = false;
    let csHit = false;
    let naiveHit = false;
    for (let look = 0; look < 100; look++) {
      c = addBatch(rng, c, 20, 4.6, 0.5);
      t = addBatch(rng, t, 20, 4.6, 0.5);
      const m = msprt(c, t, { alpha, mixingSd: 0.1 }, state);
      state = m;
      if (m.reject) msprtHit = true;
      const cs = asymptoticConfidenceSequence(c, t, { alpha, tuning: 2000 });
      if (cs.lower > 0 || cs.upper < 0) csHit = true;
      const se = Math.sqrt(c.variance / c.n + t.variance / t.n);
      if (Math.abs(t.mean - c.mean) > z * se) naiveHit = true;
    }
    msprtRejects += msprtHit ? 1 : 0;
    csRejects += csHit ? 1 : 0;
    naiveRejects += naiveHit ? 1 : 0;
  }
  assert.ok(msprtRejects / runs <= limit(alpha, runs), `mSPRT false-positive rate ${msprtRejects / runs}`);
  assert.ok(csRejects / runs <= limit(alpha, runs), `CS false-positive rate ${csRejects / runs}`);
  assert.ok(naiveRejects / runs > 3 * alpha, `naive peeking rate ${naiveRejects / runs} should be inflated`);
});

test('one-sided mSPRT: false alarms ≤ alpha at the edge of the null (a slowdown of exactly the allowed size), over 100 looks', () => {
  const rng = createRandom(303);
  const alpha = 0.05;
  const runs = 1500;
  const allowed = Math.log(1.1);
  let rejects = 0;
  let faster = 0;
  for (let r = 0; r < runs; r++) {
    let c = { n: 0, mean: 0, m2: 0, variance: 0 };
    let t = { n: 0, mean: 0, m2: 0, variance: 0 };
    let f = { n: 0, mean: 0, m2: 0, variance: 0 };
    let state = { pValue: 1 };
    let fasterState = { pValue: 1 };
    let hit = false;
    let fasterHit = false;
    for (let look = 0; look < 100; look++) {
      c = addBatch(rng, c, 20, 4.6, 0.5);
      t = addBatch(rng, t, 20, 4.6 + allowed, 0.5);
      f = addBatch(rng, f, 20, 4.6 - 0.3, 0.5);
      const m = msprt(c, t, { alpha, mixingSd: 0.2, alternative: 'greater', nullDifference: allowed }, state);
      state = m;
      // The one-sided lower bound clears the null exactly when the test rejects.
      if (Number.isFinite(m.lower)) assert.equal(m.lower > allowed, m.logLikelihoodRatio >= -Math.log(alpha) - 1e-9, `look ${look}`);
      if (m.reject) hit = true;
      // A much faster canary is never evidence of a slowdown.
      const mf = msprt(c, f, { alpha, mixingSd: 0.2, alternative: 'greater' }, fasterState);
      fasterState = mf;
      if (mf.reject) fasterHit = true;
    }
    rejects += hit ? 1 : 0;
    faster += fasterHit ? 1 : 0;
  }
  assert.ok(rejects / runs <= limit(alpha, runs), `one-sided mSPRT false-positive rate ${rejects / runs}`);
  assert.equal(faster, 0);
});

test('one-sided mSPRT: the closed-form half-normal mixture matches numerical integration', () => {
  const v = 0.004;
  const tau = 0.2;
  for (const excess of [-0.1, 0, 0.05, 0.2]) {
    // Λ = ∫₀^∞ exp(θD/v − θ²/(2v)) · 2φ(θ/τ)/τ dθ by the trapezoid rule on a fine grid.
    let integral = 0;
    const h = 1e-5;
    for (let theta = 0; theta < 3; theta += h) {
      const f = (x: number) => Math.exp((x * excess) / v - (x * x) / (2 * v)) * (2 / tau) * Math.exp(-(x * x) / (2 * tau * tau)) / Math.sqrt(2 * Math.PI);
      integral += (h * (f(theta) + f(theta + h))) / 2;
    }
    const control = { n: 250, mean: 4.6, variance: 0.5 };
    const treatment = { n: 250, mean: 4.6 + excess, variance: 0.5 };
    const m = msprt(control, treatment, { alpha: 0.01, mixingSd: tau, alternative: 'greater' });
    assertClose(m.logLikelihoodRatio, Math.log(integral), 1e-6, 1e-6);
  }
});

const ROUTES = 10;

function simulateCanary(
  rng: Random,
  errorRate: { baseline: number; canary: number },
  latencyShift: number,
  intervals: number,
  perInterval: number,
  route0ExtraError = 0,
): { failedAt: number | null } {
  let state: SequentialCanaryState = INITIAL_SEQUENTIAL_STATE;
  const requests = { baseline: 0, canary: 0 };
  const errors = { baseline: 0, canary: 0 };
  const byRoute = Array.from({ length: ROUTES }, (_, k) => ({ key: `route-${k}`, baseline: 0, canary: 0 }));
  let lb = { n: 0, mean: 0, m2: 0, variance: 0 };
  let lc = { n: 0, mean: 0, m2: 0, variance: 0 };
  for (let i = 1; i <= intervals; i++) {
    const nb = rng.poisson(perInterval);
    const nc = rng.poisson(perInterval);
    requests.baseline += nb;
    requests.canary += nc;
    const eb = rng.binomial(nb, errorRate.baseline);
    const ec = rng.binomial(nc, errorRate.canary);
    // Errors fall on the routes uniformly (equal traffic per route) ...
    for (let e = 0; e < eb; e++) byRoute[Math.floor(rng.uniform() * ROUTES)].baseline += 1;
    for (let e = 0; e < ec; e++) byRoute[Math.floor(rng.uniform() * ROUTES)].canary += 1;
    // ... plus, in the canary, a new error on route 0.
    const extra = route0ExtraError > 0 ? rng.binomial(rng.binomial(nc, 1 / ROUTES), route0ExtraError) : 0;
    byRoute[0].canary += extra;
    errors.baseline += eb;
    errors.canary += ec + extra;
    lb = addBatch(rng, lb, nb, 4.6, 0.5);
    lc = addBatch(rng, lc, nc, 4.6 + latencyShift, 0.5);
    const r = judgeSequentialCanary(
      { requests, errors, logLatency: { baseline: lb, canary: lc }, errorsByKey: byRoute },
      { canaryShare: 0.5, alpha: 0.01, keyCount: ROUTES },
      state,
    );
    state = r.state;
    if (r.decision === 'fail') return { failedAt: i };
  }
  return { failedAt: null };
}

test('sequential canary judge: A/A canaries are failed at most 1% of the time under continuous monitoring, with per-route tests', () => {
  const rng = createRandom(303);
  const runs = 1500;
  let failed = 0;
  for (let r = 0; r < runs; r++) {
    if (simulateCanary(rng, { baseline: 0.01, canary: 0.01 }, 0, 60, 200).failedAt !== null) failed += 1;
  }
  assert.ok(failed / runs <= limit(0.01, runs), `A/A failure rate ${failed / runs}`);
});

test('sequential canary judge: large regressions and a new error on one route are caught, and early', () => {
  const rng = createRandom(404);
  const runs = 200;
  let errorsCaught = 0;
  let latencyCaught = 0;
  let latencyEarly = 0;
  let routeCaught = 0;
  for (let r = 0; r < runs; r++) {
    if (simulateCanary(rng, { baseline: 0.01, canary: 0.01 }, 0, 60, 200, 0.1).failedAt !== null) routeCaught += 1;
    if (simulateCanary(rng, { baseline: 0.01, canary: 0.03 }, 0, 60, 200).failedAt !== null) errorsCaught += 1;
    const l = simulateCanary(rng, { baseline: 0.01, canary: 0.01 }, Math.log(1.3), 60, 200).failedAt;
    if (l !== null) latencyCaught += 1;
    if (l !== null && l <= 3) latencyEarly += 1;
  }
  // True rates are ≈ 1; 0.95 is more than 5 standard deviations below for any rate above 0.99.
  assert.ok(errorsCaught / runs >= 0.95, `error ×3 detected in ${errorsCaught}/${runs}`);
  assert.ok(latencyCaught / runs >= 0.95, `latency +30% detected in ${latencyCaught}/${runs}`);
  assert.ok(latencyEarly / runs >= 0.9, `latency +30% detected within 3 intervals in ${latencyEarly}/${runs}`);
  assert.ok(routeCaught / runs >= 0.95, `new 10% error on one route of ten detected in ${routeCaught}/${runs}`);
});

test('sequential judge: a sample ratio mismatch makes the comparison invalid instead of failing the canary', () => {
  const r = judgeSequentialCanary(
    { requests: { baseline: 10000, canary: 8000 }, errors: { baseline: 100, canary: 200 } },
    { canaryShare: 0.5 },
  );
  assert.equal(r.decision, 'invalid');
  assert.equal(r.srm.mismatch, true);
  assert.match(r.reasons[0], /sample ratio mismatch/);
  const ok = judgeSequentialCanary(
    { requests: { baseline: 10000, canary: 10050 }, errors: { baseline: 100, canary: 104 } },
    { canaryShare: 0.5 },
  );
  assert.equal(ok.decision, 'continue');
  assert.equal(ok.latency, null);
  assert.deepEqual(ok.errorKeys, []);
  const bad = judgeSequentialCanary(
    { requests: { baseline: 10, canary: 0 }, errors: { baseline: 0, canary: 0 } },
    { canaryShare: 0 },
  );
  assert.equal(bad.decision, 'invalid');
  assert.match(bad.reasons[0], /canaryShare/);
});
