/**
 * The analysis of one experiment from per-arm summaries: every metric's comparisons, the
 * multiple-testing adjustment, the sample-ratio check, the status and the verdicts. Pure and
 * synchronous; the clock is passed in.
 */
import { benjaminiHochberg, holm, sampleRatioMismatch } from '../stats/index.ts';
import { compareMeans, compareRatios } from './compare.ts';
import type { RawComparison } from './compare.ts';
import type { ExperimentConfig, MetricConfig } from './config.ts';
import { unitsPerArmFor } from './sequential.ts';
import type { Comparison, ExperimentResults, ExperimentStatus, MetricData, MetricResult, SrmResult } from './types.ts';
import { comparisonVerdict } from './verdict.ts';

/** What the event store said about an experiment. */
export interface ExperimentData {
  /** Units whose exposures all name this arm, by arm. */
  units: Record<string, number>;
  /** Units exposed to more than one arm (excluded). */
  excludedUnits: number;
  /** Exposure events of the flag naming a variant that is not an arm, by variant (ignored). */
  otherVariants?: Record<string, number>;
  /** By metric name (metrics and guardrails). */
  metrics: Record<string, MetricData>;
}

/** Defaults of an experiment's analysis settings (`alpha`, `test`, `correction`, `sequentialTuning`, a metric's `mde`) and the power the hint aims at. */
export const DEFAULTS = { alpha: 0.05, test: 'sequential', correction: 'holm', tuning: 5000, mde: 0.05, power: 0.8 } as const;

/**
 * The arms in order, control first.
 * @example
 * armsOf({ arms: ['b', 'control'] } as ExperimentConfig); // ['control', 'b']
 */
export function armsOf(exp: ExperimentConfig): string[] {
  return ['control', ...exp.arms.filter((a) => a !== 'control')];
}

function srmOf(exp: ExperimentConfig, units: Record<string, number>): SrmResult {
  const arms = armsOf(exp);
  const observed = Object.fromEntries(arms.map((a) => [a, units[a] ?? 0]));
  const weights = arms.map((a) => exp.allocation?.[a] ?? 1);
  const total = arms.reduce((s, a) => s + observed[a], 0);
  const wsum = weights.reduce((a, b) => a + b, 0);
  const expected = Object.fromEntries(arms.map((a, i) => [a, (total * weights[i]) / wsum]));
  if (total === 0) return { status: 'no-data', observed, expected };
  const r = sampleRatioMismatch(arms.map((a) => observed[a]), weights);
  return { status: r.mismatch ? 'mismatch' : 'ok', pValue: r.pValue, chiSquare: r.chiSquare, observed, expected };
}

interface Pending {
  metric: MetricConfig;
  guardrail: boolean;
  result: MetricResult;
  raw: { arm: string; r: RawComparison }[];
}

function pendingOf(exp: ExperimentConfig, m: MetricConfig, guardrail: boolean, data: MetricData | undefined, alpha: number, tuning: number): Pending {
  const arms = armsOf(exp);
  const result: MetricResult = { name: m.name, type: m.type, guardrail, direction: m.direction ?? 'increase', arms: [], comparisons: [] };
  const p: Pending = { metric: m, guardrail, result, raw: [] };
  if (!data) {
    result.error = 'no data for this metric';
    return p;
  }
  if (data.kind === 'error') {
    result.error = data.reason;
    return p;
  }
  if (data.kind === 'ratio') {
    for (const a of arms) {
      const s = data.arms[a];
      result.arms.push({ arm: a, units: s?.n ?? 0, value: s ? s.numeratorMean / s.denominatorMean : Number.NaN });
    }
  } else {
    for (const a of arms) result.arms.push({ arm: a, units: data.arms[a]?.n ?? 0, value: data.arms[a]?.mean ?? Number.NaN });
  }
  const c = data.arms.control;
  if (!c || c.n < 2) {
    result.error = 'fewer than 2 units in control so far';
    return p;
  }
  for (const a of arms.slice(1)) {
    const t = data.arms[a];
    if (!t || t.n < 2) continue;
    const o = { alpha, tuning };
    const r = data.kind === 'ratio'
      ? compareRatios(c as typeof data.arms[string], t as typeof data.arms[string], o)
      : compareMeans(c as typeof data.arms[string], t as typeof data.arms[string], data.kind, o);
    p.raw.push({ arm: a, r });
  }
  if (p.raw.length === 0) result.error = 'fewer than 2 units in every treatment arm so far';
  return p;
}

function finish(exp: ExperimentConfig, family: Pending[], sequentialBasis: boolean): void {
  const alpha = exp.alpha ?? DEFAULTS.alpha;
  const correction = exp.correction ?? DEFAULTS.correction;
  const flat = family.flatMap((p) => p.raw.map((x) => ({ p, ...x })));
  // A degenerate comparison (no variance in either arm, e.g. nobody converted yet) has no p-value: 1.
  const basis = flat.map((x) => (sequentialBasis ? x.r.sequential.pValue : x.r.pValue)).map((p) => (Number.isNaN(p) ? 1 : p));
  const adjusted = correction === 'bh' ? benjaminiHochberg(basis) : holm(basis);
  const m = Math.max(1, flat.length);
  flat.forEach((x, i) => {
    const { r, p, arm } = x;
    const significant = adjusted[i] < alpha;
    const direction = p.metric.direction ?? 'increase';
    const good = direction === 'increase' ? r.difference.estimate > 0 : r.difference.estimate < 0;
    const outcome: Comparison['outcome'] = significant ? (good ? 'better' : 'worse') : 'inconclusive';
    const mde = p.metric.mde ?? DEFAULTS.mde;
    const units = p.result.arms;
    const nNow = Math.min(units[0].units, units.find((u) => u.arm === arm)?.units ?? 0);
    // The per-comparison level α/m bounds what Holm and BH need (Bonferroni), so the hint is safe for both.
    const needed = unitsPerArmFor({
      varianceControl: r.varianceControl, varianceTreatment: r.varianceTreatment,
      effect: mde * Math.abs(r.controlMean), alpha: alpha / m, power: DEFAULTS.power,
      test: sequentialBasis ? 'sequential' : 'fixed', tuning: exp.sequentialTuning ?? DEFAULTS.tuning,
    });
    const moreUnitsPerArm = Number.isFinite(needed) ? Math.max(0, needed - nNow) : undefined;
    const shownLift = sequentialBasis ? r.sequential.lift : r.lift;
    const comparison: Comparison = {
      arm, difference: r.difference, lift: r.lift, pValue: r.pValue, sequential: r.sequential,
      adjustedPValue: adjusted[i], significant, outcome,
      verdict: comparisonVerdict({
        arm, metric: p.metric.name, significant, lift: shownLift, confidence: 1 - alpha, sequential: sequentialBasis,
        correction, outcome, guardrail: p.guardrail, moreUnitsPerArm, mde,
      }),
    };
    if (r.cuped) comparison.cuped = r.cuped;
    if (moreUnitsPerArm !== undefined) comparison.moreUnitsPerArm = moreUnitsPerArm;
    p.result.comparisons.push(comparison);
  });
}

/**
 * Analyses an experiment. Primary metrics and guardrails are two families, each adjusted with the
 * configured correction across its metrics and treatment arms. The verdict of a primary metric rests
 * on the sequential or the fixed-horizon p-value (`test`); guardrails always use the sequential one,
 * since they are watched continuously and may stop the experiment at any look.
 * @example
 * const r = analyzeExperiment(exp, { units: { control: 2000, treatment: 2000 }, excludedUnits: 0, metrics }, Date.now());
 * r.metrics[0].comparisons[0].verdict; // 'treatment raises checkout conversion by 20.0% (95% always-valid CI …)'
 */
export function analyzeExperiment(exp: ExperimentConfig, data: ExperimentData, now: number): ExperimentResults {
  const alpha = exp.alpha ?? DEFAULTS.alpha;
  const tuning = exp.sequentialTuning ?? DEFAULTS.tuning;
  const test = exp.test ?? DEFAULTS.test;
  const primary = (exp.metrics ?? []).map((m) => pendingOf(exp, m, false, data.metrics[m.name], alpha, tuning));
  const guards = (exp.guardrails ?? []).map((m) => pendingOf(exp, m, true, data.metrics[m.name], alpha, tuning));
  finish(exp, primary, test === 'sequential');
  finish(exp, guards, true);

  const srm = srmOf(exp, data.units);
  const warnings: string[] = [];
  if (srm.status === 'mismatch') {
    const obs = armsOf(exp).map((a) => `${a} ${srm.observed[a]}`).join(', ');
    const exp2 = armsOf(exp).map((a) => `${a} ${srm.expected[a].toFixed(0)}`).join(', ');
    warnings.push(`sample ratio mismatch (p = ${srm.pValue!.toExponential(2)} < 0.001): units ${obs}, expected ${exp2}; the assignment or the exposure logging is broken, so these results cannot be trusted`);
  }
  const others = Object.entries(data.otherVariants ?? {});
  if (others.length > 0) {
    warnings.push(`exposures to variants that are not arms were ignored: ${others.map(([v, n]) => `${v} ${n}`).join(', ')} (arms: ${armsOf(exp).join(', ')})`);
  }
  if (data.excludedUnits > 0) warnings.push(`${data.excludedUnits} unit(s) were exposed to more than one arm and are excluded`);

  const harmed = guards.flatMap((g) => g.result.comparisons.filter((c) => c.outcome === 'worse').map((c) => `${g.metric.name} (${c.arm})`));
  let status: ExperimentStatus;
  let reason: string;
  if (exp.start !== undefined && now < exp.start) {
    status = 'not-started';
    reason = `starts at ${new Date(exp.start).toISOString()}`;
  } else if (harmed.length > 0) {
    status = 'stopped-by-guardrail';
    reason = `guardrail harmed significantly: ${harmed.join(', ')}`;
  } else if (exp.end !== undefined && now >= exp.end) {
    status = 'ended';
    reason = `ended at ${new Date(exp.end).toISOString()}`;
  } else {
    status = 'running';
    reason = 'collecting data';
  }
  const arms = armsOf(exp);
  const wsum = arms.reduce((s, a) => s + (exp.allocation?.[a] ?? 1), 0);
  const end = Math.min(exp.end ?? now, now);
  return {
    id: exp.id, flag: exp.flag, status, reason,
    window: { start: exp.start === undefined ? null : new Date(exp.start).toISOString(), end: new Date(end).toISOString() },
    test, correction: exp.correction ?? DEFAULTS.correction, alpha,
    arms: arms.map((a) => ({ arm: a, units: data.units[a] ?? 0, expectedShare: (exp.allocation?.[a] ?? 1) / wsum })),
    excludedUnits: data.excludedUnits,
    srm,
    metrics: [...primary, ...guards].map((p) => p.result),
    warnings,
  };
}
