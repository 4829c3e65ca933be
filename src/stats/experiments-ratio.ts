/**
 * Ratio metrics by the delta method, and CUPED variance reduction with a pre-period covariate.
 */
import { mean, variance } from './descriptive.ts';
import type { Estimate } from './experiments.ts';
import { normalEstimate, welchTTest } from './experiments.ts';
import type { WelchResult } from './experiments.ts';
import type { MeanSummary } from './sequential-means.ts';

function covariance(a: readonly number[], b: readonly number[]): number {
  const ma = mean(a);
  const mb = mean(b);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - ma) * (b[i] - mb);
  return s / (a.length - 1);
}

/**
 * Per-arm summary of a ratio metric Σnumerator / Σdenominator over units (e.g. revenue per session,
 * randomized by user): means, variances (ddof = 1) and covariance of the per-unit values.
 */
export interface RatioSummary {
  n: number;
  numeratorMean: number;
  denominatorMean: number;
  numeratorVariance: number;
  denominatorVariance: number;
  covariance: number;
}

/**
 * Builds a {@link RatioSummary} from per-unit numerators and denominators.
 * @example
 * summarizeRatio([3, 5], [1, 2]); // numeratorMean 4, denominatorMean 1.5, …
 */
export function summarizeRatio(numerators: readonly number[], denominators: readonly number[]): RatioSummary {
  return {
    n: numerators.length,
    numeratorMean: mean(numerators),
    denominatorMean: mean(denominators),
    numeratorVariance: variance(numerators),
    denominatorVariance: variance(denominators),
    covariance: covariance(numerators, denominators),
  };
}

/**
 * The ratio of one arm and its delta-method variance:
 * Var(R̂) ≈ (σ_Y²/μ_X² − 2μ_Y σ_XY/μ_X³ + μ_Y² σ_X²/μ_X⁴) / n.
 * @example
 * ratioEstimate(summarizeRatio([3, 5, 4], [1, 2, 1])).ratio; // 3
 */
export function ratioEstimate(s: RatioSummary): { ratio: number; variance: number } {
  const mx = s.denominatorMean;
  const my = s.numeratorMean;
  const ratio = my / mx;
  const v =
    (s.numeratorVariance / (mx * mx) -
      (2 * my * s.covariance) / mx ** 3 +
      (my * my * s.denominatorVariance) / mx ** 4) /
    s.n;
  return { ratio, variance: v };
}

/**
 * Compares a ratio metric between arms by the delta method: the absolute difference of the ratios and
 * the relative lift R_t/R_c − 1, each with a normal interval and p-value.
 * @example
 * const r = ratioMetricTest(summarizeRatio(revC, sessC), summarizeRatio(revT, sessT));
 * r.lift.lower > 0; // revenue per session went up
 */
export function ratioMetricTest(
  control: RatioSummary,
  treatment: RatioSummary,
  confidenceLevel = 0.95,
): { control: number; treatment: number; difference: Estimate; lift: Estimate } {
  const c = ratioEstimate(control);
  const t = ratioEstimate(treatment);
  const vLift = t.variance / (c.ratio * c.ratio) + (t.ratio * t.ratio * c.variance) / c.ratio ** 4;
  return {
    control: c.ratio,
    treatment: t.ratio,
    difference: normalEstimate(t.ratio - c.ratio, Math.sqrt(c.variance + t.variance), confidenceLevel),
    lift: normalEstimate(t.ratio / c.ratio - 1, Math.sqrt(vLift), confidenceLevel),
  };
}

/** Per-arm summary for CUPED: the metric Y and its pre-period covariate X. */
export interface CupedSummary {
  n: number;
  meanY: number;
  meanX: number;
  varianceY: number;
  varianceX: number;
  covariance: number;
}

/**
 * Builds a {@link CupedSummary} from per-unit metric values and pre-period covariates.
 * @example
 * summarizeCuped([10, 12, 9], [9, 12, 8]);
 */
export function summarizeCuped(y: readonly number[], x: readonly number[]): CupedSummary {
  return {
    n: y.length,
    meanY: mean(y),
    meanX: mean(x),
    varianceY: variance(y),
    varianceX: variance(x),
    covariance: covariance(y, x),
  };
}

/** Result of {@link cuped}. */
export interface CupedResult {
  /** θ = Cov(Y, X) / Var(X) over both arms pooled. */
  theta: number;
  /** Adjusted arm summaries: mean Ȳ − θ(X̄_arm − X̄), variance s_Y² − 2θ s_XY + θ² s_X². */
  control: MeanSummary;
  treatment: MeanSummary;
  /** Welch test on the adjusted means. */
  test: WelchResult;
  /** Share of variance removed, 1 − Var(Y_cuped)/Var(Y) pooled over arms. */
  varianceReduction: number;
}

/**
 * CUPED (Deng, Xu, Kohavi & Walker, WSDM 2013): adjusts each unit's metric by θ·(X − X̄) with a
 * pre-period covariate X and θ = Cov(Y, X)/Var(X) pooled over both arms, then runs Welch's test on the
 * adjusted means. The estimate stays unbiased because X is measured before assignment.
 * @example
 * const r = cuped(summarizeCuped(yC, xC), summarizeCuped(yT, xT));
 * r.test.standardError; // smaller than without the covariate
 */
export function cuped(control: CupedSummary, treatment: CupedSummary, confidenceLevel = 0.95): CupedResult {
  const n = control.n + treatment.n;
  const mx = (control.n * control.meanX + treatment.n * treatment.meanX) / n;
  const my = (control.n * control.meanY + treatment.n * treatment.meanY) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (const a of [control, treatment]) {
    sxy += (a.n - 1) * a.covariance + a.n * (a.meanX - mx) * (a.meanY - my);
    sxx += (a.n - 1) * a.varianceX + a.n * (a.meanX - mx) ** 2;
    syy += (a.n - 1) * a.varianceY + a.n * (a.meanY - my) ** 2;
  }
  const theta = sxx > 0 ? sxy / sxx : 0;
  const adjust = (a: CupedSummary): MeanSummary => ({
    n: a.n,
    mean: a.meanY - theta * (a.meanX - mx),
    variance: a.varianceY - 2 * theta * a.covariance + theta * theta * a.varianceX,
  });
  const c = adjust(control);
  const t = adjust(treatment);
  const pooledAdjusted = syy - 2 * theta * sxy + theta * theta * sxx;
  return {
    theta,
    control: c,
    treatment: t,
    test: welchTTest(c, t, confidenceLevel),
    varianceReduction: syy > 0 ? 1 - pooledAdjusted / syy : 0,
  };
}
