/**
 * A seeded pseudo-random number generator and samplers. Randomness in Weir is always passed in, so a
 * simulation, a test or a split decision can be replayed from its seed.
 *
 * Generator: xoshiro128** 1.1 (Blackman & Vigna, 2018), seeded through splitmix32 so that any 32-bit
 * seed gives a well-mixed state. Uniforms carry 53 random bits.
 */
import { logGamma } from './special.ts';

/** A seeded source of randomness with the samplers the statistics code needs. */
export interface Random {
  /** Uniform on [0, 1) with 53 random bits. */
  uniform(): number;
  /** Unsigned 32-bit integer. */
  uint32(): number;
  /** Standard normal N(0, 1) (polar Box–Muller). */
  normal(): number;
  /** Exponential with the given rate (default 1). */
  exponential(rate?: number): number;
  /** Log-normal: exp(N(mu, sigma²)). */
  lognormal(mu: number, sigma: number): number;
  /** Gamma(shape, 1) (Marsaglia & Tsang 2000). */
  gamma(shape: number): number;
  /** Beta(a, b). */
  beta(a: number, b: number): number;
  /** Poisson with mean `lambda` (multiplication for small means, PTRS of Hörmann 1993 otherwise). */
  poisson(lambda: number): number;
  /** Binomial(n, p), exact (inversion for small means, Knuth's beta splitting otherwise). */
  binomial(n: number, p: number): number;
}

function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

/**
 * Creates a seeded random source. Same seed, same sequence, on every platform.
 * @example
 * const rng = createRandom(42);
 * rng.uniform(); // a number in [0, 1)
 * rng.lognormal(Math.log(100), 0.5); // a latency in ms
 */
export function createRandom(seed: number): Random {
  const mix = splitmix32(seed);
  let s0 = mix();
  let s1 = mix();
  let s2 = mix();
  let s3 = mix();
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1;
  let spareNormal: number | undefined;

  const uint32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    s2 = (s2 ^ s0) >>> 0;
    s3 = (s3 ^ s1) >>> 0;
    s1 = (s1 ^ s2) >>> 0;
    s0 = (s0 ^ s3) >>> 0;
    s2 = (s2 ^ t) >>> 0;
    s3 = rotl(s3, 11);
    return result;
  };
  const uniform = (): number => ((uint32() >>> 5) * 67108864 + (uint32() >>> 6)) / 9007199254740992;

  const normal = (): number => {
    if (spareNormal !== undefined) {
      const v = spareNormal;
      spareNormal = undefined;
      return v;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * uniform() - 1;
      v = 2 * uniform() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    spareNormal = v * f;
    return u * f;
  };

  const exponential = (rate = 1): number => -Math.log1p(-uniform()) / rate;

  const gamma = (shape: number): number => {
    if (shape < 1) {
      // Boost: Gamma(a) = Gamma(a + 1) · U^(1/a).
      return gamma(shape + 1) * Math.pow(uniform(), 1 / shape);
    }
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = uniform();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  };

  const beta = (a: number, b: number): number => {
    const x = gamma(a);
    const y = gamma(b);
    return x / (x + y);
  };

  const poisson = (lambda: number): number => {
    if (!(lambda > 0)) return 0;
    if (lambda < 30) {
      const limit = Math.exp(-lambda);
      let k = 0;
      let prod = uniform();
      while (prod > limit) {
        k += 1;
        prod *= uniform();
      }
      return k;
    }
    const slam = Math.sqrt(lambda);
    const logLam = Math.log(lambda);
    const b = 0.931 + 2.53 * slam;
    const a = -0.059 + 0.02483 * b;
    const invAlpha = 1.1239 + 1.1328 / (b - 3.4);
    const vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
      const u = uniform() - 0.5;
      const v = uniform();
      const us = 0.5 - Math.abs(u);
      const k = Math.floor(((2 * a) / us + b) * u + lambda + 0.43);
      if (us >= 0.07 && v <= vr) return k;
      if (k < 0 || (us < 0.013 && v > us)) continue;
      if (Math.log(v) + Math.log(invAlpha) - Math.log(a / (us * us) + b) <= -lambda + k * logLam - logGamma(k + 1)) {
        return k;
      }
    }
  };

  const binomialInversion = (n: number, p: number): number => {
    // Sequential search from 0; expected cost O(np), used when np is small.
    const q = 1 - p;
    const ratio = p / q;
    let prob = Math.pow(q, n);
    let cdf = prob;
    const u = uniform();
    let k = 0;
    while (u > cdf && k < n) {
      prob *= (ratio * (n - k)) / (k + 1);
      cdf += prob;
      k += 1;
      if (prob === 0 && cdf < u) break;
    }
    return k;
  };

  const binomial = (n: number, p: number): number => {
    if (n <= 0 || p <= 0) return 0;
    if (p >= 1) return n;
    if (p > 0.5) return n - binomial(n, 1 - p);
    if (n * p < 20) return binomialInversion(n, p);
    // Knuth, TAOCP vol. 2, 3.4.1: split on the a-th order statistic of n uniforms, which is Beta(a, b).
    const a = 1 + Math.floor(n / 2);
    const b = n + 1 - a;
    const x = beta(a, b);
    if (x >= p) return binomial(a - 1, p / x);
    return a + binomial(b - 1, (p - x) / (1 - x));
  };

  return {
    uniform,
    uint32,
    normal,
    exponential,
    lognormal: (mu, sigma) => Math.exp(mu + sigma * normal()),
    gamma,
    beta,
    poisson,
    binomial,
  };
}
