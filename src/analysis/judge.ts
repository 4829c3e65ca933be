import { judgeCanary, judgeSequentialCanary } from '../stats/index.ts';
import type { MetricInput, SequentialCanaryState } from '../stats/index.ts';
import type { AnalysisMetricConfig } from '../config/schema.ts';
import type { VersionData } from './events-source.ts';
import type { AnalysisPhase, AnalysisRun, MetricOutcome } from './types.ts';

/** The analysis settings a run is judged with (the rollout spec's `analysis`). */
export interface JudgeSettings {
  minSamples: number;
  metrics: AnalysisMetricConfig[];
  judge: { compare: 'baseline' | 'none'; pass: number; marginal: number };
  /**
   * The anytime-valid sequential test, or false. `watchMs`: between analysis runs the controller
   * checks it this often on committed events (default 1000; 0 turns the watch off).
   */
  sequential: false | { alpha: number; allowedLatencyIncrease: number; watchMs?: number };
  newErrors: 'fail' | 'ignore';
}

/** Everything measured for one run; the judge turns it into a verdict without I/O. */
export interface JudgeInput {
  traffic: 'live' | 'test';
  /** The canary's share of the two versions' traffic (its weight / 100). */
  canaryShare: number;
  /**
   * Run the Kayenta-style comparison (default true). The controller asks for it only on the run that
   * would complete a step: re-running a fixed-horizon test on growing data inflates false alarms
   * (docs/statistics.md); the sequential test runs every time.
   */
  compare?: boolean;
  canary: VersionData;
  /** Absent for test traffic (a blue/green preview): only the canary receives it. */
  baseline?: VersionData;
  /** Values of metrics from other sources (query, prometheus, webhook), by metric name; an Error has `error`. */
  external: Record<string, { canary: number | null; baseline?: number | null; error?: string }>;
  newErrors: { fingerprint: string; title: string; count: number; rate: number }[];
  sequential: SequentialCanaryState;
}

export type Verdict = Pick<AnalysisRun, 'phase' | 'summary' | 'reasons' | 'metrics' | 'judge' | 'sequential' | 'samples' | 'newErrors'> & { sequentialState: SequentialCanaryState };

const fmt = (v: number | null | undefined): string => (v === null || v === undefined || Number.isNaN(v) ? 'n/a' : Math.abs(v) >= 100 ? v.toFixed(0) : Number(v.toPrecision(3)).toString());

/** The value of a built-in metric for one version. */
export function builtinValue(builtin: string, d: VersionData | undefined): number | null {
  if (!d) return null;
  if (builtin === 'request-success-rate') return d.successRate;
  if (builtin === 'error-count') return d.errors;
  const m = /^request-duration-(p\d+)$/.exec(builtin);
  return m ? d.percentiles[m[1]] ?? null : null;
}

function threshold(value: number | null, range: { min?: number; max?: number } | undefined): { phase: AnalysisPhase; reason?: string } {
  if (!range) return { phase: 'Successful' };
  if (value === null) return { phase: 'Inconclusive', reason: 'no data' };
  if (range.min !== undefined && value < range.min) return { phase: 'Failed', reason: `${fmt(value)} is below the minimum ${range.min}` };
  if (range.max !== undefined && value > range.max) return { phase: 'Failed', reason: `${fmt(value)} is above the maximum ${range.max}` };
  return { phase: 'Successful' };
}

/**
 * Judges one analysis run: sample sizes, every metric's threshold, canary-only errors, the
 * Kayenta-style comparison with the baseline (`judgeCanary`) and the sequential test
 * (`judgeSequentialCanary`, its state carried from run to run). Pure.
 *
 * Order of precedence: Failed (any failure, including the anytime-valid sequential test and a new
 * error, which are valid at any sample size) > Error > Inconclusive (too few samples, no data, a
 * Marginal score, a sample-ratio mismatch) > Successful. A canary without traffic is never Successful.
 *
 * @example
 *   const v = judgeRun({ traffic: 'live', canaryShare: 0.05, canary, baseline, external: {}, newErrors: [], sequential: INITIAL_SEQUENTIAL_STATE }, settings);
 */
export function judgeRun(input: JudgeInput, settings: JudgeSettings): Verdict {
  const fails: string[] = [];
  const inconclusive: string[] = [];
  const errors: string[] = [];
  const live = input.traffic === 'live';
  const { canary, baseline } = input;
  const samples = { baseline: baseline?.requests ?? 0, canary: canary.requests };
  const enough = canary.requests >= settings.minSamples && (!live || samples.baseline >= settings.minSamples) && canary.requests > 0;
  if (!enough) inconclusive.push(`too little ${input.traffic} traffic: ${samples.canary} canary${live ? ` and ${samples.baseline} baseline` : ''} requests, ${settings.minSamples} needed per version`);

  const metrics: MetricOutcome[] = [];
  const compareInputs: MetricInput[] = [];
  for (const m of settings.metrics) {
    const ext = input.external[m.name];
    const cv = m.builtin ? builtinValue(m.builtin, canary) : ext?.canary ?? null;
    const bv = m.builtin ? builtinValue(m.builtin, baseline) : ext?.baseline ?? null;
    if (ext?.error) {
      metrics.push({ name: m.name, phase: 'Error', reason: ext.error });
      errors.push(`${m.name}: ${ext.error}`);
      continue;
    }
    const t = threshold(cv, m.thresholdRange);
    const outcome: MetricOutcome = { name: m.name, phase: t.phase, canary: cv, baseline: live ? bv : undefined, thresholdRange: m.thresholdRange, reason: t.reason };
    metrics.push(outcome);
    // Prometheus and webhook values do not come from the sampled requests: their failures always count.
    if (t.phase === 'Failed' && (enough || m.prometheus || m.webhook)) fails.push(`${m.name} ${t.reason}`);
    else if (t.phase === 'Failed') inconclusive.push(`${m.name} ${t.reason} (too few samples to fail)`);
    else if (t.phase === 'Inconclusive') inconclusive.push(`${m.name}: no data`);
    if (live && baseline && m.builtin && input.compare !== false && settings.judge.compare === 'baseline' && m.compare !== false) {
      const isLatency = m.builtin.startsWith('request-duration');
      compareInputs.push({
        name: m.name,
        control: isLatency ? baseline.durations : baseline.errorRateSeries,
        experiment: isLatency ? canary.durations : canary.errorRateSeries,
        direction: 'increase',
        critical: m.critical ?? false,
      });
    }
  }

  let judge: Verdict['judge'];
  if (compareInputs.length && enough) {
    const j = judgeCanary(compareInputs, { passThreshold: settings.judge.pass, marginalThreshold: settings.judge.marginal });
    judge = { score: j.summary.score, verdict: j.summary.verdict, reason: j.summary.reason };
    for (const r of j.metrics) {
      const o = metrics.find((x) => x.name === r.name);
      if (o) o.comparison = { classification: r.classification, pValue: r.pValue, interval: r.interval, effectSize: r.effectSize, ratio: r.ratio };
      if (o && r.classification === 'High' && o.phase === 'Successful') o.reason = `higher than the baseline (ratio ${fmt(r.ratio)}, p=${fmt(r.pValue)})`;
    }
    const high = j.metrics.filter((r) => r.classification === 'High').map((r) => r.name).join(', ');
    if (j.summary.verdict === 'Fail') fails.push(`judge score ${j.summary.score} < ${settings.judge.marginal}${high ? ` (worse than the baseline: ${high})` : ''}${j.summary.reason ? `: ${j.summary.reason}` : ''}`);
    else if (j.summary.verdict === 'Marginal') inconclusive.push(`judge score ${j.summary.score} is marginal (${settings.judge.marginal}–${settings.judge.pass})`);
  }

  let sequential: Verdict['sequential'];
  let sequentialState = input.sequential;
  if (live && baseline && settings.sequential) {
    const s = sequentialJudgement(canary, baseline, input.canaryShare, settings.sequential, input.sequential);
    if (s) {
      sequentialState = s.state;
      sequential = s.outcome;
      if (s.decision === 'fail') fails.push(`sequential test: ${s.reasons.join('; ')}`);
      else if (s.decision === 'invalid') inconclusive.push(`sequential test invalid: ${s.reasons.join('; ')}`);
    }
  }

  if (input.newErrors.length && settings.newErrors === 'fail') {
    for (const e of input.newErrors) fails.push(`new error only in the canary: ${e.title} (${e.count}×)`);
  }

  const phase: AnalysisPhase = fails.length ? 'Failed' : errors.length ? 'Error' : inconclusive.length ? 'Inconclusive' : 'Successful';
  const reasons = [...fails, ...errors, ...inconclusive];
  const good = metrics.filter((m) => m.canary !== undefined).map((m) => `${m.name} ${fmt(m.canary)}${live && m.baseline !== undefined ? ` (baseline ${fmt(m.baseline)})` : ''}`).join(', ');
  const summary = phase === 'Successful'
    ? `${good}${judge ? `; score ${judge.score}` : ''}${sequential ? `; sequential p(errors)=${fmt(sequential.errors.pValue)}${sequential.latency ? `, latency ratio ${fmt(sequential.latency.ratio)} [${fmt(sequential.latency.ratioLower)}, ${fmt(sequential.latency.ratioUpper)}]` : ''}` : ''}`
    : reasons[0];
  return { phase, summary, reasons, metrics, judge, sequential, samples, newErrors: input.newErrors, sequentialState };
}

/** What the sequential test needs of a version: counts, ln-latency moments, errors per path. */
export type SequentialData = Pick<VersionData, 'requests' | 'errors' | 'logLatency' | 'errorsByPath'>;

/**
 * The sequential canary test (`judgeSequentialCanary`) on two versions' cumulative data since the
 * step began, with errors per URL path as keys. Shared by every analysis run and by the controller's
 * watch between runs. Null when it cannot run (no traffic, a share of 0 or 100 %).
 *
 * @example
 *   const s = sequentialJudgement(canary, baseline, 0.1, { alpha: 0.01, allowedLatencyIncrease: 0 }, INITIAL_SEQUENTIAL_STATE);
 *   if (s?.decision === 'fail') console.log(s.reasons);
 */
export function sequentialJudgement(
  canary: SequentialData,
  baseline: SequentialData,
  canaryShare: number,
  settings: { alpha: number; allowedLatencyIncrease: number },
  state: SequentialCanaryState,
): { decision: 'fail' | 'continue' | 'invalid'; reasons: string[]; state: SequentialCanaryState; outcome: NonNullable<Verdict['sequential']> } | null {
  if (!(canaryShare > 0 && canaryShare < 1) || canary.requests + baseline.requests === 0) return null;
  const keys = [...new Set([...Object.keys(canary.errorsByPath), ...Object.keys(baseline.errorsByPath)])];
  const s = judgeSequentialCanary({
    requests: { baseline: baseline.requests, canary: canary.requests },
    errors: { baseline: baseline.errors, canary: canary.errors },
    logLatency: canary.requests > 1 && baseline.requests > 1 ? { baseline: baseline.logLatency, canary: canary.logLatency } : undefined,
    errorsByKey: keys.length ? keys.map((k) => ({ key: k, baseline: baseline.errorsByPath[k] ?? 0, canary: canary.errorsByPath[k] ?? 0 })) : undefined,
  }, { canaryShare, alpha: settings.alpha, allowedLatencyIncrease: settings.allowedLatencyIncrease, keyCount: Math.max(keys.length, 10) }, state);
  return {
    decision: s.decision,
    reasons: s.reasons,
    state: s.state,
    outcome: {
      decision: s.decision,
      errors: { pValue: s.errors.pValue, rateRatio: s.errors.rateRatio, canaryShareOfErrors: s.errors.canaryShareOfErrors, expectedShare: s.errors.expectedShare },
      latency: s.latency && { pValue: s.latency.pValue, ratio: s.latency.ratio, ratioLower: s.latency.ratioLower, ratioUpper: s.latency.ratioUpper },
      errorKeys: s.errorKeys.map((k) => ({ key: k.key, pValue: k.pValue, canaryShareOfErrors: k.canaryShareOfErrors, failed: k.failed })),
      srm: s.srm,
    },
  };
}
