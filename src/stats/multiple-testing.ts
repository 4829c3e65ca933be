/**
 * Multiple-testing adjustments of p-values, returned in the input order.
 */

function order(pValues: readonly number[]): number[] {
  return pValues.map((_, i) => i).sort((a, b) => pValues[a] - pValues[b]);
}

/**
 * Holm's step-down adjustment (controls the family-wise error rate):
 * p̃_(i) = max_{j ≤ i} min(1, (m − j + 1)·p_(j)).
 * @example
 * holm([0.01, 0.04, 0.03]); // [0.03, 0.06, 0.06]
 */
export function holm(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const idx = order(pValues);
  const out = new Array<number>(m);
  let running = 0;
  idx.forEach((i, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * pValues[i]));
    out[i] = running;
  });
  return out;
}

/**
 * Benjamini–Hochberg step-up adjustment (controls the false discovery rate), as
 * `scipy.stats.false_discovery_control(p, method='bh')`: p̃_(i) = min_{j ≥ i} min(1, m·p_(j)/j).
 * @example
 * benjaminiHochberg([0.01, 0.04, 0.03]); // [0.03, 0.04, 0.04]
 */
export function benjaminiHochberg(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const idx = order(pValues);
  const out = new Array<number>(m);
  let running = 1;
  for (let rank = m - 1; rank >= 0; rank--) {
    const i = idx[rank];
    running = Math.min(running, Math.min(1, (m * pValues[i]) / (rank + 1)));
    out[i] = running;
  }
  return out;
}
