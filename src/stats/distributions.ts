/**
 * Normal, Student t and chi-square distributions: cdf, survival function and quantile function.
 * Tails are computed directly (never as 1 − cdf) so that small p-values keep their relative precision.
 */
import { gammaP, gammaQ, incompleteBetaParts, logBeta, logGamma } from './special.ts';

const SQRT2 = Math.SQRT2;
const SQRT2PI = Math.sqrt(2 * Math.PI);

/** erfc(z) for z >= 0 via Q(1/2, z²). */
function erfcPositive(z: number): number {
  return gammaQ(0.5, z * z);
}

/**
 * Standard normal cumulative distribution function Φ(x).
 * @example
 * normalCdf(1.959963984540054); // 0.975
 */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x < 0) return 0.5 * erfcPositive(-x / SQRT2);
  return 1 - 0.5 * erfcPositive(x / SQRT2);
}

/**
 * Standard normal survival function 1 − Φ(x), accurate far into the upper tail.
 * @example
 * normalSf(3); // ≈ 0.00135
 */
export function normalSf(x: number): number {
  return normalCdf(-x);
}

/**
 * Standard normal density.
 * @example
 * normalPdf(0); // ≈ 0.3989
 */
export function normalPdf(x: number): number {
  return Math.exp(-0.5 * x * x) / SQRT2PI;
}

/**
 * Standard normal quantile function Φ⁻¹(p). An Abramowitz–Stegun 26.2.23 start refined by Halley steps
 * on the accurate cdf, so the result is good to about 1e-15 relative.
 * @example
 * normalPpf(0.975); // 1.959963984540054
 */
export function normalPpf(p: number): number {
  if (Number.isNaN(p) || p < 0 || p > 1) return Number.NaN;
  if (p === 0) return Number.NEGATIVE_INFINITY;
  if (p === 1) return Number.POSITIVE_INFINITY;
  if (p === 0.5) return 0;
  // For p ≥ 0.5, 1 − p is exact (Sterbenz), so working on the lower tail loses nothing.
  const q = p < 0.5 ? p : 1 - p;
  const t = Math.sqrt(-2 * Math.log(q));
  let x =
    -(t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t));
  // x now approximates Φ⁻¹(q) (negative); refine on the lower tail where q is exact.
  for (let i = 0; i < 4; i++) {
    const e = normalCdf(x) - q;
    const u = e * SQRT2PI * Math.exp(0.5 * x * x);
    const step = u / (1 + 0.5 * x * u);
    x -= step;
    if (Math.abs(step) < 1e-16 * Math.max(1, Math.abs(x))) break;
  }
  return p < 0.5 ? x : -x;
}

/**
 * Student t cumulative distribution function with `df` degrees of freedom (real df > 0 allowed).
 * @example
 * studentTCdf(2.0, 10); // ≈ 0.9633
 */
export function studentTCdf(t: number, df: number): number {
  if (Number.isNaN(t) || Number.isNaN(df) || df <= 0) return Number.NaN;
  if (df === Number.POSITIVE_INFINITY) return normalCdf(t);
  if (t === Number.POSITIVE_INFINITY) return 1;
  if (t === Number.NEGATIVE_INFINITY) return 0;
  const t2 = t * t;
  const tail =
    0.5 * incompleteBetaParts(df / 2, 0.5, df / (df + t2), t2 / (df + t2), -Math.log1p(t2 / df), Math.log(t2 / (df + t2)));
  return t > 0 ? 1 - tail : tail;
}

/**
 * Student t survival function P(T > t), accurate in the upper tail.
 * @example
 * studentTSf(2.0, 10); // ≈ 0.0367
 */
export function studentTSf(t: number, df: number): number {
  return studentTCdf(-t, df);
}

/**
 * Student t density.
 * @example
 * studentTPdf(0, 1); // 1/π
 */
export function studentTPdf(t: number, df: number): number {
  return Math.exp(-((df + 1) / 2) * Math.log1p((t * t) / df) - 0.5 * Math.log(df) - logBeta(df / 2, 0.5));
}

/**
 * Student t quantile function (inverse cdf). Closed forms for df = 1 and 2; otherwise a safeguarded
 * Newton iteration on the lower tail from a Cornish–Fisher start.
 * @example
 * studentTPpf(0.975, 10); // ≈ 2.228
 */
export function studentTPpf(p: number, df: number): number {
  if (Number.isNaN(p) || Number.isNaN(df) || df <= 0 || p < 0 || p > 1) return Number.NaN;
  if (p === 0) return Number.NEGATIVE_INFINITY;
  if (p === 1) return Number.POSITIVE_INFINITY;
  if (p === 0.5) return 0;
  if (df === Number.POSITIVE_INFINITY) return normalPpf(p);
  const q = p < 0.5 ? p : 1 - p;
  const sign = p < 0.5 ? 1 : -1;
  if (df === 1) return (sign * -1) / Math.tan(Math.PI * q);
  if (df === 2) return (sign * (2 * q - 1)) / Math.sqrt(2 * q * (1 - q));
  // Solve F(x) = q for x < 0.
  const z = normalPpf(q);
  const z2 = z * z;
  let x = z + (z * (z2 + 1)) / (4 * df) + (z * (5 * z2 * z2 + 16 * z2 + 3)) / (96 * df * df);
  if (!(x < 0) || !Number.isFinite(x)) x = z;
  // Bracket [lo, hi] with F(lo) <= q <= F(hi).
  let hi = 0;
  let lo = x;
  while (studentTCdf(lo, df) > q) {
    hi = lo;
    lo *= 2;
    if (lo < -1e300) return Number.NEGATIVE_INFINITY;
  }
  x = Math.min(Math.max(x, lo), hi);
  for (let i = 0; i < 200; i++) {
    const f = studentTCdf(x, df) - q;
    if (f === 0) break;
    if (f > 0) hi = x;
    else lo = x;
    let next = x - f / studentTPdf(x, df);
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    if (Math.abs(next - x) <= 1e-15 * Math.abs(x)) {
      x = next;
      break;
    }
    x = next;
  }
  return p < 0.5 ? x : -x;
}

/**
 * Chi-square cumulative distribution function with `df` degrees of freedom.
 * @example
 * chiSquareCdf(3.841458820694124, 1); // 0.95
 */
export function chiSquareCdf(x: number, df: number): number {
  if (Number.isNaN(x) || df <= 0) return Number.NaN;
  return gammaP(df / 2, x / 2);
}

/**
 * Chi-square survival function P(X > x), the p-value of a chi-square statistic.
 * @example
 * chiSquareSf(3.841458820694124, 1); // 0.05
 */
export function chiSquareSf(x: number, df: number): number {
  if (Number.isNaN(x) || df <= 0) return Number.NaN;
  return gammaQ(df / 2, x / 2);
}

/**
 * Chi-square quantile function, by bisection-safeguarded Newton steps on the cdf.
 * @example
 * chiSquarePpf(0.95, 1); // ≈ 3.8415
 */
export function chiSquarePpf(p: number, df: number): number {
  if (Number.isNaN(p) || df <= 0 || p < 0 || p > 1) return Number.NaN;
  if (p === 0) return 0;
  if (p === 1) return Number.POSITIVE_INFINITY;
  const a = df / 2;
  const upper = p > 0.5;
  const target = upper ? 1 - p : p;
  // f(x) decreasing in the direction we solve: use cdf for lower half, sf for upper half.
  const fn = (x: number) => (upper ? target - chiSquareSf(x, df) : chiSquareCdf(x, df) - target);
  // Wilson–Hilferty start.
  const z = normalPpf(p);
  let x = df * Math.pow(1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df)), 3);
  if (!(x > 0) || !Number.isFinite(x)) x = Math.max(df, 1e-8);
  let lo = 0;
  let hi = x;
  while (fn(hi) < 0) {
    lo = hi;
    hi *= 2;
  }
  for (let i = 0; i < 300; i++) {
    const f = fn(x);
    if (f === 0) break;
    if (f > 0) hi = x;
    else lo = x;
    const density = Math.exp((a - 1) * Math.log(x) - x / 2 - a * Math.LN2 - logGamma(a));
    let next = x - f / density;
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    if (Math.abs(next - x) <= 1e-15 * x) {
      x = next;
      break;
    }
    x = next;
  }
  return x;
}
