import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  relativeLift,
  sampleRatioMismatch,
  summarizeSample,
  twoProportionTest,
  welchTTest,
} from '../../src/stats/experiments.ts';
import { cuped, ratioMetricTest, summarizeCuped, summarizeRatio } from '../../src/stats/experiments-ratio.ts';
import { benjaminiHochberg, holm } from '../../src/stats/multiple-testing.ts';
import { assertClose, fixtures } from './helpers.ts';

test('Welch t-test matches scipy.stats.ttest_ind(equal_var=False), with df and interval', () => {
  for (const c of fixtures.welch) {
    const r = welchTTest(summarizeSample(c.control), summarizeSample(c.treatment));
    assertClose(r.t, c.t, 1e-11, 0, 't');
    assertClose(r.df, c.df, 1e-11, 0, 'df');
    assertClose(r.pValue, c.pValue, 1e-10, 1e-300, 'p');
    assertClose(r.lower, c.lower, 1e-10, 1e-12, 'lower');
    assertClose(r.upper, c.upper, 1e-10, 1e-12, 'upper');
    const lift = relativeLift(summarizeSample(c.control), summarizeSample(c.treatment));
    assertClose(lift.estimate, c.lift, 1e-11, 1e-14, 'lift');
    assertClose(lift.standardError, c.liftSe, 1e-10, 0, 'lift se');
  }
});

test('two-proportion z-test, difference and lift intervals match the formulas', () => {
  for (const c of fixtures.proportions) {
    const r = twoProportionTest(c.control, c.treatment);
    assertClose(r.z, c.z, 1e-12, 0, 'z');
    assertClose(r.pValue, c.pValue, 1e-11, 1e-300, 'p');
    assertClose(r.difference.lower, c.diffLower, 1e-11, 1e-15, 'diff lower');
    assertClose(r.difference.upper, c.diffUpper, 1e-11, 1e-15, 'diff upper');
    assertClose(r.lift.estimate, c.lift, 1e-12, 1e-15, 'lift');
    assertClose(r.lift.lower, c.liftLower, 1e-11, 1e-15, 'lift lower');
    assertClose(r.lift.upper, c.liftUpper, 1e-11, 1e-15, 'lift upper');
  }
});

test('ratio metrics by the delta method match numpy', () => {
  for (const c of fixtures.ratio) {
    const r = ratioMetricTest(summarizeRatio(c.numC, c.denC), summarizeRatio(c.numT, c.denT));
    assertClose(r.control, c.ratioC, 1e-12);
    assertClose(r.treatment, c.ratioT, 1e-12);
    assertClose(r.difference.standardError, c.diffSe, 1e-10);
    assertClose(r.lift.estimate, c.lift, 1e-10, 1e-14);
    assertClose(r.lift.standardError, c.liftSe, 1e-10);
    assertClose(r.lift.pValue, c.liftP, 1e-9, 1e-300);
  }
});

test('CUPED matches the adjusted-array Welch test in numpy/scipy and reduces variance', () => {
  for (const c of fixtures.cuped) {
    const r = cuped(summarizeCuped(c.yC, c.xC), summarizeCuped(c.yT, c.xT));
    assertClose(r.theta, c.theta, 1e-11);
    assertClose(r.control.mean, c.meanC, 1e-11);
    assertClose(r.treatment.mean, c.meanT, 1e-11);
    assertClose(r.control.variance, c.varC, 1e-9);
    assertClose(r.treatment.variance, c.varT, 1e-9);
    assertClose(r.test.t, c.t, 1e-9);
    assertClose(r.test.df, c.df, 1e-9);
    assertClose(r.test.pValue, c.pValue, 1e-8);
    assertClose(r.varianceReduction, c.varianceReduction, 1e-9);
    assert.ok(r.test.pValue < c.rawPValue);
  }
});

test('sample-ratio mismatch matches scipy.stats.chisquare and flags p < 0.001', () => {
  for (const c of fixtures.srm) {
    const r = sampleRatioMismatch(c.observed, c.weights);
    assertClose(r.chiSquare, c.chiSquare, 1e-12);
    assertClose(r.pValue, c.pValue, 1e-11, 1e-300);
    assert.equal(r.mismatch, c.pValue < 0.001);
  }
});

test('Holm and Benjamini–Hochberg adjustments match (BH: scipy.stats.false_discovery_control)', () => {
  for (const c of fixtures.adjustments) {
    holm(c.p).forEach((v, i) => assertClose(v, c.holm[i], 1e-14, 1e-16, `holm ${i}`));
    benjaminiHochberg(c.p).forEach((v, i) => assertClose(v, c.bh[i], 1e-14, 1e-16, `bh ${i}`));
  }
});
