import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyMetric, iqrOutliers } from '../../src/stats/kayenta-classify.ts';
import { classifyScore, judgeCanary, summaryScore } from '../../src/stats/kayenta-judge.ts';
import type { MetricInput } from '../../src/stats/kayenta-types.ts';
import { createRandom } from '../../src/stats/random.ts';

const rng = createRandom(99);
const series = (n: number, mean: number, sd: number): number[] => Array.from({ length: n }, () => mean + sd * rng.normal());
const base = series(30, 100, 5);

test('a clear increase is High with interval, estimate, ratio and p-value; a clear decrease is Low', () => {
  const high = classifyMetric({ name: 'latency', control: base, experiment: series(30, 150, 5) });
  assert.equal(high.classification, 'High');
  assert.ok(high.interval.lower > 0.25 * Math.abs(high.hodgesLehmann));
  assert.ok(high.hodgesLehmann > 40 && high.hodgesLehmann < 60);
  assert.ok(high.ratio > 1.4 && high.ratio < 1.6);
  assert.ok(high.pValue < 1e-6);
  assert.equal(high.interval.confidenceLevel, 0.98);
  assert.equal(high.controlStats.count, 30);
  const low = classifyMetric({ name: 'throughput', control: base, experiment: series(30, 60, 5) });
  assert.equal(low.classification, 'Low');
});

test('direction limits what counts as bad', () => {
  const up = series(30, 150, 5);
  assert.equal(classifyMetric({ name: 'm', control: base, experiment: up, direction: 'decrease' }).classification, 'Pass');
  assert.equal(classifyMetric({ name: 'm', control: base, experiment: up, direction: 'increase' }).classification, 'High');
  assert.equal(classifyMetric({ name: 'm', control: base, experiment: up, direction: 'either' }).classification, 'High');
});

test('noise-level differences pass, and the tolerance band can absorb a small but certain shift', () => {
  assert.equal(classifyMetric({ name: 'm', control: base, experiment: series(30, 100, 5) }).classification, 'Pass');
  // A certain shift: with tolerance 0.99 the interval must clear 0.99·|estimate|, which it cannot.
  const shifted = base.map((v) => v + 3);
  assert.equal(classifyMetric({ name: 'm', control: base, experiment: shifted }, 0.98, 0.99).classification, 'Pass');
});

test('effect-size bounds: allowedIncrease and criticalIncrease on the mean ratio', () => {
  const up10 = series(60, 110, 2);
  const ctl = series(60, 100, 2);
  assert.equal(classifyMetric({ name: 'm', control: ctl, experiment: up10 }).classification, 'High');
  assert.equal(classifyMetric({ name: 'm', control: ctl, experiment: up10, allowedIncrease: 1.2 }).classification, 'Pass');
  const crit = classifyMetric({ name: 'm', control: ctl, experiment: up10, critical: true, criticalIncrease: 1.5 });
  assert.equal(crit.classification, 'High');
  assert.equal(crit.critical, false, 'High but below the critical effect size');
  const crit2 = classifyMetric({ name: 'm', control: ctl, experiment: up10, critical: true });
  assert.equal(crit2.critical, true);
  assert.match(crit2.reason ?? '', /Critical/);
  const cles = classifyMetric({ name: 'm', control: ctl, experiment: up10, effectSizeMeasure: 'cles' });
  assert.ok(cles.effectSize > 0.99);
  assert.equal(cles.classification, 'High');
});

test('missing data: Nodata, NodataFailMetric with mustHaveData, critical Nodata, and replace → Pass', () => {
  const nodata = classifyMetric({ name: 'm', control: base, experiment: [] });
  assert.equal(nodata.classification, 'Nodata');
  assert.equal(nodata.critical, false);
  assert.equal(classifyMetric({ name: 'm', control: base, experiment: [Number.NaN], mustHaveData: true }).classification, 'NodataFailMetric');
  const crit = classifyMetric({ name: 'm', control: [], experiment: base, critical: true, mustHaveData: true });
  assert.equal(crit.classification, 'Nodata');
  assert.equal(crit.critical, true);
  assert.equal(classifyMetric({ name: 'm', control: base, experiment: [], nanStrategy: 'replace' }).classification, 'Pass');
});

test('NaN strategy: replace counts NaN as zero, remove drops it', () => {
  const withNaN = [...base.slice(0, 3), ...Array.from({ length: 27 }, () => Number.NaN)];
  const replaced = classifyMetric({ name: 'm', control: base, experiment: withNaN, nanStrategy: 'replace' });
  assert.equal(replaced.experimentStats.count, 30);
  assert.equal(replaced.experimentStats.min, 0);
  assert.equal(replaced.classification, 'Low');
  const removed = classifyMetric({ name: 'm', control: base, experiment: withNaN });
  assert.equal(removed.experimentStats.count, 3);
  assert.equal(removed.classification, 'Pass');
});

test('outliers: IQR fences widened to p1/p99 as Kayenta, removed only when asked', () => {
  const data = [...series(199, 10, 1), 1e6];
  const flags = iqrOutliers(data, 3, true);
  assert.equal(flags.filter(Boolean).length, 1);
  assert.equal(flags[199], true);
  const kept = classifyMetric({ name: 'm', control: base, experiment: data });
  assert.equal(kept.experimentStats.count, 200);
  const removed = classifyMetric({ name: 'm', control: base, experiment: data, outlierStrategy: 'remove' });
  assert.equal(removed.experimentStats.count, 199);
  assert.ok(removed.experimentStats.max < 100);
});

test('identical and constant data pass; two different constants are compared exactly', () => {
  const same = classifyMetric({ name: 'm', control: [1, 2, 3], experiment: [3, 2, 1] });
  assert.equal(same.classification, 'Pass');
  assert.match(same.reason ?? '', /identical/);
  assert.equal(classifyMetric({ name: 'm', control: [5, 5], experiment: [5, 5, 5] }).classification, 'Pass');
  const constants = classifyMetric({ name: 'm', control: [0, 0, 0], experiment: [1, 1, 1, 1] });
  assert.equal(constants.classification, 'High');
  assert.equal(constants.hodgesLehmann, 1);
});

test('scores: group weights, unweighted groups share the rest, thresholds give the verdict', () => {
  const metrics: MetricInput[] = [
    { name: 'p50', control: base, experiment: series(30, 150, 5), groups: ['latency'] },
    { name: 'p99', control: base, experiment: series(30, 100, 5), groups: ['latency'] },
    { name: 'errors', control: base, experiment: series(30, 100, 5), groups: ['errors'] },
  ];
  const r = judgeCanary(metrics, { groupWeights: { latency: 70 }, passThreshold: 95, marginalThreshold: 60 });
  assert.equal(r.summary.groups.find((g) => g.name === 'latency')?.score, 50);
  assert.equal(r.summary.groups.find((g) => g.name === 'errors')?.score, 100);
  assert.equal(r.summary.score, 65);
  assert.equal(r.summary.verdict, 'Marginal');
  assert.equal(r.summary.reason, null);
  assert.equal(summaryScore([{ name: 'a', score: 50, noData: false, counts: {} }, { name: 'b', score: 0, noData: true, counts: {} }], {}), 75);
  assert.equal(classifyScore(95, 95, 75), 'Pass');
  assert.equal(classifyScore(74.99, 95, 75), 'Fail');
});

test('a critical failure or half the metrics without data forces the score to 0; muted metrics do not count', () => {
  const crit = judgeCanary([
    { name: 'errors', control: base, experiment: series(30, 150, 5), critical: true },
    { name: 'ok1', control: base, experiment: series(30, 100, 5) },
    { name: 'ok2', control: base, experiment: series(30, 100, 5) },
  ]);
  assert.equal(crit.summary.score, 0);
  assert.equal(crit.summary.verdict, 'Fail');
  assert.match(crit.summary.reason ?? '', /Canary Failed: errors was classified as High \(Critical\)/);
  const nodata = judgeCanary([
    { name: 'a', control: base, experiment: [] },
    { name: 'b', control: base, experiment: series(30, 100, 5) },
  ]);
  assert.equal(nodata.summary.score, 0);
  assert.match(nodata.summary.reason ?? '', /NODATA/);
  const muted = judgeCanary([
    { name: 'noisy', control: base, experiment: series(30, 150, 5), muted: true },
    { name: 'ok', control: base, experiment: series(30, 100, 5) },
  ]);
  assert.equal(muted.summary.score, 100);
  assert.equal(muted.metrics[0].classification, 'High');
  assert.equal(muted.summary.verdict, 'Pass');
});

test('regression: many zeros in both arms — the estimate is exactly 0 and the decision treats the tie exactly', () => {
  // Error rates per interval: mostly zero in both arms, the canary's non-zero values larger and more frequent.
  const control = [...Array.from({ length: 150 }, () => 0), ...Array.from({ length: 60 }, (_, i) => 0.005 * (1 + (i % 3)))];
  const experiment = [...Array.from({ length: 110 }, () => 0), ...Array.from({ length: 100 }, (_, i) => 0.005 * (2 + (i % 4)))];
  const r = classifyMetric({ name: 'error rate', control, experiment, direction: 'increase' });
  assert.equal(r.hodgesLehmann, 0);
  assert.equal(r.interval.lower, 0);
  assert.ok(r.pValue < 0.001);
  // Bound 0.25·|0| = 0 lies below the interval because a shift of 0 is itself rejected upwards.
  assert.equal(r.classification, 'High');
});

test('too few points for the level: the interval is clamped to the data range, as R and Kayenta report it', () => {
  // With 3 points per arm no shift can be rejected at 98 %; the bounds become min(x) − max(y) and max(x) − min(y).
  const r = classifyMetric({ name: 'm', control: [10, 11, 12], experiment: [20, 21, 23] });
  assert.equal(r.interval.lower, 20 - 12);
  assert.equal(r.interval.upper, 23 - 10);
  assert.equal(r.classification, 'High');
});
