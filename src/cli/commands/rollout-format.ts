import type { AnalysisRun } from '../../analysis/types.ts';
import type { Step } from '../../rollout/types.ts';

/** The rollout as `GET /api/v1/services/{name}/rollout` returns it. */
export interface RolloutView {
  service: string;
  phase: string;
  step: number;
  steps: number;
  stable: string;
  canary: string;
  weights: Record<string, number>;
  message: string;
  pauseReason: string | null;
  blockedBy: string | null;
  updatedAt: number;
  analysis: { successes: number; runs: number; inconclusive: number } | null;
  spec: { steps: Step[] };
  history: { at: number; phase: string; step: number; weight: number; message: string }[];
  runs: AnalysisRun[];
}

const n = (v: number | null | undefined, digits = 3): string => (typeof v !== 'number' || Number.isNaN(v) ? 'n/a' : Math.abs(v) >= 1000 ? v.toFixed(0) : Number(v.toPrecision(digits)).toString());
const pct = (v: number | null | undefined): string => (typeof v === 'number' ? n(100 * v) : 'n/a');
const p = (v: number | null | undefined): string => (typeof v !== 'number' || Number.isNaN(v) ? 'n/a' : v < 1e-4 ? v.toExponential(1) : n(v, 2));

function stepText(s: Step): string {
  if (s.kind === 'setWeight') return `setWeight ${s.weight}`;
  if (s.kind === 'pause') return s.durationMs === undefined ? 'pause (until promoted)' : `pause ${s.durationMs / 1000}s`;
  if (s.kind === 'analysis') return `analysis ${s.count} × ${s.intervalMs / 1000}s (${s.traffic} traffic)`;
  return `keep ${s.durationMs / 1000}s warm`;
}

/** One run with the numbers that decided it. */
export function formatRun(r: AnalysisRun): string {
  const lines = [`  ${r.id}  ${r.phase}  ${r.samples.canary} canary / ${r.samples.baseline} baseline ${r.traffic} requests — ${r.summary}`];
  for (const m of r.metrics) {
    const range = m.thresholdRange ? ` [${m.thresholdRange.min ?? '-∞'}, ${m.thresholdRange.max ?? '∞'}]` : '';
    const cmp = m.comparison ? `  vs baseline: ${m.comparison.classification}, p=${p(m.comparison.pValue)}, shift ${n(m.comparison.interval.lower)}…${n(m.comparison.interval.upper)} (${Math.round(m.comparison.interval.confidenceLevel * 100)}%), ratio ${n(m.comparison.ratio)}` : '';
    lines.push(`      ${m.name.padEnd(14)} canary ${n(m.canary)}${m.baseline !== undefined ? `  baseline ${n(m.baseline)}` : ''}${range}  ${m.phase}${m.reason ? ` (${m.reason})` : ''}${cmp}`);
  }
  if (r.judge) lines.push(`      judge          score ${r.judge.score} → ${r.judge.verdict}${r.judge.reason ? ` (${r.judge.reason})` : ''}`);
  const s = r.sequential;
  if (s) {
    lines.push(`      sequential     ${s.decision}: errors p=${p(s.errors.pValue)} (canary has ${pct(s.errors.canaryShareOfErrors)}% of errors for ${pct(s.errors.expectedShare)}% of traffic, rate ratio ${n(s.errors.rateRatio)})${s.latency ? `; latency ratio ${n(s.latency.ratio)} [${n(s.latency.ratioLower)}, ${n(s.latency.ratioUpper)}] p=${p(s.latency.pValue)}` : ''}; SRM p=${p(s.srm.pValue)}`);
    for (const k of s.errorKeys.filter((x) => x.failed)) lines.push(`      errors on ${k.key}: p=${p(k.pValue)}, canary has ${pct(k.canaryShareOfErrors)}% of them`);
  }
  for (const e of r.newErrors ?? []) lines.push(`      new error      ${e.title} (${e.count}×, ${pct(e.rate)}% of canary requests)`);
  return lines.join('\n');
}

/** The whole status, for people. */
export function formatRollout(v: RolloutView, runs = 5): string {
  const w = Object.entries(v.weights).map(([k, x]) => `${k}=${x}%`).join(' ');
  const out = [`${v.service}: ${v.canary} over ${v.stable} — ${v.phase}${v.pauseReason ? ` (${v.pauseReason})` : ''}, step ${Math.max(0, Math.min(v.step, v.steps))}/${v.steps}, ${w}`, `  ${v.message}`];
  if (v.blockedBy) out.push(`  ${v.blockedBy}`);
  out.push('Steps:');
  v.spec.steps.forEach((s, i) => {
    const mark = i < v.step || v.phase === 'Succeeded' ? '✓' : i === v.step ? (v.phase === 'Failed' || v.phase === 'Aborted' ? '✗' : '▶') : ' ';
    const extra = i === v.step && v.analysis ? `  (${v.analysis.successes} passed, ${v.analysis.inconclusive} inconclusive in a row)` : '';
    out.push(`  ${mark} ${i} ${stepText(s)}${extra}`);
  });
  if (v.runs.length && runs > 0) {
    out.push('Analysis runs (newest first):');
    for (const r of v.runs.slice(0, runs)) out.push(formatRun(r));
  }
  return `${out.join('\n')}\n`;
}
