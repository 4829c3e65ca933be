import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  asymptoticConfidenceSequence, benjaminiHochberg, createRandom, cuped, holm, mixtureRhoSquared, normalPpf,
  ratioMetricTest, relativeLift, summarizeRatio, twoProportionTest, welchTTest,
} from '../../src/stats/index.ts';
import { alwaysValid, analyzeExperiment, compareMeans, compareRatios, comparisonVerdict, experimentSchema, unitsPerArmFor } from '../../src/experiments/index.ts';
import type { ExperimentConfig, ExperimentData } from '../../src/experiments/index.ts';

const close = (a: number, b: number, rel = 1e-12) => assert.ok(Math.abs(a - b) <= rel * Math.max(1e-300, Math.abs(b)), `${a} vs ${b}`);
const o = { alpha: 0.05, tuning: 5000 };

test('alwaysValid: the bounds of asymptoticConfidenceSequence; p < α exactly when the sequence excludes 0', () => {
  const c = { n: 10000, mean: 10, variance: 4 };
  for (const mt of [10.02, 10.05, 10.08, 10.1, 10.2]) {
    const t = { n: 12000, mean: mt, variance: 5 };
    const cs = asymptoticConfidenceSequence(c, t, { alpha: 0.05, tuning: 5000 });
    const v = 4 / 10000 + 5 / 12000;
    const av = alwaysValid(mt - 10, v, 22000, 0.05, 5000);
    close(av.lower, cs.lower, 1e-10);
    close(av.upper, cs.upper, 1e-10);
    // Independent: 1/Λ with Λ = √(v/(v+τ²))·exp(τ²Δ²/(2v(v+τ²))), τ² = N·v·ρ².
    const tau2 = 22000 * v * mixtureRhoSquared(0.05, 5000);
    const lambda = Math.sqrt(v / (v + tau2)) * Math.exp((tau2 * (mt - 10) ** 2) / (2 * v * (v + tau2)));
    close(av.pValue, Math.min(1, 1 / lambda), 1e-10);
    assert.equal(av.pValue < 0.05, cs.lower > 0);
  }
  assert.deepEqual(alwaysValid(1, 0, 10, 0.05, 5000), { lower: -Infinity, upper: Infinity, pValue: 1 });
});

test('always-valid p-values stay at level under continuous peeking; fixed-horizon ones do not (seeded A/A)', () => {
  const rng = createRandom(2026);
  const runs = 400;
  const looks = 40;
  const perLook = 100;
  let seqAlarms = 0;
  let fixedAlarms = 0;
  for (let r = 0; r < runs; r++) {
    const s = [0, 0];
    const q = [0, 0];
    let seq = false;
    let fixed = false;
    for (let l = 1; l <= looks; l++) {
      for (let i = 0; i < perLook; i++) {
        for (const a of [0, 1]) {
          const x = rng.normal();
          s[a] += x;
          q[a] += x * x;
        }
      }
      const n = l * perLook;
      const arm = (a: number) => ({ n, mean: s[a] / n, variance: (q[a] - (s[a] * s[a]) / n) / (n - 1) });
      const rr = compareMeans(arm(0), arm(1), 'mean', o);
      seq ||= rr.sequential.pValue < 0.05;
      fixed ||= rr.pValue < 0.05;
    }
    seqAlarms += Number(seq);
    fixedAlarms += Number(fixed);
  }
  const se = Math.sqrt((0.05 * 0.95) / runs);
  assert.ok(seqAlarms / runs <= 0.05 + 5 * se, `sequential false alarms ${seqAlarms / runs}`);
  // Peeking 40 times at a fixed-horizon test: 35 % false alarms with this seed (3 % for the sequential one).
  assert.ok(fixedAlarms / runs > 0.05 + 5 * se, `fixed-horizon false alarms under peeking ${fixedAlarms / runs}`);
});

test('compareMeans and compareRatios are the src/stats tests', () => {
  const c = { n: 2000, mean: 0.5, variance: 0.25 };
  const t = { n: 2000, mean: 0.56, variance: 0.2464 };
  const conv = compareMeans(c, t, 'conversion', o);
  const tp = twoProportionTest({ n: 2000, successes: 1000 }, { n: 2000, successes: 1120 });
  close(conv.pValue, tp.pValue);
  close(conv.lift.lower, tp.lift.lower);
  close(conv.difference.upper, tp.difference.upper);
  const cs = asymptoticConfidenceSequence({ n: 2000, mean: 0.5, variance: 0.25 }, { n: 2000, mean: 0.56, variance: 0.56 * 0.44 });
  close(conv.sequential.difference.lower, cs.lower, 1e-10);

  const mc = { n: 500, mean: 20, variance: 90 };
  const mt = { n: 450, mean: 22, variance: 110 };
  const m = compareMeans(mc, mt, 'mean', o);
  const w = welchTTest(mc, mt);
  close(m.pValue, w.pValue);
  close(m.difference.lower, w.lower);
  close(m.lift.upper, relativeLift(mc, mt).upper);

  const withX = (s: typeof mc, mx: number, cov: number) => ({ ...s, covariate: { mean: mx, variance: 80, covariance: cov } });
  const cu = compareMeans(withX(mc, 19, 60), withX(mt, 19.5, 70), 'mean', o);
  const ex = cuped({ n: 500, meanY: 20, varianceY: 90, meanX: 19, varianceX: 80, covariance: 60 }, { n: 450, meanY: 22, varianceY: 110, meanX: 19.5, varianceX: 80, covariance: 70 });
  close(cu.pValue, ex.test.pValue);
  close(cu.cuped!.theta, ex.theta);
  close(cu.varianceTreatment, ex.treatment.variance);

  const rc = summarizeRatio([3, 5, 4, 6, 2, 7], [1, 2, 1, 2, 1, 3]);
  const rt = summarizeRatio([4, 6, 5, 8, 3, 9], [1, 2, 1, 2, 1, 3]);
  const r = compareRatios(rc, rt, o);
  const er = ratioMetricTest(rc, rt);
  close(r.pValue, er.difference.pValue);
  close(r.lift.estimate, er.lift.estimate);
});

test('power hint: the fixed formula, and the smallest n whose sequence clears the effect with 80 % power', () => {
  const fixed = unitsPerArmFor({ varianceControl: 0.25, varianceTreatment: 0.25, effect: 0.05, alpha: 0.05, test: 'fixed' });
  const z = normalPpf(0.975) + normalPpf(0.8);
  assert.equal(fixed, Math.ceil((z * z * 0.5) / 0.0025));
  assert.equal(fixed, 1570);
  const n = unitsPerArmFor({ varianceControl: 0.25, varianceTreatment: 0.25, effect: 0.05, alpha: 0.05, test: 'sequential', tuning: 5000 });
  const clears = (k: number) => {
    const v = 0.5 / k;
    const tau2 = 2 * k * v * mixtureRhoSquared(0.05, 5000);
    const half = Math.sqrt(((v * (v + tau2)) / tau2) * Math.log((v + tau2) / (v * 0.05 * 0.05)));
    return half + normalPpf(0.8) * Math.sqrt(v) <= 0.05;
  };
  assert.ok(clears(n) && !clears(n - 1), `n = ${n}`);
  assert.ok(n > fixed, 'always-valid inference needs more units than a single look');
});

const exp = (over: Partial<ExperimentConfig> = {}): ExperimentConfig => experimentSchema.parse({
  id: 'x', flag: 'f', arms: ['control', 'b', 'c'],
  metrics: [{ name: 'conv', type: 'conversion' }, { name: 'rev', type: 'mean', field: 'amount' }],
  guardrails: [{ name: 'errors', type: 'conversion', direction: 'decrease' }],
  ...over,
});

const arm = (n: number, mean: number, variance: number) => ({ n, mean, variance });
const data = (errorsB = 0.05): ExperimentData => ({
  units: { control: 1000, b: 1000, c: 1000 },
  excludedUnits: 3,
  metrics: {
    conv: { kind: 'conversion', arms: { control: arm(1000, 0.3, 0.21), b: arm(1000, 0.36, 0.2304), c: arm(1000, 0.31, 0.2139) } },
    rev: { kind: 'mean', arms: { control: arm(1000, 10, 100), b: arm(1000, 10.5, 100), c: arm(1000, 9.8, 100) } },
    errors: { kind: 'conversion', arms: { control: arm(1000, 0.05, 0.0475), b: arm(1000, errorsB, errorsB * (1 - errorsB)), c: arm(1000, 0.05, 0.0475) } },
  },
});

test('analyzeExperiment: adjustment across metrics and arms, verdicts, power hint, status', () => {
  const now = Date.UTC(2026, 10, 1);
  const e = exp({ test: 'fixed' });
  const r = analyzeExperiment(e, data(), now);
  assert.equal(r.status, 'running');
  assert.equal(r.excludedUnits, 3);
  assert.match(r.warnings[0], /3 unit\(s\) were exposed to more than one arm/);
  assert.equal(r.srm.status, 'ok');
  const comps = r.metrics.filter((m) => !m.guardrail).flatMap((m) => m.comparisons);
  assert.deepEqual(comps.map((c) => c.arm), ['b', 'c', 'b', 'c']);
  const adj = holm(comps.map((c) => c.pValue));
  comps.forEach((c, i) => close(c.adjustedPValue, adj[i]));
  const b = comps[0];
  assert.equal(b.significant, true);
  assert.equal(b.outcome, 'better');
  assert.match(b.verdict, /^b raises conv by 20\.0% \(95% CI \d+\.\d%–\d+\.\d%\); significant after Holm$/);
  // Power hint for rev (b): 4 comparisons, α/4, δ = 5 % of 10, σ² = 100 + 100.
  const rev = comps[2];
  const z = normalPpf(1 - 0.05 / 8) + normalPpf(0.8);
  assert.equal(rev.moreUnitsPerArm, Math.ceil((z * z * 200) / 0.25) - 1000);
  assert.match(rev.verdict, new RegExp(`^no detectable difference yet; ${rev.moreUnitsPerArm} more units per arm for 80% power to detect a 5\\.0% change at the observed variance$`));

  const bh = analyzeExperiment(exp({ test: 'fixed', correction: 'bh' }), data(), now);
  const bhComps = bh.metrics.filter((m) => !m.guardrail).flatMap((m) => m.comparisons);
  const bhAdj = benjaminiHochberg(bhComps.map((c) => c.pValue));
  bhComps.forEach((c, i) => close(c.adjustedPValue, bhAdj[i]));
  assert.match(bhComps[0].verdict, /significant after Benjamini–Hochberg$/);

  // Sequential (default): the adjusted p-values are the always-valid ones.
  const seq = analyzeExperiment(exp(), data(), now);
  const sComps = seq.metrics.filter((m) => !m.guardrail).flatMap((m) => m.comparisons);
  holm(sComps.map((c) => c.sequential.pValue)).forEach((p, i) => close(sComps[i].adjustedPValue, p));
  // 0.30 → 0.36 at 1000 units per arm: clear at a single look (above), not yet under always-valid inference.
  assert.equal(sComps[0].significant, false);
  const need = unitsPerArmFor({ varianceControl: 0.21, varianceTreatment: 0.2304, effect: 0.05 * 0.3, alpha: 0.05 / 4, test: 'sequential', tuning: 5000 });
  assert.equal(sComps[0].moreUnitsPerArm, need - 1000);
  const big = { ...data(), metrics: { ...data().metrics, conv: { kind: 'conversion' as const, arms: { control: arm(4000, 0.3, 0.21), b: arm(4000, 0.36, 0.2304), c: arm(4000, 0.3, 0.21) } } } };
  const sb = analyzeExperiment(exp(), big, now).metrics[0].comparisons[0];
  assert.equal(sb.significant, true);
  assert.match(sb.verdict, /^b raises conv by 20\.0% \(95% always-valid CI \d+\.\d%–\d+\.\d%\); significant after Holm$/);
});

test('analyzeExperiment: a guardrail harmed significantly stops the experiment; time and SRM states', () => {
  const now = Date.UTC(2026, 10, 1);
  const r = analyzeExperiment(exp(), data(0.12), now);
  assert.equal(r.status, 'stopped-by-guardrail');
  assert.match(r.reason, /errors \(b\)/);
  const g = r.metrics.find((m) => m.name === 'errors')!.comparisons[0];
  assert.equal(g.outcome, 'worse');
  assert.match(g.verdict, /^b raises errors by 140\.0% .*guardrail harmed, stop the experiment$/);

  assert.equal(analyzeExperiment(exp({ start: now + 1000 } as Partial<ExperimentConfig>), data(), now).status, 'not-started');
  assert.equal(analyzeExperiment(exp({ end: now - 1000 } as Partial<ExperimentConfig>), data(), now).status, 'ended');

  const skewed = { ...data(), units: { control: 1100, b: 1000, c: 900 } };
  const s = analyzeExperiment(exp(), skewed, now);
  assert.equal(s.srm.status, 'mismatch');
  close(s.srm.chiSquare!, 20); // (100² + 0 + 100²)/1000
  assert.match(s.warnings[0], /sample ratio mismatch/);
  // Unequal allocation: 2:1:1 expects 1500/750/750.
  const a = analyzeExperiment(exp({ allocation: { control: 2, b: 1, c: 1 } }), { ...data(), units: { control: 1500, b: 760, c: 740 } }, now);
  assert.equal(a.srm.status, 'ok');
  assert.deepEqual(a.srm.expected, { control: 1500, b: 750, c: 750 });

  const empty = analyzeExperiment(exp(), { units: {}, excludedUnits: 0, metrics: { conv: { kind: 'error', reason: 'no exposures yet' } } }, now);
  assert.equal(empty.srm.status, 'no-data');
  assert.equal(empty.metrics[0].error, 'no exposures yet');
  assert.equal(empty.metrics[1].error, 'no data for this metric');
});

test('verdicts read as plain words', () => {
  const base = { arm: 'treatment', metric: 'checkout conversion', confidence: 0.95, sequential: false, correction: 'holm' as const, guardrail: false, mde: 0.05 };
  assert.equal(comparisonVerdict({ ...base, significant: true, outcome: 'better', lift: { estimate: 0.031, lower: 0.012, upper: 0.05 } }),
    'treatment raises checkout conversion by 3.1% (95% CI 1.2%–5.0%); significant after Holm');
  assert.equal(comparisonVerdict({ ...base, significant: true, outcome: 'worse', lift: { estimate: -0.031, lower: -0.05, upper: -0.012 } }),
    'treatment lowers checkout conversion by 3.1% (95% CI 1.2%–5.0%); significant after Holm');
  assert.equal(comparisonVerdict({ ...base, significant: false, outcome: 'inconclusive', lift: { estimate: 0.01, lower: -0.02, upper: 0.04 }, moreUnitsPerArm: 1200 }),
    'no detectable difference yet; 1200 more units per arm for 80% power to detect a 5.0% change at the observed variance');
  assert.match(comparisonVerdict({ ...base, significant: false, outcome: 'inconclusive', lift: { estimate: 0.001, lower: -0.01, upper: 0.012 }, moreUnitsPerArm: 0 }),
    /^no detectable difference: the test has 80% power for a 5\.0% change/);
});
