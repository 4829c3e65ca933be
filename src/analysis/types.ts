/** The phase of one analysis run, as in Argo Rollouts: a verdict is data, never an exception. */
export type AnalysisPhase = 'Successful' | 'Failed' | 'Inconclusive' | 'Error';

/** One metric's measurement and check in a run. */
export interface MetricOutcome {
  name: string;
  phase: AnalysisPhase;
  /** The canary's value (and the baseline's when compared). */
  canary?: number | null;
  baseline?: number | null;
  thresholdRange?: { min?: number; max?: number };
  /** Kayenta-style comparison: classification, p-value, interval, effect size. */
  comparison?: {
    classification: string;
    pValue: number;
    interval: { lower: number; upper: number; confidenceLevel: number };
    effectSize: number;
    ratio: number;
  };
  reason?: string;
}

/** One analysis run: every number a person needs to see why the canary passed or failed. */
export interface AnalysisRun {
  id: string;
  rolloutId: string;
  service: string;
  step: number;
  baseline: string;
  canary: string;
  traffic: 'live' | 'test';
  window: { from: number; to: number };
  phase: AnalysisPhase;
  /** One line: why. */
  summary: string;
  reasons: string[];
  samples: { baseline: number; canary: number };
  metrics: MetricOutcome[];
  judge?: { score: number; verdict: string; reason: string | null };
  sequential?: {
    decision: string;
    errors: { pValue: number; rateRatio: number; canaryShareOfErrors: number; expectedShare: number };
    latency: { pValue: number; ratio: number; ratioLower: number; ratioUpper: number } | null;
    errorKeys: { key: string; pValue: number; canaryShareOfErrors: number; failed: boolean }[];
    srm: { pValue: number; mismatch: boolean };
  };
  newErrors?: { fingerprint: string; title: string; count: number; rate: number }[];
}
