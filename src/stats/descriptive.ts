/**
 * Descriptive statistics: mean, variance, quantiles (type 7, NumPy's and R's default), a summary, and
 * streaming moments (Welford / Chan et al.) that can be merged across intervals and shards.
 */

/**
 * Arithmetic mean; NaN for an empty sample.
 * @example
 * mean([1, 2, 3]); // 2
 */
export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  let sum = 0;
  for (const v of values) sum += v;
  const m = sum / values.length;
  // One correction pass (Neumaier-style) keeps large offsets exact enough.
  let c = 0;
  for (const v of values) c += v - m;
  return m + c / values.length;
}

/**
 * Sample variance with `ddof` delta degrees of freedom (default 1, the unbiased estimator).
 * @example
 * variance([1, 2, 3, 4]); // 1.6666…
 */
export function variance(values: readonly number[], ddof = 1): number {
  const n = values.length;
  if (n - ddof <= 0) return Number.NaN;
  const m = mean(values);
  let ss = 0;
  let s = 0;
  for (const v of values) {
    const d = v - m;
    ss += d * d;
    s += d;
  }
  return (ss - (s * s) / n) / (n - ddof);
}

/**
 * Sample standard deviation (ddof = 1 by default).
 * @example
 * standardDeviation([2, 4, 4, 4, 5, 5, 7, 9], 0); // 2
 */
export function standardDeviation(values: readonly number[], ddof = 1): number {
  return Math.sqrt(variance(values, ddof));
}

/**
 * Quantile of already sorted values by linear interpolation between order statistics: Hyndman & Fan
 * type 7, the default of NumPy (`np.quantile`), R (`quantile`) and Apache Commons Math's R_7.
 * @example
 * quantileSorted([1, 2, 3, 4], 0.25); // 1.75
 */
export function quantileSorted(sorted: readonly number[], p: number): number {
  const n = sorted.length;
  if (n === 0 || Number.isNaN(p) || p < 0 || p > 1) return Number.NaN;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  const frac = h - lo;
  return sorted[lo] + frac * (sorted[hi] - sorted[lo]);
}

/**
 * Quantile (type 7) of unsorted values; `p` in [0, 1]. NaN values are not allowed.
 * @example
 * quantile([4, 1, 3, 2], 0.5); // 2.5
 */
export function quantile(values: readonly number[], p: number): number {
  return quantileSorted(sortNumbers(values), p);
}

/**
 * Several quantiles with one sort.
 * @example
 * quantiles([1, 2, 3, 4, 5], [0.25, 0.5, 0.75]); // [2, 3, 4]
 */
export function quantiles(values: readonly number[], ps: readonly number[]): number[] {
  const sorted = sortNumbers(values);
  return ps.map((p) => quantileSorted(sorted, p));
}

/**
 * Ascending numeric copy of `values`.
 * @example
 * sortNumbers([3, 1, 2]); // [1, 2, 3]
 */
export function sortNumbers(values: readonly number[]): number[] {
  return Array.from(Float64Array.from(values).sort());
}

/** Descriptive summary of one sample, as Kayenta reports it. */
export interface SampleSummary {
  count: number;
  mean: number;
  std: number;
  min: number;
  max: number;
}

/**
 * Count, mean, sample standard deviation, min and max; zeros for an empty sample (as Kayenta does).
 * @example
 * summarize([1, 2, 3]); // { count: 3, mean: 2, std: 1, min: 1, max: 3 }
 */
export function summarize(values: readonly number[]): SampleSummary {
  const n = values.length;
  if (n === 0) return { count: 0, mean: 0, std: 0, min: 0, max: 0 };
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { count: n, mean: mean(values), std: n > 1 ? standardDeviation(values) : 0, min, max };
}

/**
 * Streaming moments of a sample: count, mean and the sum of squared deviations `m2`. Immutable; build
 * with {@link addToMoments} and combine intervals or shards with {@link mergeMoments}.
 */
export interface Moments {
  readonly n: number;
  readonly mean: number;
  readonly m2: number;
}

/**
 * Moments of an empty sample, the start of every accumulation.
 * @example
 * addToMoments(EMPTY_MOMENTS, [4]); // { n: 1, mean: 4, m2: 0 }
 */
export const EMPTY_MOMENTS: Moments = Object.freeze({ n: 0, mean: 0, m2: 0 });

/**
 * Adds observations to moments (Welford's update).
 * @example
 * const m = addToMoments(EMPTY_MOMENTS, [1, 2, 3]); // { n: 3, mean: 2, m2: 2 }
 */
export function addToMoments(moments: Moments, values: readonly number[]): Moments {
  let { n, mean: m, m2 } = moments;
  for (const v of values) {
    n += 1;
    const d = v - m;
    m += d / n;
    m2 += d * (v - m);
  }
  return { n, mean: m, m2 };
}

/**
 * Merges the moments of two disjoint samples (Chan, Golub & LeVeque 1979).
 * @example
 * mergeMoments(momentsOf([1, 2]), momentsOf([3, 4])); // same as momentsOf([1, 2, 3, 4])
 */
export function mergeMoments(a: Moments, b: Moments): Moments {
  if (a.n === 0) return b;
  if (b.n === 0) return a;
  const n = a.n + b.n;
  const d = b.mean - a.mean;
  return { n, mean: a.mean + (d * b.n) / n, m2: a.m2 + b.m2 + (d * d * a.n * b.n) / n };
}

/**
 * Moments of a whole sample.
 * @example
 * momentsOf([1, 2, 3]).mean; // 2
 */
export function momentsOf(values: readonly number[]): Moments {
  return addToMoments(EMPTY_MOMENTS, values);
}

/**
 * Sample variance (ddof = 1) of moments; NaN below two observations.
 * @example
 * momentsVariance(momentsOf([1, 2, 3])); // 1
 */
export function momentsVariance(moments: Moments): number {
  return moments.n > 1 ? moments.m2 / (moments.n - 1) : Number.NaN;
}
