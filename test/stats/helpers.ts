import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

/** Asserts |actual − expected| ≤ abs + rel·|expected| (NaN equals NaN, infinities must match). */
export function assertClose(actual: number, expected: number, rel = 1e-10, abs = 0, label = ''): void {
  if (Number.isNaN(expected)) {
    assert.ok(Number.isNaN(actual), `${label}: expected NaN, got ${actual}`);
    return;
  }
  if (!Number.isFinite(expected)) {
    assert.equal(actual, expected, label);
    return;
  }
  const tol = abs + rel * Math.abs(expected);
  assert.ok(
    Math.abs(actual - expected) <= tol,
    `${label}: got ${actual}, expected ${expected} (diff ${Math.abs(actual - expected)}, tol ${tol})`,
  );
}

/** The SciPy fixtures written by scripts/stats-fixtures.py. */
// The file is generated; its shape is checked by the tests that read it.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const fixtures: any = JSON.parse(readFileSync(new URL('./fixtures.json', import.meta.url), 'utf8'));
