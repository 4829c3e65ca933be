/**
 * Diffy's noise rule. Every compared request goes to three versions: primary and secondary run the stable
 * code, candidate the new code. Per endpoint and field, C counts the requests where candidate and primary
 * differ and N the requests where primary and secondary differ: N is the field's noise (timestamps, random
 * ids, ordering), since two copies of the same code disagree that often. A field is a real difference only
 * when C clearly exceeds N.
 *
 * As in Diffy (twitter/diffy `analysis/JoinedDifferences.scala`, `DifferencesFilterFactory`), a field is a
 * real difference when all three hold, with strict inequalities:
 * - C > N;
 * - the relative difference is above `relative` percent (default 20): by default, as in Diffy,
 *   (C − N) / (C + N) × 100; with `relativeTo: 'candidate'`, (C − N) / C × 100, which is less strict;
 * - the absolute difference (C − N) / requests × 100 is above `absolute` percent (default 0.03).
 */

/** Thresholds of the noise rule, in percent. */
export interface NoiseThresholds {
  /** Minimum relative difference, percent. Default 20. */
  relative: number;
  /** Minimum absolute difference, percent of the endpoint's requests. Default 0.03. */
  absolute: number;
  /** Denominator of the relative difference: `sum` (C + N, Diffy's) or `candidate` (C). Default `sum`. */
  relativeTo: 'sum' | 'candidate';
}

export const DEFAULT_THRESHOLDS: NoiseThresholds = { relative: 20, absolute: 0.03, relativeTo: 'sum' };

/** The verdict on one field: data with the numbers behind it. */
export interface FieldJudgement {
  verdict: 'difference' | 'noise';
  /** Why, in one sentence with the numbers. */
  reason: string;
  /** Relative difference, percent (0 when C + N is 0). */
  relativeDifference: number;
  /** Absolute difference, percent of the endpoint's requests. */
  absoluteDifference: number;
}

function round(x: number): number {
  return Math.round(x * 10000) / 10000;
}

/**
 * Judges one field of one endpoint.
 * @param candidate C: requests where candidate and primary differed on the field
 * @param noise N: requests where primary and secondary differed on the field
 * @param requests the endpoint's compared requests
 * @example
 * judgeField(100, 100, 100) // a timestamp that differs everywhere → { verdict: 'noise', ... }
 * judgeField(40, 0, 100)    // a real change on 40% of requests → { verdict: 'difference', ... }
 */
export function judgeField(candidate: number, noise: number, requests: number, thresholds: NoiseThresholds = DEFAULT_THRESHOLDS): FieldJudgement {
  const delta = candidate - noise;
  const base = thresholds.relativeTo === 'candidate' ? candidate : candidate + noise;
  const relativeDifference = base > 0 ? round((Math.abs(delta) / base) * 100) : 0;
  const absoluteDifference = requests > 0 ? round((Math.abs(delta) / requests) * 100) : 0;
  const nums = `C=${candidate}, N=${noise} of ${requests} requests`;
  if (candidate <= noise) {
    return { verdict: 'noise', reason: `the stable versions disagree as often as the candidate does (${nums})`, relativeDifference, absoluteDifference };
  }
  if (relativeDifference <= thresholds.relative) {
    return {
      verdict: 'noise',
      reason: `relative difference ${relativeDifference}% is not above ${thresholds.relative}% (${nums})`,
      relativeDifference,
      absoluteDifference,
    };
  }
  if (absoluteDifference <= thresholds.absolute) {
    return {
      verdict: 'noise',
      reason: `absolute difference ${absoluteDifference}% of requests is not above ${thresholds.absolute}% (${nums})`,
      relativeDifference,
      absoluteDifference,
    };
  }
  return {
    verdict: 'difference',
    reason: `candidate differs from primary more often than the stable versions differ from each other: relative ${relativeDifference}% > ${thresholds.relative}%, absolute ${absoluteDifference}% > ${thresholds.absolute}% (${nums})`,
    relativeDifference,
    absoluteDifference,
  };
}
