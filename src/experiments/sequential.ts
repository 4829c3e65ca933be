/**
 * The always-valid side of an experiment comparison, and the power hint. Pure.
 *
 * The confidence sequence is the one of `asymptoticConfidenceSequence` in src/stats (Waudby-Smith et
 * al. 2023, GrowthBook's form): for an estimate Δ̂ with variance v after N units in total, mixing
 * variance τ² = N·v·ρ² with ρ² = mixtureRhoSquared(α, n*), the interval Δ̂ ± h with
 * h = √( v(v+τ²)/τ² · ln((v+τ²)/(vα²)) ). Its p-value is 1/Λ with the mixture likelihood ratio
 * Λ = √(v/(v+τ²))·exp(τ²Δ̂²/(2v(v+τ²))): p < α exactly when the sequence excludes 0. It is computed
 * from the data at each look, without state, so it may rise again between looks; P(∃ look: p ≤ α) ≤ α
 * still holds (Ville's inequality), which is what makes peeking safe.
 */
import { mixtureRhoSquared, normalMixtureHalfWidth, normalPpf } from '../stats/index.ts';

/** An anytime-valid interval and p-value for one estimate. */
export interface AlwaysValid {
  lower: number;
  upper: number;
  pValue: number;
}

/**
 * Confidence sequence and always-valid p-value for an estimate with variance `v` after `nTotal` units.
 * @example
 * // the same bounds as asymptoticConfidenceSequence({ n: 10000, mean: 10, variance: 4 }, { n: 10000, mean: 10.2, variance: 4 })
 * alwaysValid(0.2, 4 / 10000 + 4 / 10000, 20000, 0.05, 5000); // { lower ≈ 0.112, upper ≈ 0.288, pValue ≈ 1.7e-10 }
 */
export function alwaysValid(estimate: number, v: number, nTotal: number, alpha: number, tuning: number): AlwaysValid {
  if (!(v > 0) || !Number.isFinite(v) || !Number.isFinite(estimate)) {
    return { lower: Number.NEGATIVE_INFINITY, upper: Number.POSITIVE_INFINITY, pValue: 1 };
  }
  const tau2 = nTotal * v * mixtureRhoSquared(alpha, tuning);
  const half = normalMixtureHalfWidth(v, tau2, alpha);
  const logLambda = 0.5 * Math.log(v / (v + tau2)) + (tau2 * estimate * estimate) / (2 * v * (v + tau2));
  return { lower: estimate - half, upper: estimate + half, pValue: Math.min(1, Math.exp(-logLambda)) };
}

/** What the power hint needs: per-unit variances of both arms and the smallest effect worth finding. */
export interface PowerInput {
  /** Per-unit variance in control and treatment (e.g. s², p(1 − p), CUPED-adjusted s²). */
  varianceControl: number;
  varianceTreatment: number;
  /** Absolute effect to detect (mde × |control mean|). */
  effect: number;
  /** Level per comparison (α divided by the number of comparisons, see unitsPerArmFor). */
  alpha: number;
  /** Default 0.8. */
  power?: number;
  test: 'sequential' | 'fixed';
  /** n* of the confidence sequence (sequential only). */
  tuning?: number;
}

/**
 * Units per arm (equal arms) for the test to find `effect` with probability ≥ `power`.
 *
 * - fixed: the two-sided z-test formula n = (z₁₋α/₂ + z_power)²·(σ_c² + σ_t²)/δ².
 * - sequential: the smallest n at which δ ≥ h(n) + z_power·se(n), h the confidence sequence's
 *   half-width: then the sequence excludes 0 at that look with probability ≥ power (earlier looks
 *   only add to it, so this is a safe upper bound on what is needed).
 * @example
 * unitsPerArmFor({ varianceControl: 0.25, varianceTreatment: 0.25, effect: 0.05, alpha: 0.05, test: 'fixed' }); // 1570
 */
export function unitsPerArmFor(p: PowerInput): number {
  const s2 = p.varianceControl + p.varianceTreatment;
  const zPower = normalPpf(p.power ?? 0.8);
  if (!(s2 > 0) || !(p.effect > 0)) return Number.NaN;
  if (p.test === 'fixed') {
    const z = normalPpf(1 - p.alpha / 2) + zPower;
    return Math.ceil((z * z * s2) / (p.effect * p.effect));
  }
  const tuning = p.tuning ?? 5000;
  const enough = (n: number) => {
    const v = s2 / n;
    const tau2 = 2 * n * v * mixtureRhoSquared(p.alpha, tuning);
    return normalMixtureHalfWidth(v, tau2, p.alpha) + zPower * Math.sqrt(v) <= p.effect;
  };
  let hi = 2;
  while (!enough(hi)) {
    hi *= 2;
    if (hi > 1e15) return Number.POSITIVE_INFINITY;
  }
  let lo = hi / 2;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (enough(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}
