/**
 * One metric, one treatment arm against control: the fixed-horizon test, the anytime-valid
 * sequence, CUPED when a covariate is there, and the inputs of the power hint. Pure; every number
 * comes from src/stats (docs/statistics.md).
 */
import { cuped, ratioEstimate, ratioMetricTest, relativeLift, twoProportionTest, welchTTest } from '../stats/index.ts';
import type { MeanSummary, RatioSummary } from '../stats/index.ts';
import { alwaysValid } from './sequential.ts';
import type { ArmSummary, Interval } from './types.ts';

/** A comparison before multiple-testing adjustment and verdict. */
export interface RawComparison {
  difference: Interval;
  lift: Interval;
  pValue: number;
  sequential: { difference: Interval; lift: Interval; pValue: number };
  cuped?: { theta: number; varianceReduction: number };
  /** Per-unit variances (after CUPED) and the control mean: what the power hint needs. */
  varianceControl: number;
  varianceTreatment: number;
  controlMean: number;
}

export interface CompareOptions {
  alpha: number;
  tuning: number;
}

const iv = (e: { estimate: number; lower: number; upper: number }): Interval => ({ estimate: e.estimate, lower: e.lower, upper: e.upper });

function liftVariance(c: MeanSummary, t: MeanSummary): number {
  const mc = c.mean;
  return t.variance / (t.n * mc * mc) + (t.mean * t.mean * c.variance) / (c.n * mc ** 4);
}

function sequentialOfMeans(c: MeanSummary, t: MeanSummary, o: CompareOptions): RawComparison['sequential'] {
  const n = c.n + t.n;
  const d = t.mean - c.mean;
  const dv = alwaysValid(d, c.variance / c.n + t.variance / t.n, n, o.alpha, o.tuning);
  const l = t.mean / c.mean - 1;
  const lv = alwaysValid(l, liftVariance(c, t), n, o.alpha, o.tuning);
  return { difference: { estimate: d, lower: dv.lower, upper: dv.upper }, lift: { estimate: l, lower: lv.lower, upper: lv.upper }, pValue: dv.pValue };
}

/**
 * Compares a conversion or mean metric. Conversions without a covariate use the two-proportion test;
 * means use Welch's t-test; with a covariate both use CUPED (Welch on the adjusted means). The
 * sequence uses the same (adjusted) summaries; for conversions p(1 − p) is the variance.
 * @example
 * const r = compareMeans({ n: 2000, mean: 0.5, variance: 0.25 }, { n: 2000, mean: 0.6, variance: 0.24 }, 'conversion', { alpha: 0.05, tuning: 5000 });
 * r.pValue < 1e-9; // true
 */
export function compareMeans(control: ArmSummary, treatment: ArmSummary, kind: 'conversion' | 'mean', o: CompareOptions): RawComparison {
  const level = 1 - o.alpha;
  if (control.covariate && treatment.covariate) {
    const toCuped = (a: ArmSummary) => ({
      n: a.n, meanY: a.mean, varianceY: a.variance,
      meanX: a.covariate!.mean, varianceX: a.covariate!.variance, covariance: a.covariate!.covariance,
    });
    const r = cuped(toCuped(control), toCuped(treatment), level);
    return {
      difference: iv(r.test),
      lift: iv(relativeLift(r.control, r.treatment, level)),
      pValue: r.test.pValue,
      sequential: sequentialOfMeans(r.control, r.treatment, o),
      cuped: { theta: r.theta, varianceReduction: r.varianceReduction },
      varianceControl: r.control.variance,
      varianceTreatment: r.treatment.variance,
      controlMean: control.mean,
    };
  }
  if (kind === 'conversion') {
    const successes = (a: ArmSummary) => Math.round(a.mean * a.n);
    const r = twoProportionTest({ n: control.n, successes: successes(control) }, { n: treatment.n, successes: successes(treatment) }, level);
    const bern = (p: number, n: number): MeanSummary => ({ n, mean: p, variance: p * (1 - p) });
    return {
      difference: iv(r.difference),
      lift: iv(r.lift),
      pValue: r.pValue,
      sequential: sequentialOfMeans(bern(r.control, control.n), bern(r.treatment, treatment.n), o),
      varianceControl: r.control * (1 - r.control),
      varianceTreatment: r.treatment * (1 - r.treatment),
      controlMean: r.control,
    };
  }
  const w = welchTTest(control, treatment, level);
  return {
    difference: iv(w),
    lift: iv(relativeLift(control, treatment, level)),
    pValue: w.pValue,
    sequential: sequentialOfMeans(control, treatment, o),
    varianceControl: control.variance,
    varianceTreatment: treatment.variance,
    controlMean: control.mean,
  };
}

/**
 * Compares a ratio metric (Σnumerator/Σdenominator over units) by the delta method; the sequence is
 * applied to the delta-method variances of the difference and of the lift.
 * @example
 * const r = compareRatios(summarizeRatio(revC, sessC), summarizeRatio(revT, sessT), { alpha: 0.05, tuning: 5000 });
 */
export function compareRatios(control: RatioSummary, treatment: RatioSummary, o: CompareOptions): RawComparison {
  const r = ratioMetricTest(control, treatment, 1 - o.alpha);
  const c = ratioEstimate(control);
  const t = ratioEstimate(treatment);
  const n = control.n + treatment.n;
  const dv = alwaysValid(r.difference.estimate, c.variance + t.variance, n, o.alpha, o.tuning);
  const lv = alwaysValid(r.lift.estimate, r.lift.standardError ** 2, n, o.alpha, o.tuning);
  return {
    difference: iv(r.difference),
    lift: iv(r.lift),
    pValue: r.difference.pValue,
    sequential: {
      difference: { estimate: r.difference.estimate, lower: dv.lower, upper: dv.upper },
      lift: { estimate: r.lift.estimate, lower: lv.lower, upper: lv.upper },
      pValue: dv.pValue,
    },
    // Per-unit variance of each arm's ratio estimate: n·Var(R̂).
    varianceControl: control.n * c.variance,
    varianceTreatment: treatment.n * t.variance,
    controlMean: c.ratio,
  };
}
