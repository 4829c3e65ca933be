/**
 * Types of the Kayenta-compatible canary judge (Netflix ACA judge semantics). See docs/statistics.md.
 */
import type { SampleSummary } from './descriptive.ts';

/** Per-metric classification labels, as Kayenta names them. */
export type MetricClassification = 'Pass' | 'High' | 'Low' | 'NodataFailMetric' | 'Nodata' | 'Error';

/** Which change of a metric is bad: an increase, a decrease, or either. */
export type MetricDirection = 'increase' | 'decrease' | 'either';

/** What to do with NaN values: drop them, or count them as zero. */
export type NaNStrategy = 'remove' | 'replace';

/** Whether to drop outliers by the IQR rule before the comparison. */
export type OutlierStrategy = 'remove' | 'keep';

/** Effect-size measure: the ratio of means (experiment / control), or the common-language effect size. */
export type EffectSizeMeasure = 'meanRatio' | 'cles';

/** How one metric is judged; every field is optional and defaults as in Kayenta. */
export interface MetricJudgeConfig {
  /** Bad direction (default 'either'). */
  direction?: MetricDirection;
  /** NaN handling (default 'remove'). */
  nanStrategy?: NaNStrategy;
  /** Outlier handling (default 'keep'); removal uses the IQR rule with `outlierFactor`. */
  outlierStrategy?: OutlierStrategy;
  /** IQR multiplier of the outlier fences (default 3.0). */
  outlierFactor?: number;
  /** A critical metric that is not Pass fails the whole canary with score 0 (default false). */
  critical?: boolean;
  /** Missing data counts as a failed metric rather than being ignored (default false). */
  mustHaveData?: boolean;
  /** Muted metrics are reported but do not enter the score (default false). */
  muted?: boolean;
  /** Effect-size measure for the allowed/critical bounds (default 'meanRatio'). */
  effectSizeMeasure?: EffectSizeMeasure;
  /** High only if the effect size is ≥ this (default 1.0 for meanRatio, 0.5 for cles). */
  allowedIncrease?: number;
  /** Low only if the effect size is ≤ this (default 1.0 for meanRatio, 0.5 for cles). */
  allowedDecrease?: number;
  /** A critical High is critical only if the effect size is ≥ this (default as allowedIncrease). */
  criticalIncrease?: number;
  /** A critical Low is critical only if the effect size is ≤ this (default as allowedDecrease). */
  criticalDecrease?: number;
  /** Groups the metric belongs to (default ['default']). */
  groups?: readonly string[];
}

/** One metric's data: the control (baseline) and experiment (canary) series, plus its config. */
export interface MetricInput extends MetricJudgeConfig {
  name: string;
  control: readonly number[];
  experiment: readonly number[];
}

/** Judge-wide configuration. */
export interface CanaryJudgeConfig {
  /** Summary score at or above which the canary passes (default 95). */
  passThreshold?: number;
  /** Summary score at or above which the canary is marginal (default 75). */
  marginalThreshold?: number;
  /** Group weights in percent; groups without one share the rest equally. */
  groupWeights?: Readonly<Record<string, number>>;
  /** Confidence level of the shift interval (default 0.98, as Kayenta). */
  confidenceLevel?: number;
  /** Tolerance: the interval must clear ±tolerance·|estimate| (default 0.25, as Kayenta). */
  tolerance?: number;
}

/** The judgement of one metric. */
export interface MetricResult {
  name: string;
  classification: MetricClassification;
  /** Why, in words; null for a plain Pass. */
  reason: string | null;
  /** Two-sided Mann–Whitney p-value (asymptotic); NaN when not computed. */
  pValue: number;
  /** Confidence interval of the shift experiment − control; NaNs when not computed. */
  interval: { lower: number; upper: number; confidenceLevel: number };
  /** Shift estimate experiment − control (R's / Kayenta's Hodges–Lehmann-type estimate). */
  hodgesLehmann: number;
  /** Mean ratio experiment / control (Kayenta's "deviation"); NaN if a mean is zero. */
  ratio: number;
  /** Effect size under the configured measure; NaN if it cannot be computed. */
  effectSize: number;
  controlStats: SampleSummary;
  experimentStats: SampleSummary;
  /** Whether this result fails the canary by itself. */
  critical: boolean;
  muted: boolean;
  groups: readonly string[];
}

/** Score of one group. */
export interface GroupScore {
  name: string;
  /** 0–100: share of Pass among Pass/High/Low/NodataFailMetric metrics. */
  score: number;
  /** No metric of the group had a scorable classification (counts as 100 in the summary). */
  noData: boolean;
  counts: Partial<Record<MetricClassification, number>>;
}

/** Canary verdict from the summary score. */
export type CanaryVerdict = 'Pass' | 'Marginal' | 'Fail';

/** Result of {@link judgeCanary}. */
export interface CanaryJudgement {
  metrics: MetricResult[];
  summary: {
    score: number;
    verdict: CanaryVerdict;
    /** Why the score was forced to 0 (a critical failure, too many Nodata), otherwise null. */
    reason: string | null;
    groups: GroupScore[];
  };
}
