/**
 * Anytime-valid test for count data across arms: Lindon & Malek, "Anytime-Valid Inference for
 * Multinomial Count Data", NeurIPS 2022.
 *
 * Each event (an error, or a request for a sample-ratio check) falls in arm i with probability θ_i.
 * Under the null θ = θ₀ (the traffic shares). The Dirichlet-multinomial Bayes factor
 *
 *   BF_n = [Γ(A) / Γ(A + n)] · Π Γ(α_i + x_i) / Γ(α_i)  /  Π θ₀_i^{x_i},   α = c·θ₀, A = c,
 *
 * is a nonnegative martingale under the null with BF_0 = 1, so by Ville's inequality
 * P(∃n: BF_n ≥ 1/α) ≤ α, and p_n = min(1, min_{m ≤ n} 1/BF_m) is an always-valid p-value: it may be
 * checked after every event, every interval, or whenever, without inflating false alarms. Poisson
 * counts with a shared, time-varying rate reduce to this test by conditioning on the total count.
 *
 * The one-sided variant (alternative 'greater' for one arm) collapses the other arms and mixes a
 * Beta(cθ₀, c(1−θ₀)) prior truncated to θ > θ₀, which gains power when only an excess matters
 * (a canary's share of errors).
 */
import { incompleteBetaComplement, logBeta, logGamma } from './special.ts';

/** Options of {@link multinomialSequentialTest}. */
export interface MultinomialTestOptions {
  /** Significance level (default 0.01). */
  alpha?: number;
  /**
   * Prior concentration c of the Dirichlet mixture, α_i = c·θ₀_i (default 10). Smaller c suits large
   * effects, larger c small ones; power is flat over a wide range. Fixed before data is seen.
   */
  concentration?: number;
  /** 'two-sided' (any departure from θ₀) or 'greater' (arm `arm` has more than its share). */
  alternative?: 'two-sided' | 'greater';
  /** The arm tested by the one-sided alternative (default: the last arm). */
  arm?: number;
}

/** State carried from one check to the next: the running always-valid p-value. */
export interface SequentialState {
  pValue: number;
}

/** Result of one check of the multinomial sequential test. */
export interface MultinomialTestResult extends SequentialState {
  /** ln of the Bayes factor (the e-value) at these counts. */
  logEValue: number;
  /** Observed shares x_i / n (NaN when n = 0). */
  observedShares: number[];
  expectedShares: number[];
  total: number;
  /** pValue ≤ alpha: the null is rejected, now and for good. */
  reject: boolean;
}

function normalizeShares(shares: readonly number[]): number[] {
  const s = shares.reduce((a, b) => a + b, 0);
  return shares.map((v) => v / s);
}

/**
 * ln of the Dirichlet-multinomial e-value for cumulative `counts` against `expectedShares`.
 * @example
 * multinomialLogEValue([50, 50], [0.5, 0.5]); // negative: the data agree with the null
 */
export function multinomialLogEValue(
  counts: readonly number[],
  expectedShares: readonly number[],
  concentration = 10,
): number {
  const theta = normalizeShares(expectedShares);
  const n = counts.reduce((a, b) => a + b, 0);
  let log = logGamma(concentration) - logGamma(concentration + n);
  for (let i = 0; i < counts.length; i++) {
    if (counts[i] === 0) continue;
    const a = concentration * theta[i];
    log += logGamma(a + counts[i]) - logGamma(a) - counts[i] * Math.log(theta[i]);
  }
  return log;
}

/**
 * ln of the one-sided e-value that arm share θ exceeds θ₀, from `x` events in the arm out of `n`:
 * a Beta(cθ₀, c(1−θ₀)) mixture truncated to θ > θ₀.
 * @example
 * binomialGreaterLogEValue(70, 100, 0.5); // large: 70 of 100 against an expected half
 */
export function binomialGreaterLogEValue(x: number, n: number, theta0: number, concentration = 10): number {
  const a = concentration * theta0;
  const b = concentration * (1 - theta0);
  const posteriorTail = incompleteBetaComplement(theta0, a + x, b + n - x);
  const priorTail = incompleteBetaComplement(theta0, a, b);
  if (posteriorTail <= 0) return Number.NEGATIVE_INFINITY;
  return (
    logBeta(a + x, b + n - x) -
    logBeta(a, b) +
    Math.log(posteriorTail) -
    Math.log(priorTail) -
    x * Math.log(theta0) -
    (n - x) * Math.log1p(-theta0)
  );
}

/**
 * One check of the anytime-valid multinomial test (Lindon & Malek 2022). Pass the cumulative counts per
 * arm, the expected shares under the null (the traffic allocation, e.g. [0.95, 0.05]) and the state
 * returned by the previous check; the p-value only ever decreases, and once `reject` is true it stays.
 * @example
 * // Errors per arm; traffic is split 95/5 between baseline and canary.
 * let state = { pValue: 1 };
 * const r = multinomialSequentialTest([40, 12], [0.95, 0.05], { alternative: 'greater' }, state);
 * state = r; // carry to the next interval
 * r.reject; // true: the canary has far more than its 5 % of the errors
 */
export function multinomialSequentialTest(
  counts: readonly number[],
  expectedShares: readonly number[],
  options: MultinomialTestOptions = {},
  previous: SequentialState = { pValue: 1 },
): MultinomialTestResult {
  const alpha = options.alpha ?? 0.01;
  const c = options.concentration ?? 10;
  const theta = normalizeShares(expectedShares);
  const total = counts.reduce((a, b) => a + b, 0);
  let logEValue: number;
  if (options.alternative === 'greater') {
    const arm = options.arm ?? counts.length - 1;
    logEValue = binomialGreaterLogEValue(counts[arm], total, theta[arm], c);
  } else {
    logEValue = multinomialLogEValue(counts, theta, c);
  }
  const pNow = Math.min(1, Math.exp(-logEValue));
  const pValue = Math.min(previous.pValue, Number.isNaN(pNow) ? 1 : pNow);
  return {
    pValue,
    logEValue,
    observedShares: counts.map((x) => (total > 0 ? x / total : Number.NaN)),
    expectedShares: theta,
    total,
    reject: pValue <= alpha,
  };
}
