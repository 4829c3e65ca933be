/**
 * The Kayenta-compatible canary judge: classify every metric, score groups, weight them into a 0–100
 * summary score and classify it as Pass / Marginal / Fail. Pure and synchronous; returns data.
 */
import { classifyMetric } from './kayenta-classify.ts';
import type {
  CanaryJudgeConfig,
  CanaryJudgement,
  CanaryVerdict,
  GroupScore,
  MetricClassification,
  MetricInput,
  MetricResult,
} from './kayenta-types.ts';

/**
 * Share of Nodata metrics (percent) at which the canary fails outright, as in Kayenta.
 * @example
 * // 2 of 4 metrics without data → score 0
 * 2 / 4 * 100 >= NODATA_THRESHOLD_PERCENT; // true
 */
export const NODATA_THRESHOLD_PERCENT = 50;

/**
 * Group scores: per group, 100 × Pass / (Pass + High + Low + NodataFailMetric). Nodata and Error do
 * not count; a group where nothing counts is `noData`.
 * @example
 * scoreGroups(results).find((g) => g.name === 'latency')?.score;
 */
export function scoreGroups(results: readonly MetricResult[]): GroupScore[] {
  const byGroup = new Map<string, MetricClassification[]>();
  for (const r of results) {
    for (const g of r.groups) {
      const list = byGroup.get(g) ?? [];
      list.push(r.classification);
      byGroup.set(g, list);
    }
  }
  return [...byGroup.entries()].map(([name, labels]) => {
    const counts: Partial<Record<MetricClassification, number>> = {};
    for (const l of labels) counts[l] = (counts[l] ?? 0) + 1;
    const pass = counts.Pass ?? 0;
    const total = pass + (counts.High ?? 0) + (counts.Low ?? 0) + (counts.NodataFailMetric ?? 0);
    return { name, score: total === 0 ? 0 : (pass / total) * 100, noData: total === 0, counts };
  });
}

/**
 * Weighted summary score, rounded to two decimals. Groups without a weight share 100 − Σweights
 * equally; a `noData` group counts as 100.
 * @example
 * summaryScore([{ name: 'a', score: 50, noData: false, counts: {} }], {}); // 50
 */
export function summaryScore(groups: readonly GroupScore[], weights: Readonly<Record<string, number>>): number {
  const weightSum = Object.values(weights).reduce((a, b) => a + b, 0);
  const unweighted = groups.filter((g) => !(g.name in weights));
  const shared = unweighted.length > 0 ? (100 - weightSum) / unweighted.length : 0;
  let score = 0;
  for (const g of groups) {
    const weight = g.name in weights ? weights[g.name] : shared;
    score += (g.noData ? 100 : g.score) * (weight / 100);
  }
  return Math.round(score * 100) / 100;
}

/**
 * Verdict of a summary score against the thresholds.
 * @example
 * classifyScore(80, 95, 75); // 'Marginal'
 */
export function classifyScore(score: number, passThreshold: number, marginalThreshold: number): CanaryVerdict {
  if (score >= passThreshold) return 'Pass';
  if (score >= marginalThreshold) return 'Marginal';
  return 'Fail';
}

/**
 * Judges a canary with Kayenta's NetflixACAJudge semantics. Each metric carries its control (baseline)
 * and experiment (canary) series and its own settings; the result holds every metric's classification
 * with its numbers, the group scores, the summary score and the verdict. A critical metric that is not
 * Pass, or Nodata for half the metrics or more, forces the score to 0. Muted metrics are reported but
 * not scored. Never throws.
 * @example
 * const result = judgeCanary(
 *   [
 *     { name: 'errors', control: [1, 0, 2, 1], experiment: [9, 8, 7, 9], critical: true, direction: 'increase' },
 *     { name: 'p99', control: [120, 130, 125], experiment: [121, 128, 126], groups: ['latency'] },
 *   ],
 *   { passThreshold: 95, marginalThreshold: 75 },
 * );
 * result.summary.verdict; // 'Fail'
 */
export function judgeCanary(metrics: readonly MetricInput[], config: CanaryJudgeConfig = {}): CanaryJudgement {
  const confidenceLevel = config.confidenceLevel ?? 0.98;
  const tolerance = config.tolerance ?? 0.25;
  const passThreshold = config.passThreshold ?? 95;
  const marginalThreshold = config.marginalThreshold ?? 75;
  const results = metrics.map((m) => classifyMetric(m, confidenceLevel, tolerance));
  const scored = results.filter((r) => !r.muted);
  const groups = scoreGroups(scored);

  let score: number;
  let reason: string | null = null;
  const criticalFailure = scored.find((r) => r.critical && r.classification !== 'Pass');
  const nodata = scored.filter((r) => r.classification === 'Nodata').length;
  if (criticalFailure) {
    score = 0;
    reason = `Canary Failed: ${criticalFailure.reason ?? `${criticalFailure.name} is ${criticalFailure.classification}`}`;
  } else if (scored.length > 0 && (nodata / scored.length) * 100 >= NODATA_THRESHOLD_PERCENT) {
    score = 0;
    reason = `Canary Failed: ${NODATA_THRESHOLD_PERCENT}% or more metrics returned NODATA`;
  } else {
    score = summaryScore(groups, config.groupWeights ?? {});
  }
  return {
    metrics: results,
    summary: { score, verdict: classifyScore(score, passThreshold, marginalThreshold), reason, groups },
  };
}
