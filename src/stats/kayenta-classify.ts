/**
 * Classification of one canary metric with Kayenta's NetflixACAJudge semantics: NaN and outlier
 * handling, the Mann–Whitney shift interval at 98 %, the tolerance band of ±0.25·|estimate|, direction,
 * effect-size bounds and criticality. Written from the behaviour of Kayenta's MannWhitneyClassifier;
 * differences are listed in docs/statistics.md.
 */
import { quantileSorted, sortNumbers, summarize } from './descriptive.ts';
import { commonLanguageEffectSize, mannWhitneyU, wilcoxonShiftInterval, wilcoxonShiftZ } from './mann-whitney.ts';
import { normalPpf } from './distributions.ts';
import type { MetricInput, MetricResult } from './kayenta-types.ts';

/**
 * Outlier flags by Kayenta's IQR detector with `reduceSensitivity`: a value is an outlier when it lies
 * outside [min(p1, Q1 − f·IQR), max(p99, Q3 + f·IQR)], percentiles by the type-7 rule.
 * @example
 * iqrOutliers([1, 2, 3, 4, 100], 1.5); // no outliers: with 5 points p99 reaches 100
 */
export function iqrOutliers(values: readonly number[], factor = 3, reduceSensitivity = true): boolean[] {
  if (values.length === 0) return [];
  const sorted = sortNumbers(values);
  const q1 = quantileSorted(sorted, 0.25);
  const q3 = quantileSorted(sorted, 0.75);
  const iqr = q3 - q1;
  let lowerFence = q1 - factor * iqr;
  let upperFence = q3 + factor * iqr;
  if (reduceSensitivity) {
    lowerFence = Math.min(quantileSorted(sorted, 0.01), lowerFence);
    upperFence = Math.max(quantileSorted(sorted, 0.99), upperFence);
  }
  return values.map((v) => v > upperFence || v < lowerFence);
}

function prepare(values: readonly number[], input: MetricInput): number[] {
  const cleaned =
    (input.nanStrategy ?? 'remove') === 'remove'
      ? values.filter((v) => !Number.isNaN(v))
      : values.map((v) => (Number.isNaN(v) ? 0 : v));
  if ((input.outlierStrategy ?? 'keep') !== 'remove') return cleaned;
  const outliers = iqrOutliers(cleaned, input.outlierFactor ?? 3, true);
  return cleaned.filter((_, i) => !outliers[i]);
}

function meanOf(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

function meanRatio(control: readonly number[], experiment: readonly number[]): number {
  const c = meanOf(control);
  const e = meanOf(experiment);
  return c === 0 || e === 0 ? Number.NaN : e / c;
}

function sameMultiset(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  const sa = sortNumbers(a);
  const sb = sortNumbers(b);
  for (let i = 0; i < sa.length; i++) if (sa[i] !== sb[i]) return false;
  return true;
}

/**
 * Classifies one metric: Pass, High, Low, Nodata, NodataFailMetric or Error, with the numbers behind
 * the verdict. Never throws. `confidenceLevel` and `tolerance` default to Kayenta's 0.98 and 0.25.
 * @example
 * const r = classifyMetric({ name: 'latency', control: [10, 11, 12, 10, 11], experiment: [20, 21, 22, 20, 21] });
 * r.classification; // 'High'
 */
export function classifyMetric(input: MetricInput, confidenceLevel = 0.98, tolerance = 0.25): MetricResult {
  const control = prepare(input.control, input);
  const experiment = prepare(input.experiment, input);
  const isCritical = input.critical ?? false;
  const measure = input.effectSizeMeasure ?? 'meanRatio';
  const defaultEffect = measure === 'cles' ? 0.5 : 1.0;
  const allowedIncrease = input.allowedIncrease ?? defaultEffect;
  const allowedDecrease = input.allowedDecrease ?? defaultEffect;
  const criticalIncrease = input.criticalIncrease ?? defaultEffect;
  const criticalDecrease = input.criticalDecrease ?? defaultEffect;
  const direction = input.direction ?? 'either';

  const base: MetricResult = {
    name: input.name,
    classification: 'Pass',
    reason: null,
    pValue: Number.NaN,
    interval: { lower: Number.NaN, upper: Number.NaN, confidenceLevel },
    hodgesLehmann: Number.NaN,
    ratio: 1,
    effectSize: Number.NaN,
    controlStats: summarize(control),
    experimentStats: summarize(experiment),
    critical: false,
    muted: input.muted ?? false,
    groups: input.groups ?? ['default'],
  };

  if (experiment.length === 0 || control.length === 0) {
    if ((input.nanStrategy ?? 'remove') === 'remove') {
      const reason = `Missing data for ${input.name}`;
      if ((input.mustHaveData ?? false) && !isCritical) {
        return { ...base, classification: 'NodataFailMetric', reason };
      }
      return { ...base, classification: 'Nodata', reason, critical: isCritical };
    }
    return base;
  }
  if (sameMultiset(experiment, control)) {
    return { ...base, reason: 'The canary and baseline data are identical' };
  }
  const first = experiment[0];
  if (experiment.every((v) => v === first) && control.every((v) => v === first)) return base;

  const ratio = meanRatio(control, experiment);
  const effectSize = measure === 'cles' ? commonLanguageEffectSize(experiment, control) : ratio;
  const expConst = experiment.every((v) => v === experiment[0]);
  const ctlConst = control.every((v) => v === control[0]);
  // Kayenta adds tiny Gaussian noise when both samples are constant; here the shift is known exactly.
  const shift =
    expConst && ctlConst
      ? { lower: experiment[0] - control[0], upper: experiment[0] - control[0], estimate: experiment[0] - control[0] }
      : wilcoxonShiftInterval(experiment, control, confidenceLevel);
  const pValue = mannWhitneyU(experiment, control).pValue;
  const measured = {
    ...base,
    pValue,
    ratio,
    effectSize,
    interval: { lower: shift.lower, upper: shift.upper, confidenceLevel },
    hodgesLehmann: shift.estimate,
  };
  if (Number.isNaN(shift.estimate)) {
    return { ...measured, classification: 'Error', reason: 'Metric classification failed: all values tied', critical: isCritical };
  }

  const bound = tolerance * Math.abs(shift.estimate);
  // "lower > bound" is decided by testing the shift `bound` itself (it lies below the interval exactly
  // when the test at that shift rejects upwards), so ties at the bound count as ties rather than
  // depending on which side of a jump a root finder stopped (R and Kayenta stop within 1e-4).
  // A bound clamped to the data range (the level is not achievable with so few points, R's and
  // Kayenta's convention) is compared as the number it is.
  const zq = normalPpf(1 - (1 - confidenceLevel) / 2);
  const exact = expConst && ctlConst;
  const muMin = base.experimentStats.min - base.controlStats.max;
  const muMax = base.experimentStats.max - base.controlStats.min;
  const clearsUp =
    exact || shift.lower <= muMin ? shift.lower > bound : wilcoxonShiftZ(experiment, control, bound) > zq;
  const clearsDown =
    exact || shift.upper >= muMax ? shift.upper < -bound : wilcoxonShiftZ(experiment, control, -bound) < -zq;
  const isHigh = direction !== 'decrease' && clearsUp && (Number.isNaN(effectSize) || effectSize >= allowedIncrease);
  const isLow = direction !== 'increase' && clearsDown && (Number.isNaN(effectSize) || effectSize <= allowedDecrease);

  if (isHigh) {
    const critical = isCritical && (Number.isNaN(effectSize) || effectSize >= criticalIncrease);
    return {
      ...measured,
      classification: 'High',
      reason: `${input.name} was classified as High${critical ? ' (Critical)' : ''}`,
      critical,
    };
  }
  if (isLow) {
    const critical = isCritical && (Number.isNaN(effectSize) || effectSize <= criticalDecrease);
    return {
      ...measured,
      classification: 'Low',
      reason: `${input.name} was classified as Low${critical ? ' (Critical)' : ''}`,
      critical,
    };
  }
  return measured;
}
