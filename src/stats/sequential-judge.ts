/**
 * Weir's sequential canary judge: anytime-valid tests that may be checked at every analysis interval
 * and fail a bad canary early without inflating false alarms.
 *
 * - errors: the canary's share of errors against its share of traffic, one-sided Dirichlet/Beta
 *   mixture e-process (Lindon & Malek 2022);
 * - errors per key (route, or error fingerprint from a fixed list): the same test on each key's
 *   errors, so a new error on one endpoint is not diluted by the whole service's traffic;
 * - latency: one-sided mSPRT on mean ln(latency) (Johari et al. 2022; Howard et al. 2021), a
 *   half-normal mixture over slowdowns beyond ln(1 + allowedLatencyIncrease); it fails exactly when
 *   the one-sided anytime-valid lower bound of the latency ratio clears 1 + allowedLatencyIncrease;
 * - sample ratio: the same multinomial test on request counts at `srmAlpha`; a mismatch makes the
 *   comparison invalid rather than failing the canary.
 *
 * alpha is split between the tests present (default weights: latency 0.2, errors 0.4, errors per key
 * 0.4, the last shared equally among `keyCount` keys). By the union bound the chance that an A/A
 * canary is ever failed, however often it is checked, is at most alpha.
 */
import type { MeanSummary } from './sequential-means.ts';
import { msprt } from './sequential-means.ts';
import { multinomialSequentialTest } from './sequential-multinomial.ts';

/** Cumulative data of the two arms since the canary step began. */
export interface SequentialCanaryInput {
  requests: { baseline: number; canary: number };
  errors: { baseline: number; canary: number };
  /** Summaries of ln(latency) per arm, cumulative; omit to skip the latency test. */
  logLatency?: { baseline: MeanSummary; canary: MeanSummary };
  /** Cumulative errors per key (route or error fingerprint); omit to skip the per-key tests. */
  errorsByKey?: readonly { key: string; baseline: number; canary: number }[];
}

/** Settings of the sequential judge. */
export interface SequentialCanaryConfig {
  /** Canary's share of the traffic the two arms receive (e.g. 0.5 for equal arms, 0.05 for 95/5). */
  canaryShare: number;
  /** Overall false-failure budget, split between the tests by `alphaWeights` (default 0.01). */
  alpha?: number;
  /** Relative shares of alpha (default latency 0.2, errors 0.4, errorsByKey 0.4); absent tests drop out (errorsByKey stays in once keyCount is declared). */
  alphaWeights?: { latency?: number; errors?: number; errorsByKey?: number };
  /**
   * Number of keys the per-key budget is divided among (default: the keys in the input). Fix it in
   * advance — e.g. the routes declared in weir.yaml — so that keys appearing later stay covered.
   */
  keyCount?: number;
  /** Dirichlet/Beta prior concentration of the error test (default 10). */
  concentration?: number;
  /**
   * Mixing standard deviation of the latency mSPRT on ln(latency) (default 0.2: the half-normal
   * mixture spends its power on slowdowns of up to about 20–40 %, the regressions worth stopping a
   * canary for quickly; smaller ones are still caught, later).
   */
  latencyMixingSd?: number;
  /** Fail on latency only if the ratio is surely above 1 + this (default 0). */
  allowedLatencyIncrease?: number;
  /** Level of the sample-ratio-mismatch check (default 0.001). */
  srmAlpha?: number;
}

/** Running state between checks: the always-valid p-values so far. */
export interface SequentialCanaryState {
  errorsPValue: number;
  /**
   * Running p-value of "the canary is not slower than allowed". Named for the one-sided test: a state
   * saved by an older two-sided version (`latencyPValue`) is not reused, as its evidence could have been
   * for a speed-up.
   */
  latencyIncreasePValue: number;
  srmPValue: number;
  /** Running p-value per error key. */
  keyPValues: Readonly<Record<string, number>>;
}

/**
 * Initial state for a new canary step: no evidence yet.
 * @example
 * judgeSequentialCanary(input, { canaryShare: 0.05 }, INITIAL_SEQUENTIAL_STATE);
 */
export const INITIAL_SEQUENTIAL_STATE: SequentialCanaryState = Object.freeze({
  errorsPValue: 1,
  latencyIncreasePValue: 1,
  srmPValue: 1,
  keyPValues: Object.freeze({}),
});

/** Decision of one check: fail now, keep going, or the comparison is invalid (sample ratio mismatch). */
export type SequentialDecision = 'fail' | 'continue' | 'invalid';

/** Result of {@link judgeSequentialCanary}. */
export interface SequentialCanaryJudgement {
  decision: SequentialDecision;
  reasons: string[];
  errors: { pValue: number; canaryShareOfErrors: number; expectedShare: number; rateRatio: number; failed: boolean };
  latency: {
    pValue: number;
    /** Estimated canary / baseline ratio of geometric-mean latency. */
    ratio: number;
    /** Anytime-valid interval for that ratio. */
    ratioLower: number;
    ratioUpper: number;
    failed: boolean;
  } | null;
  /** Per-key error tests, in input order. */
  errorKeys: { key: string; pValue: number; alpha: number; canaryShareOfErrors: number; failed: boolean }[];
  srm: { pValue: number; mismatch: boolean };
  /** Pass to the next check. */
  state: SequentialCanaryState;
}

/**
 * One check of Weir's sequential canary judge on cumulative data. Call it at every analysis interval
 * with the state it returned last time; 'fail' is final.
 * @example
 * let state = INITIAL_SEQUENTIAL_STATE;
 * const r = judgeSequentialCanary(
 *   { requests: { baseline: 4000, canary: 4000 }, errors: { baseline: 40, canary: 95 } },
 *   { canaryShare: 0.5 },
 *   state,
 * );
 * state = r.state;
 * r.decision; // 'fail'
 */
export function judgeSequentialCanary(
  input: SequentialCanaryInput,
  config: SequentialCanaryConfig,
  previous: SequentialCanaryState = INITIAL_SEQUENTIAL_STATE,
): SequentialCanaryJudgement {
  if (!(config.canaryShare > 0 && config.canaryShare < 1)) {
    return {
      decision: 'invalid',
      reasons: [`canaryShare must be strictly between 0 and 1, got ${config.canaryShare}`],
      errors: { pValue: 1, canaryShareOfErrors: Number.NaN, expectedShare: config.canaryShare, rateRatio: Number.NaN, failed: false },
      latency: null,
      errorKeys: [],
      srm: { pValue: 1, mismatch: false },
      state: previous,
    };
  }
  const alpha = config.alpha ?? 0.01;
  const keys = input.errorsByKey ?? [];
  const w = config.alphaWeights ?? {};
  const wLatency = input.logLatency ? (w.latency ?? 0.2) : 0;
  const wErrors = w.errors ?? 0.4;
  // With keyCount declared, the per-key share is reserved from the first check on, even before any
  // key has an error: otherwise the other tests would spend it early and the keys again later, and the
  // union bound over the whole canary would exceed alpha.
  const wKeys = keys.length > 0 || config.keyCount !== undefined ? (w.errorsByKey ?? 0.4) : 0;
  const wSum = wLatency + wErrors + wKeys;
  const latencyAlpha = (alpha * wLatency) / wSum;
  const errorsAlpha = (alpha * wErrors) / wSum;
  const keyAlpha = keys.length > 0 ? (alpha * wKeys) / wSum / Math.max(config.keyCount ?? keys.length, keys.length) : 0;
  const concentration = config.concentration ?? 10;
  const shares = [1 - config.canaryShare, config.canaryShare];
  const reasons: string[] = [];

  const srm = multinomialSequentialTest(
    [input.requests.baseline, input.requests.canary],
    shares,
    { alpha: config.srmAlpha ?? 0.001, concentration },
    { pValue: previous.srmPValue },
  );

  const errorTest = multinomialSequentialTest(
    [input.errors.baseline, input.errors.canary],
    shares,
    { alpha: errorsAlpha, concentration, alternative: 'greater', arm: 1 },
    { pValue: previous.errorsPValue },
  );
  const baselineRate = input.requests.baseline > 0 ? input.errors.baseline / input.requests.baseline : Number.NaN;
  const canaryRate = input.requests.canary > 0 ? input.errors.canary / input.requests.canary : Number.NaN;
  const errors = {
    pValue: errorTest.pValue,
    canaryShareOfErrors: errorTest.observedShares[1],
    expectedShare: config.canaryShare,
    rateRatio: canaryRate / baselineRate,
    failed: errorTest.reject,
  };
  if (errors.failed) {
    reasons.push(
      `canary has ${(100 * errors.canaryShareOfErrors).toFixed(1)}% of errors on ${(100 * config.canaryShare).toFixed(1)}% of traffic (always-valid p = ${errors.pValue.toPrecision(3)})`,
    );
  }

  const keyPValues: Record<string, number> = {};
  const errorKeys = keys.map((k) => {
    const t = multinomialSequentialTest(
      [k.baseline, k.canary],
      shares,
      { alpha: keyAlpha, concentration, alternative: 'greater', arm: 1 },
      { pValue: previous.keyPValues[k.key] ?? 1 },
    );
    keyPValues[k.key] = t.pValue;
    if (t.reject) {
      reasons.push(
        `${k.key}: canary has ${k.canary} of ${k.baseline + k.canary} errors on ${(100 * config.canaryShare).toFixed(1)}% of traffic (always-valid p = ${t.pValue.toPrecision(3)})`,
      );
    }
    return { key: k.key, pValue: t.pValue, alpha: keyAlpha, canaryShareOfErrors: t.observedShares[1], failed: t.reject };
  });

  let latency: SequentialCanaryJudgement['latency'] = null;
  let latencyIncreasePValue = previous.latencyIncreasePValue ?? 1;
  if (input.logLatency) {
    const threshold = Math.log1p(config.allowedLatencyIncrease ?? 0);
    const m = msprt(
      input.logLatency.baseline,
      input.logLatency.canary,
      { alpha: latencyAlpha, mixingSd: config.latencyMixingSd ?? 0.2, alternative: 'greater', nullDifference: threshold },
      { pValue: latencyIncreasePValue },
    );
    latencyIncreasePValue = m.pValue;
    latency = {
      pValue: m.pValue,
      ratio: Math.exp(m.difference),
      ratioLower: Math.exp(m.lower),
      ratioUpper: Math.exp(m.upper),
      failed: m.reject,
    };
    if (m.reject) {
      reasons.push(
        `canary latency is ${latency.ratio.toFixed(3)}× baseline (anytime-valid lower bound ${latency.ratioLower.toFixed(3)}${threshold > 0 ? `, allowed ${(1 + (config.allowedLatencyIncrease ?? 0)).toFixed(2)}×` : ''})`,
      );
    }
  }

  const mismatch = srm.reject;
  let decision: SequentialDecision = 'continue';
  if (mismatch) {
    decision = 'invalid';
    reasons.unshift(
      `sample ratio mismatch: canary has ${(100 * srm.observedShares[1]).toFixed(2)}% of requests, expected ${(100 * config.canaryShare).toFixed(2)}% (p = ${srm.pValue.toPrecision(3)})`,
    );
  } else if (errors.failed || latency?.failed || errorKeys.some((k) => k.failed)) {
    decision = 'fail';
  }
  return {
    decision,
    reasons,
    errors,
    latency,
    errorKeys,
    srm: { pValue: srm.pValue, mismatch },
    state: { errorsPValue: errorTest.pValue, latencyIncreasePValue, srmPValue: srm.pValue, keyPValues },
  };
}
