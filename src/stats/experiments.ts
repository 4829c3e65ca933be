/**
 * Fixed-horizon experiment statistics: Welch's t-test, relative lift by the delta method, the
 * two-proportion z-test and the sample-ratio-mismatch check. Differences are treatment − control.
 */
import { chiSquareSf, normalPpf, normalSf, studentTPpf, studentTSf } from './distributions.ts';
import type { MeanSummary } from './sequential-means.ts';
import { mean, variance } from './descriptive.ts';

/**
 * Summary of a sample for the two-sample tests.
 * @example
 * summarizeSample([1, 2, 3]); // { n: 3, mean: 2, variance: 1 }
 */
export function summarizeSample(values: readonly number[]): MeanSummary {
  return { n: values.length, mean: mean(values), variance: variance(values) };
}

/** An estimate with its standard error, confidence interval and two-sided p-value against zero. */
export interface Estimate {
  estimate: number;
  standardError: number;
  lower: number;
  upper: number;
  pValue: number;
}

/** Result of {@link welchTTest}. */
export interface WelchResult extends Estimate {
  /** t statistic of treatment − control. */
  t: number;
  /** Welch–Satterthwaite degrees of freedom. */
  df: number;
}

/**
 * Welch's unequal-variance t-test for the difference in means treatment − control, with the
 * Welch–Satterthwaite degrees of freedom and a two-sided confidence interval. Matches
 * `scipy.stats.ttest_ind(treatment, control, equal_var=False)`.
 * @example
 * const r = welchTTest({ n: 50, mean: 10, variance: 4 }, { n: 60, mean: 11, variance: 9 });
 * r.pValue; // ≈ 0.0245
 */
export function welchTTest(control: MeanSummary, treatment: MeanSummary, confidenceLevel = 0.95): WelchResult {
  const a = control.variance / control.n;
  const b = treatment.variance / treatment.n;
  const se = Math.sqrt(a + b);
  const estimate = treatment.mean - control.mean;
  const df = ((a + b) * (a + b)) / ((a * a) / (control.n - 1) + (b * b) / (treatment.n - 1));
  const t = estimate / se;
  const q = studentTPpf(1 - (1 - confidenceLevel) / 2, df);
  return {
    estimate,
    standardError: se,
    t,
    df,
    lower: estimate - q * se,
    upper: estimate + q * se,
    pValue: Math.min(1, 2 * studentTSf(Math.abs(t), df)),
  };
}

/**
 * Relative lift treatment / control − 1 with a delta-method standard error and a normal interval:
 * Var ≈ s_t²/(n_t μ_c²) + μ_t² s_c²/(n_c μ_c⁴).
 * @example
 * relativeLift({ n: 1000, mean: 10, variance: 25 }, { n: 1000, mean: 10.5, variance: 25 }).estimate; // 0.05
 */
export function relativeLift(control: MeanSummary, treatment: MeanSummary, confidenceLevel = 0.95): Estimate {
  const mc = control.mean;
  const mt = treatment.mean;
  const estimate = mt / mc - 1;
  const v = treatment.variance / (treatment.n * mc * mc) + (mt * mt * control.variance) / (control.n * mc ** 4);
  return normalEstimate(estimate, Math.sqrt(v), confidenceLevel);
}

/** A normal-approximation estimate: the interval at `confidenceLevel` and the two-sided p-value. */
export function normalEstimate(estimate: number, se: number, confidenceLevel: number): Estimate {
  const z = normalPpf(1 - (1 - confidenceLevel) / 2);
  return {
    estimate,
    standardError: se,
    lower: estimate - z * se,
    upper: estimate + z * se,
    pValue: Math.min(1, 2 * normalSf(Math.abs(estimate / se))),
  };
}

/** Conversions out of units for one arm. */
export interface ProportionSummary {
  n: number;
  successes: number;
}

/** Result of {@link twoProportionTest}. */
export interface TwoProportionResult {
  control: number;
  treatment: number;
  /** Pooled z statistic. */
  z: number;
  /** Two-sided p-value of the pooled z-test. */
  pValue: number;
  /** Difference treatment − control with the unpooled (Wald) interval. */
  difference: Estimate;
  /** Relative lift treatment / control − 1 with the delta-method interval. */
  lift: Estimate;
}

/**
 * Two-proportion z-test for conversions (pooled variance for the test, unpooled for the interval of the
 * difference, delta method for the relative lift).
 * @example
 * twoProportionTest({ n: 10000, successes: 500 }, { n: 10000, successes: 580 }).pValue; // ≈ 0.0128
 */
export function twoProportionTest(
  control: ProportionSummary,
  treatment: ProportionSummary,
  confidenceLevel = 0.95,
): TwoProportionResult {
  const pc = control.successes / control.n;
  const pt = treatment.successes / treatment.n;
  const pooled = (control.successes + treatment.successes) / (control.n + treatment.n);
  const z = (pt - pc) / Math.sqrt(pooled * (1 - pooled) * (1 / control.n + 1 / treatment.n));
  const seDiff = Math.sqrt((pc * (1 - pc)) / control.n + (pt * (1 - pt)) / treatment.n);
  const vLift = (pt * (1 - pt)) / (treatment.n * pc * pc) + (pt * pt * pc * (1 - pc)) / (control.n * pc ** 4);
  const difference = normalEstimate(pt - pc, seDiff, confidenceLevel);
  return {
    control: pc,
    treatment: pt,
    z,
    pValue: Math.min(1, 2 * normalSf(Math.abs(z))),
    difference,
    lift: normalEstimate(pt / pc - 1, Math.sqrt(vLift), confidenceLevel),
  };
}

/** Result of {@link sampleRatioMismatch}. */
export interface SampleRatioResult {
  chiSquare: number;
  df: number;
  pValue: number;
  expected: number[];
  /** pValue below the threshold (default 0.001): the assignment is broken, results are not to be trusted. */
  mismatch: boolean;
}

/**
 * Sample-ratio-mismatch check: Pearson chi-square goodness of fit of the observed units per arm against
 * the configured allocation (weights need not sum to 1). Flags p < 0.001 by default.
 * @example
 * sampleRatioMismatch([5000, 5400], [0.5, 0.5]).mismatch; // true (p ≈ 8.8e-5)
 */
export function sampleRatioMismatch(
  observed: readonly number[],
  weights: readonly number[],
  threshold = 0.001,
): SampleRatioResult {
  const total = observed.reduce((a, b) => a + b, 0);
  const wsum = weights.reduce((a, b) => a + b, 0);
  const expected = weights.map((w) => (total * w) / wsum);
  let chiSquare = 0;
  for (let i = 0; i < observed.length; i++) {
    const d = observed[i] - expected[i];
    chiSquare += (d * d) / expected[i];
  }
  const df = observed.length - 1;
  const pValue = chiSquareSf(chiSquare, df);
  return { chiSquare, df, pValue, expected, mismatch: pValue < threshold };
}
