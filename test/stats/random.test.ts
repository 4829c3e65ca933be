import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRandom } from '../../src/stats/random.ts';
import type { Random } from '../../src/stats/random.ts';

/** Asserts the sample mean of `n` draws is within 5 standard errors of `mean`. */
function checkMean(draw: () => number, n: number, mean: number, variance: number, label: string): void {
  let s = 0;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const v = draw();
    s += v;
    ss += v * v;
  }
  const m = s / n;
  const se = Math.sqrt(variance / n);
  assert.ok(Math.abs(m - mean) <= 5 * se, `${label}: mean ${m}, expected ${mean} ± ${5 * se}`);
  const v = ss / n - m * m;
  // The variance of the sample variance is about 2σ⁴/n for light tails; allow a wide 8 SE band.
  assert.ok(Math.abs(v - variance) <= 8 * variance * Math.sqrt(2 / n) + 1e-12, `${label}: variance ${v}, expected ${variance}`);
}

test('same seed, same sequence; different seeds differ', () => {
  const a = createRandom(7);
  const b = createRandom(7);
  const c = createRandom(8);
  const sa = Array.from({ length: 5 }, () => a.uint32());
  assert.deepEqual(sa, Array.from({ length: 5 }, () => b.uint32()));
  assert.notDeepEqual(sa, Array.from({ length: 5 }, () => c.uint32()));
  for (let i = 0; i < 1000; i++) {
    const u = a.uniform();
    assert.ok(u >= 0 && u < 1);
  }
});

test('samplers have the right mean and variance (5 standard errors)', () => {
  const r: Random = createRandom(12345);
  const n = 100_000;
  checkMean(() => r.uniform(), n, 0.5, 1 / 12, 'uniform');
  checkMean(() => r.normal(), n, 0, 1, 'normal');
  checkMean(() => r.exponential(2), n, 0.5, 0.25, 'exponential');
  checkMean(() => r.poisson(3), n, 3, 3, 'poisson(3)');
  checkMean(() => r.poisson(250), n, 250, 250, 'poisson(250)');
  checkMean(() => r.binomial(200, 0.01), n, 2, 200 * 0.01 * 0.99, 'binomial(200, 0.01)');
  checkMean(() => r.binomial(5000, 0.3), n / 4, 1500, 5000 * 0.3 * 0.7, 'binomial(5000, 0.3)');
  checkMean(() => r.binomial(40, 0.9), n, 36, 40 * 0.9 * 0.1, 'binomial(40, 0.9)');
  checkMean(() => r.gamma(0.5), n, 0.5, 0.5, 'gamma(0.5)');
  checkMean(() => r.gamma(7), n, 7, 7, 'gamma(7)');
  checkMean(() => r.beta(2, 5), n, 2 / 7, (2 * 5) / (49 * 8), 'beta(2, 5)');
  checkMean(() => Math.log(r.lognormal(4.6, 0.5)), n, 4.6, 0.25, 'lognormal');
});
