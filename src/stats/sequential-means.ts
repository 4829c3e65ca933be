/**
 * Anytime-valid inference for a difference in means, by the normal mixture.
 *
 * With S_n the sum of n independent increments of variance σ², the Gaussian mixture (over λ ~ N(0, ρ))
 * of the exponential supermartingales exp(λS − λ²V/2) is √(ρ/(V+ρ))·exp(S²/(2(V+ρ))) with V = nσ².
 * Ville's inequality turns it into the two-sided boundary |S_n| < √((V+ρ)·ln((V+ρ)/(ρα²))) that holds
 * for all n at once with probability ≥ 1 − α (Robbins 1970; Howard, Ramdas, McAuliffe & Sekhon 2021,
 * "Time-uniform, nonparametric, nonasymptotic confidence sequences", Ann. Statist.). On the estimate
 * Δ̂ with variance v = Var(Δ̂) and mixing variance τ² on the effect, this reads
 *
 *   |Δ̂ − Δ| ≤ √( v(v+τ²)/τ² · ln((v+τ²)/(v α²)) ),
 *
 * and the mixture likelihood ratio Λ = √(v/(v+τ²))·exp(τ²Δ̂²/(2v(v+τ²))) is Johari, Koomen, Pekelis
 * & Walsh's mSPRT ("Always valid inference", Oper. Res. 2022), whose running min of 1/Λ is an
 * always-valid p-value. With the variance estimated from the data the guarantee is asymptotic:
 * Waudby-Smith, Arbour, Sinha, Kennedy & Ramdas, "Time-uniform central limit theory and asymptotic
 * confidence sequences" (Ann. Statist. 2024, arXiv 2103.06476) — the form GrowthBook uses, with τ²
 * chosen so that the sequence is tightest at N = n* observations: τ² = s²ρ², ρ² = (−2 ln α +
 * ln(−2 ln α + 1)) / n*.
 */
import type { SequentialState } from './sequential-multinomial.ts';
import { normalCdf } from './distributions.ts';
import type { Moments } from './descriptive.ts';

/** A sample summarized by its size, mean and sample variance (ddof = 1). */
export interface MeanSummary {
  n: number;
  mean: number;
  variance: number;
}

/**
 * The {@link MeanSummary} of streaming {@link Moments} (variance with ddof = 1; 0 below two values).
 * @example
 * summaryOfMoments(momentsOf(latencies.map(Math.log))); // feed to msprt or judgeSequentialCanary
 */
export function summaryOfMoments(m: Moments): MeanSummary {
  return { n: m.n, mean: m.mean, variance: m.n > 1 ? m.m2 / (m.n - 1) : 0 };
}

/** A difference in means with an anytime-valid interval. */
export interface SequentialInterval {
  /** treatment.mean − control.mean */
  difference: number;
  lower: number;
  upper: number;
  /** Variance of the difference estimate, s_c²/n_c + s_t²/n_t. */
  estimateVariance: number;
}

/**
 * ρ² of the normal mixture that makes the confidence sequence tightest after `tuning` observations
 * (Waudby-Smith et al. 2023, as in GrowthBook's `sequentialTuningParameter`).
 * @example
 * mixtureRhoSquared(0.05, 5000); // ≈ 0.00144
 */
export function mixtureRhoSquared(alpha: number, tuning: number): number {
  const l = -2 * Math.log(alpha);
  return (l + Math.log(l + 1)) / tuning;
}

/**
 * Half-width of the two-sided normal-mixture confidence sequence for an estimate of variance `v`
 * with mixing variance `tau2`, at level `alpha`.
 * @example
 * normalMixtureHalfWidth(0.01, 0.04, 0.05); // wider than the fixed-horizon 1.96·0.1
 */
export function normalMixtureHalfWidth(v: number, tau2: number, alpha: number): number {
  return Math.sqrt(((v * (v + tau2)) / tau2) * Math.log((v + tau2) / (v * alpha * alpha)));
}

function differenceOf(control: MeanSummary, treatment: MeanSummary): { difference: number; v: number } {
  return {
    difference: treatment.mean - control.mean,
    v: control.variance / control.n + treatment.variance / treatment.n,
  };
}

/**
 * Asymptotic confidence sequence for the difference in means treatment − control (Waudby-Smith et al.
 * 2023), as GrowthBook computes it: valid at every look, uniformly over time, as samples grow.
 * `tuning` (default 5000, GrowthBook's default) is the total number of units N = n_c + n_t at which
 * the interval is tightest; smaller values suit short tests, larger values long ones.
 * @example
 * const cs = asymptoticConfidenceSequence(
 *   { n: 10000, mean: 10.0, variance: 4 },
 *   { n: 10000, mean: 10.2, variance: 4 },
 *   { alpha: 0.05 },
 * );
 * cs.lower > 0; // true: the increase is established whenever you look
 */
export function asymptoticConfidenceSequence(
  control: MeanSummary,
  treatment: MeanSummary,
  options: { alpha?: number; tuning?: number } = {},
): SequentialInterval {
  const alpha = options.alpha ?? 0.05;
  const tuning = options.tuning ?? 5000;
  const { difference, v } = differenceOf(control, treatment);
  const nTotal = control.n + treatment.n;
  if (!(v > 0) || control.n < 2 || treatment.n < 2) {
    return { difference, lower: Number.NEGATIVE_INFINITY, upper: Number.POSITIVE_INFINITY, estimateVariance: v };
  }
  // Per-unit variance s² = N·v, mixing variance on the effect τ² = s²ρ².
  const tau2 = nTotal * v * mixtureRhoSquared(alpha, tuning);
  const half = normalMixtureHalfWidth(v, tau2, alpha);
  return { difference, lower: difference - half, upper: difference + half, estimateVariance: v };
}

/** A relative lift with an anytime-valid interval. */
export interface SequentialLift {
  /** treatment.mean / control.mean − 1 */
  lift: number;
  lower: number;
  upper: number;
  /** Delta-method variance of the lift estimate. */
  estimateVariance: number;
}

/**
 * Asymptotic confidence sequence for the relative lift treatment/control − 1, the same boundary as
 * {@link asymptoticConfidenceSequence} applied to the delta-method variance
 * v = s_t²/(n_t μ_c²) + μ_t² s_c²/(n_c μ_c⁴).
 * @example
 * asymptoticLiftSequence({ n: 10000, mean: 10, variance: 4 }, { n: 10000, mean: 10.2, variance: 4 }).lower > 0; // true
 */
export function asymptoticLiftSequence(
  control: MeanSummary,
  treatment: MeanSummary,
  options: { alpha?: number; tuning?: number } = {},
): SequentialLift {
  const alpha = options.alpha ?? 0.05;
  const tuning = options.tuning ?? 5000;
  const mc = control.mean;
  const mt = treatment.mean;
  const lift = mt / mc - 1;
  const v = treatment.variance / (treatment.n * mc * mc) + (mt * mt * control.variance) / (control.n * mc ** 4);
  if (!(v > 0) || control.n < 2 || treatment.n < 2 || mc === 0) {
    return { lift, lower: Number.NEGATIVE_INFINITY, upper: Number.POSITIVE_INFINITY, estimateVariance: v };
  }
  const tau2 = (control.n + treatment.n) * v * mixtureRhoSquared(alpha, tuning);
  const half = normalMixtureHalfWidth(v, tau2, alpha);
  return { lift, lower: lift - half, upper: lift + half, estimateVariance: v };
}

/**
 * ln of the half-normal mixture likelihood ratio for an excess D = Δ̂ − δ₀ with estimate variance v and
 * mixing variance τ² over effects above δ₀:
 *
 *   Λ = ∫₀^∞ exp(θD/v − θ²/(2v)) · 2φ(θ/τ)/τ dθ = 2·√(v/(v+τ²))·exp(τ²D²/(2v(v+τ²)))·Φ(Dτ/√(v(v+τ²))).
 *
 * Each exp(θS − θ²V/2) with θ > 0 is a martingale at δ = δ₀ and a supermartingale below it, so the
 * mixture is an e-process for the composite null δ ≤ δ₀ and Ville's inequality applies as for the
 * two-sided mixture.
 */
function halfNormalMixtureLogRatio(excess: number, v: number, tau2: number): number {
  const logPhi = Math.log(normalCdf((excess * Math.sqrt(tau2)) / Math.sqrt(v * (v + tau2))));
  const value = Math.LN2 + 0.5 * Math.log(v / (v + tau2)) + (tau2 * excess * excess) / (2 * v * (v + tau2)) + logPhi;
  return Number.isNaN(value) ? Number.NEGATIVE_INFINITY : value;
}

/**
 * The one-sided anytime-valid lower bound: the largest δ₀ that the half-normal mixture test still
 * rejects at level alpha (the ratio is decreasing in δ₀, so bisection). It lies between
 * Δ̂ − twoSidedHalfWidth, where the one-sided ratio is at least the two-sided one, and Δ̂.
 */
function halfNormalMixtureLowerBound(difference: number, v: number, tau2: number, alpha: number, twoSidedHalfWidth: number): number {
  const target = -Math.log(alpha);
  let lo = difference - twoSidedHalfWidth;
  let hi = difference;
  if (!(halfNormalMixtureLogRatio(difference - lo, v, tau2) >= target)) return lo;
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    if (halfNormalMixtureLogRatio(difference - mid, v, tau2) >= target) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** Options of {@link msprt}. */
export interface MsprtOptions {
  /** Significance level (default 0.01). */
  alpha?: number;
  /**
   * Standard deviation τ of the normal mixture over the effect, in the units of the data (default 0.1:
   * on log latency, a slowdown of about 10 %). The mixture spends its power on effects of roughly that
   * size and costs little elsewhere; fix it before the test starts.
   */
  mixingSd?: number;
  /**
   * 'two-sided' (default): any difference from `nullDifference`. 'greater': only a difference above
   * `nullDifference` counts; the mixture is then a half-normal over effects above it, which doubles the
   * prior mass where it matters (a canary is failed for being slower, never for being faster).
   */
  alternative?: 'two-sided' | 'greater';
  /** The difference under the null (default 0); for 'greater' the null is "difference ≤ this". */
  nullDifference?: number;
}

/** One check of the mSPRT. */
export interface MsprtResult extends SequentialInterval, SequentialState {
  /** ln Λ, the log mixture likelihood ratio (an e-value) now. */
  logLikelihoodRatio: number;
  reject: boolean;
}

/**
 * One check of the mixture sequential probability ratio test (Johari et al. 2022) for the difference in
 * means treatment − control, with its confidence sequence (Howard et al. 2021 normal mixture). Feed the
 * cumulative summaries and the previous state; the p-value is always valid under continuous
 * monitoring. For latency, summarize ln(latency) so the difference is a log ratio. With
 * `alternative: 'greater'` the p-value tests "difference ≤ nullDifference" and `lower` is the one-sided
 * anytime-valid lower bound (above nullDifference exactly when the test rejects); `upper` stays the
 * two-sided bound.
 * @example
 * let state = { pValue: 1 };
 * const r = msprt({ n: 400, mean: 4.6, variance: 0.25 }, { n: 400, mean: 4.85, variance: 0.25 }, {}, state);
 * state = r;
 * r.reject; // true; Math.exp(r.lower) bounds the latency ratio from below
 */
export function msprt(
  control: MeanSummary,
  treatment: MeanSummary,
  options: MsprtOptions = {},
  previous: SequentialState = { pValue: 1 },
): MsprtResult {
  const alpha = options.alpha ?? 0.01;
  const tau = options.mixingSd ?? 0.1;
  const tau2 = tau * tau;
  const { difference, v } = differenceOf(control, treatment);
  if (!(v > 0) || control.n < 2 || treatment.n < 2) {
    return {
      difference,
      lower: Number.NEGATIVE_INFINITY,
      upper: Number.POSITIVE_INFINITY,
      estimateVariance: v,
      logLikelihoodRatio: 0,
      pValue: previous.pValue,
      reject: previous.pValue <= alpha,
    };
  }
  const delta0 = options.nullDifference ?? 0;
  const greater = options.alternative === 'greater';
  const logLikelihoodRatio = greater
    ? halfNormalMixtureLogRatio(difference - delta0, v, tau2)
    : 0.5 * Math.log(v / (v + tau2)) + (tau2 * (difference - delta0) ** 2) / (2 * v * (v + tau2));
  const pValue = Math.min(previous.pValue, Math.min(1, Math.exp(-logLikelihoodRatio)));
  const half = normalMixtureHalfWidth(v, tau2, alpha);
  return {
    difference,
    lower: greater ? halfNormalMixtureLowerBound(difference, v, tau2, alpha, half) : difference - half,
    upper: difference + half,
    estimateVariance: v,
    logLikelihoodRatio,
    pValue,
    reject: pValue <= alpha,
  };
}
