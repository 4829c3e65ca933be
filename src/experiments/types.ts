/**
 * The data an experiment's analysis reads (per-arm summaries computed in the event store) and the
 * results it returns. Results are data: a metric without data carries a reason, never an exception.
 */
import type { RatioSummary } from '../stats/index.ts';

/** One arm of a conversion or mean metric: per-unit values, and optionally their pre-period covariate. */
export interface ArmSummary {
  n: number;
  mean: number;
  /** Sample variance (ddof = 1) of the per-unit values. */
  variance: number;
  /** CUPED: the pre-period value per unit (missing ones imputed with the mean). */
  covariate?: { mean: number; variance: number; covariance: number };
}

/** What the store gave for one metric: per-arm summaries, or why there are none. */
export type MetricData =
  | { kind: 'conversion' | 'mean'; arms: Record<string, ArmSummary> }
  | { kind: 'ratio'; arms: Record<string, RatioSummary> }
  | { kind: 'error'; reason: string };

/** An estimate with a two-sided interval. */
export interface Interval {
  estimate: number;
  lower: number;
  upper: number;
}

/** treatment arm vs control on one metric. */
export interface Comparison {
  arm: string;
  /** Absolute difference treatment − control, fixed-horizon interval. */
  difference: Interval;
  /** Relative lift treatment/control − 1, fixed-horizon interval (delta method). */
  lift: Interval;
  /** Fixed-horizon two-sided p-value (Welch t, pooled z, or delta-method z for ratios). */
  pValue: number;
  /** Anytime-valid confidence sequences and p-value (valid under peeking). */
  sequential: { difference: Interval; lift: Interval; pValue: number };
  /** The p-value the verdict rests on (sequential or fixed, per `test`), adjusted across the family. */
  adjustedPValue: number;
  /** CUPED's θ and the share of variance it removed, when a pre-period covariate was used. */
  cuped?: { theta: number; varianceReduction: number };
  significant: boolean;
  /** better / worse relative to the metric's direction; inconclusive when not significant. */
  outcome: 'better' | 'worse' | 'inconclusive';
  /**
   * More units per arm for 80 % power to find the metric's mde at the observed variance (0: enough).
   * Reported whether or not the comparison is significant; absent when it cannot be computed.
   */
  moreUnitsPerArm?: number;
  /** One sentence: what a person should read. */
  verdict: string;
}

export interface MetricResult {
  name: string;
  type: 'conversion' | 'mean' | 'ratio';
  guardrail: boolean;
  direction: 'increase' | 'decrease';
  /** Per arm: units and the metric's value (conversion rate, mean per unit, or ratio). */
  arms: { arm: string; units: number; value: number }[];
  comparisons: Comparison[];
  /** Set when the metric could not be computed (unknown field, no units yet). */
  error?: string;
}

export type ExperimentStatus = 'not-started' | 'running' | 'ended' | 'stopped-by-guardrail';

export interface SrmResult {
  status: 'ok' | 'mismatch' | 'no-data';
  pValue?: number;
  chiSquare?: number;
  observed: Record<string, number>;
  expected: Record<string, number>;
}

export interface ExperimentResults {
  id: string;
  flag: string;
  status: ExperimentStatus;
  /** Why the status is what it is. */
  reason: string;
  /** The analysed window, ISO 8601. */
  window: { start: string | null; end: string };
  test: 'sequential' | 'fixed';
  correction: 'holm' | 'bh';
  alpha: number;
  arms: { arm: string; units: number; expectedShare: number }[];
  /** Units exposed to more than one arm: excluded from everything. */
  excludedUnits: number;
  srm: SrmResult;
  metrics: MetricResult[];
  warnings: string[];
}
