import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chiSquareCdf,
  chiSquarePpf,
  chiSquareSf,
  normalCdf,
  normalPpf,
  normalSf,
  studentTCdf,
  studentTPpf,
  studentTSf,
} from '../../src/stats/distributions.ts';
import { gammaP, gammaQ, incompleteBeta, logGamma } from '../../src/stats/special.ts';
import {
  EMPTY_MOMENTS,
  addToMoments,
  mean,
  mergeMoments,
  momentsOf,
  momentsVariance,
  quantile,
  quantiles,
  summarize,
  variance,
} from '../../src/stats/descriptive.ts';
import { assertClose, fixtures } from './helpers.ts';

const fx = fixtures.distributions;

test('normal cdf, sf and ppf match scipy.stats.norm', () => {
  const n = fx.normal;
  n.x.forEach((x: number, i: number) => {
    assertClose(normalCdf(x), n.cdf[i], 1e-13, 1e-300, `cdf(${x})`);
    assertClose(normalSf(x), n.sf[i], 1e-13, 1e-300, `sf(${x})`);
  });
  n.p.forEach((p: number, i: number) => assertClose(normalPpf(p), n.ppf[i], 1e-13, 0, `ppf(${p})`));
});

test('Student t cdf, sf and ppf match scipy.stats.t, including real df', () => {
  for (const c of fx.t) {
    // Near the switch point of the incomplete-beta continued fraction, df ≥ 1e5 keeps about 10 digits.
    const rel = c.df >= 1e5 ? 1e-9 : 1e-11;
    c.x.forEach((x: number, i: number) => {
      assertClose(studentTCdf(x, c.df), c.cdf[i], rel, 1e-300, `t cdf(${x}, ${c.df})`);
      assertClose(studentTSf(x, c.df), c.sf[i], rel, 1e-300, `t sf(${x}, ${c.df})`);
    });
    c.p.forEach((p: number, i: number) => assertClose(studentTPpf(p, c.df), c.ppf[i], 1e-10, 0, `t ppf(${p}, ${c.df})`));
  }
});

test('chi-square cdf, sf and ppf match scipy.stats.chi2', () => {
  for (const c of fx.chi2) {
    c.x.forEach((x: number, i: number) => {
      assertClose(chiSquareCdf(x, c.df), c.cdf[i], 1e-11, 1e-300, `chi2 cdf(${x}, ${c.df})`);
      assertClose(chiSquareSf(x, c.df), c.sf[i], 1e-11, 1e-300, `chi2 sf(${x}, ${c.df})`);
    });
    c.p.forEach((p: number, i: number) => assertClose(chiSquarePpf(p, c.df), c.ppf[i], 1e-10, 0, `chi2 ppf(${p}, ${c.df})`));
  }
});

test('special functions match scipy.special', () => {
  for (const [x, v] of fx.special.gammaln) assertClose(logGamma(x), v, 1e-13, 1e-14, `gammaln(${x})`);
  for (const [a, x, p, q] of fx.special.gammainc) {
    assertClose(gammaP(a, x), p, 1e-11, 1e-300, `P(${a}, ${x})`);
    assertClose(gammaQ(a, x), q, 1e-11, 1e-300, `Q(${a}, ${x})`);
  }
  for (const [x, a, b, v] of fx.special.betainc) assertClose(incompleteBeta(x, a, b), v, 1e-10, 1e-300, `I(${x}; ${a}, ${b})`);
});

test('edge cases of the quantile functions are exact, not NaN', () => {
  assert.equal(normalPpf(0.5), 0);
  assert.equal(normalPpf(0), Number.NEGATIVE_INFINITY);
  assert.equal(normalPpf(1), Number.POSITIVE_INFINITY);
  assert.ok(Number.isNaN(normalPpf(1.5)));
  assert.equal(studentTPpf(0.5, 7), 0);
  assertClose(studentTPpf(0.975, 1), 12.706204736174698, 1e-12);
  assert.equal(chiSquarePpf(0, 3), 0);
});

test('quantiles (type 7), mean and variance match numpy', () => {
  for (const c of fixtures.quantiles) {
    c.p.forEach((p: number, i: number) => assertClose(quantile(c.data, p), c.expected[i], 1e-13, 1e-13, `q(${p})`));
    assert.deepEqual(quantiles(c.data, c.p).map((v: number) => +v.toPrecision(12)), c.expected.map((v: number) => +v.toPrecision(12)));
    assertClose(mean(c.data), c.mean, 1e-14);
    assertClose(variance(c.data), c.variance, 1e-12);
    const m = momentsOf(c.data);
    assertClose(m.mean, c.mean, 1e-13);
    assertClose(momentsVariance(m), c.variance, 1e-11);
  }
});

test('streaming moments merge like the whole sample', () => {
  const data = fixtures.quantiles[0].data as number[];
  const merged = mergeMoments(momentsOf(data.slice(0, 10)), addToMoments(EMPTY_MOMENTS, data.slice(10)));
  const whole = momentsOf(data);
  assert.equal(merged.n, whole.n);
  assertClose(merged.mean, whole.mean, 1e-13);
  assertClose(merged.m2, whole.m2, 1e-11);
  assert.deepEqual(summarize([]), { count: 0, mean: 0, std: 0, min: 0, max: 0 });
  assert.deepEqual(summarize([1, 2, 3]), { count: 3, mean: 2, std: 1, min: 1, max: 3 });
});
