import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyAdmitted, copyOutcome, copyPaused } from '../../src/proxy/shadow/gate.ts';
import type { CopyHealth } from '../../src/proxy/shadow/gate.ts';

// The copy breaker (shadow traffic): regression for a hanging shadow that cost a new connection per
// copy, every timeout period, and stalled users' requests while the connections churned.

function fail(h: CopyHealth, n: number, now: number): void {
  for (let i = 0; i < n; i++) copyOutcome(h, false, now);
}

test('copy breaker: after a pause one probe goes out alone; its failure doubles the pause, up to 30 s', () => {
  const h: CopyHealth = { failures: 0, until: 0 };
  fail(h, 5, 0);
  assert.equal(copyPaused(h, 999), true);
  assert.equal(copyPaused(h, 1000), false);
  copyAdmitted(h); // the probe
  assert.equal(copyPaused(h, 1000), true, 'others wait for the probe');
  copyOutcome(h, false, 3000); // the probe timed out
  assert.equal(copyPaused(h, 4999), true);
  assert.equal(copyPaused(h, 5000), false, 'second pause: 2 s');
  let now = 5000;
  for (let i = 0; i < 10; i++) {
    copyAdmitted(h);
    copyOutcome(h, false, now);
    now = h.until;
  }
  copyAdmitted(h);
  const before = now;
  copyOutcome(h, false, before);
  assert.equal(h.until - before, 30_000, 'capped');
});

test('copy breaker: failures of copies already out during a pause do not lengthen it; a success closes it', () => {
  const h: CopyHealth = { failures: 0, until: 0 };
  fail(h, 5, 0);
  fail(h, 250, 10); // the rest of a burst of hung copies timing out together
  assert.equal(h.until, 1000);
  assert.equal(h.strikes, 1);
  copyAdmitted(h);
  copyOutcome(h, true, 1200);
  assert.equal(copyPaused(h, 1200), false);
  copyAdmitted(h);
  assert.equal(copyPaused(h, 1200), false, 'no probing once closed');
  fail(h, 4, 1300);
  assert.equal(copyPaused(h, 1300), false, 'the run starts again from zero');
  fail(h, 1, 1300);
  assert.equal(h.until, 2300, 'and the first pause is short again');
});
