import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commonLanguageEffectSize, mannWhitneyU, wilcoxonShiftInterval } from '../../src/stats/mann-whitney.ts';
import type { Alternative } from '../../src/stats/mann-whitney.ts';
import { assertClose, fixtures } from './helpers.ts';

test('Mann–Whitney U and asymptotic p-values match scipy.stats.mannwhitneyu', () => {
  for (const c of fixtures.mannWhitney) {
    for (const alt of ['two-sided', 'greater', 'less'] as Alternative[]) {
      const r = mannWhitneyU(c.x, c.y, { alternative: alt });
      assert.equal(r.u, c[alt].u, `${c.name} ${alt} U`);
      assertClose(r.pValue, c[alt].pValue, 1e-11, 1e-300, `${c.name} ${alt} p`);
    }
  }
});

test("shift interval and estimate match R's wilcox.test(conf.int = TRUE, exact = FALSE) algorithm", () => {
  for (const c of fixtures.mannWhitney) {
    for (const [key, level] of [['interval98', 0.98], ['interval95', 0.95]] as const) {
      const r = wilcoxonShiftInterval(c.x, c.y, level);
      const scale = Math.max(1e-9, Math.abs(c[key].upper - c[key].lower));
      assertClose(r.lower, c[key].lower, 0, 1e-9 * scale, `${c.name} ${key} lower`);
      assertClose(r.upper, c[key].upper, 0, 1e-9 * scale, `${c.name} ${key} upper`);
      assertClose(r.estimate, c[key].estimate, 0, 1e-9 * scale, `${c.name} ${key} estimate`);
    }
  }
});

test('a clean shift is recovered exactly, and degenerate inputs give NaN rather than throwing', () => {
  const ci = wilcoxonShiftInterval([11, 12, 13, 14, 15], [1, 2, 3, 4, 5], 0.95);
  assertClose(ci.estimate, 10, 1e-12);
  assert.ok(ci.lower <= 10 && ci.upper >= 10);
  assert.ok(Number.isNaN(wilcoxonShiftInterval([], [1, 2]).estimate));
  assert.ok(Number.isNaN(wilcoxonShiftInterval([3, 3], [3, 3, 3]).estimate));
  assert.ok(Number.isNaN(mannWhitneyU([1, 1], [1, 1]).pValue));
  assert.equal(commonLanguageEffectSize([2, 3], [1, 2]), 0.875);
});

test('shift interval is fast on 20 000 points per arm (merging, not n·m pairs)', () => {
  const x = Array.from({ length: 20000 }, (_, i) => Math.sin(i) * 10 + 1);
  const y = Array.from({ length: 20000 }, (_, i) => Math.cos(i * 1.3) * 10);
  const r = wilcoxonShiftInterval(x, y, 0.98);
  assert.ok(r.lower < r.estimate && r.estimate < r.upper);
});
