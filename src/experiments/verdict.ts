/**
 * Plain-words verdicts for a comparison. Pure: the sentence is built from the numbers only.
 */

/**
 * A fraction as a percentage: one decimal, two below 1 %.
 * @example
 * percent(0.0312); // '3.1%'
 * percent(-0.0042); // '-0.42%'
 */
export function percent(x: number): string {
  if (!Number.isFinite(x)) return x > 0 ? '∞' : x < 0 ? '−∞' : 'n/a';
  const p = Math.abs(x * 100);
  const digits = p >= 1 ? 1 : 2;
  return `${(x * 100).toFixed(digits)}%`;
}

export interface VerdictInput {
  arm: string;
  metric: string;
  significant: boolean;
  /** Relative lift and the interval shown (the sequence when the test is sequential). */
  lift: { estimate: number; lower: number; upper: number };
  confidence: number;
  sequential: boolean;
  correction: 'holm' | 'bh';
  outcome: 'better' | 'worse' | 'inconclusive';
  guardrail: boolean;
  moreUnitsPerArm?: number;
  mde: number;
}

const CORRECTION = { holm: 'Holm', bh: 'Benjamini–Hochberg' } as const;

/**
 * One sentence for one comparison.
 * @example
 * comparisonVerdict({ arm: 'treatment', metric: 'checkout conversion', significant: true,
 *   lift: { estimate: 0.031, lower: 0.012, upper: 0.05 }, confidence: 0.95, sequential: false,
 *   correction: 'holm', outcome: 'better', guardrail: false, mde: 0.05 });
 * // 'treatment raises checkout conversion by 3.1% (95% CI 1.2%–5.0%); significant after Holm'
 */
export function comparisonVerdict(v: VerdictInput): string {
  const level = `${+(v.confidence * 100).toFixed(1)}%`;
  const kind = v.sequential ? 'always-valid CI' : 'CI';
  if (v.significant) {
    const up = v.lift.estimate >= 0;
    const [lo, hi] = up ? [v.lift.lower, v.lift.upper] : [-v.lift.upper, -v.lift.lower];
    const what = `${v.arm} ${up ? 'raises' : 'lowers'} ${v.metric} by ${percent(Math.abs(v.lift.estimate))} (${level} ${kind} ${percent(lo)}–${percent(hi)}); significant after ${CORRECTION[v.correction]}`;
    if (v.guardrail && v.outcome === 'worse') return `${what} — guardrail harmed, stop the experiment`;
    return what;
  }
  const mde = percent(v.mde);
  if (!Number.isFinite(v.lift.estimate)) return 'no detectable difference yet: control is 0 so far, so there is no relative lift to estimate';
  if (v.moreUnitsPerArm === undefined || !Number.isFinite(v.moreUnitsPerArm)) {
    return `no detectable difference yet (lift ${percent(v.lift.estimate)}, ${level} ${kind} ${percent(v.lift.lower)}–${percent(v.lift.upper)})`;
  }
  if (v.moreUnitsPerArm > 0) {
    return `no detectable difference yet; ${v.moreUnitsPerArm} more units per arm for 80% power to detect a ${mde} change at the observed variance`;
  }
  return `no detectable difference: the test has 80% power for a ${mde} change, so any effect is likely smaller (${level} ${kind} ${percent(v.lift.lower)}–${percent(v.lift.upper)})`;
}
