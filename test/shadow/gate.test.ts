import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admitCopy, copyOutcome, copyPaused, newCounters, releaseCopy, sampled, takeToken } from '../../src/proxy/shadow/gate.ts';
import { shadowHeaders, withShadowSuffix } from '../../src/proxy/shadow/shadow.ts';
import { shadowRouteOf, shadowSchema } from '../../src/proxy/shadow/config.ts';

test('token bucket: a burst of one second, then the rate, with the clock passed in', () => {
  const b = { tokens: 2, at: 0 };
  assert.equal(takeToken(b, 0, 2, 2), true);
  assert.equal(takeToken(b, 0, 2, 2), true);
  assert.equal(takeToken(b, 0, 2, 2), false);
  assert.equal(takeToken(b, 499, 2, 2), false);
  assert.equal(takeToken(b, 500, 2, 2), true);
  assert.equal(takeToken(b, 10_000, 2, 2), true, 'saved tokens are capped at the burst');
  assert.equal(takeToken(b, 10_000, 2, 2), true);
  assert.equal(takeToken(b, 10_000, 2, 2), false);
});

test('admission counts every refusal by reason and every copy in flight', () => {
  const c = newCounters();
  const b = { tokens: 0, at: 0 };
  assert.equal(admitCopy(c, b, { maxConcurrent: 1, maxRps: 0 }, 0), null);
  assert.equal(admitCopy(c, b, { maxConcurrent: 1, maxRps: 0 }, 0), 'concurrency');
  releaseCopy(c, true);
  assert.equal(admitCopy(c, b, { maxConcurrent: 5, maxRps: 1 }, 0), 'rate');
  assert.deepEqual([c.sampled, c.sent, c.completed, c.inflight, c.dropped.concurrency, c.dropped.rate], [3, 1, 1, 0, 1, 1]);
  let draws = 0;
  assert.equal(sampled(100, () => { draws++; return 0.99; }), true);
  assert.equal(draws, 0, '100% needs no draw');
  assert.equal(sampled(0, () => 0), false);
  assert.equal(sampled(10, () => 0.05), true);
  assert.equal(sampled(10, () => 0.1), false);
});

test('copy health: the fifth failure in a row pauses copies for the cool-down; a success resets the run', () => {
  const h = { failures: 0, until: 0 };
  for (let i = 0; i < 4; i++) copyOutcome(h, false, 0);
  copyOutcome(h, true, 0);
  for (let i = 0; i < 4; i++) copyOutcome(h, false, 0);
  assert.equal(copyPaused(h, 0), false);
  copyOutcome(h, false, 100);
  assert.equal(copyPaused(h, 1099), true);
  assert.equal(copyPaused(h, 1100), false);
});

test('shadow headers: user credentials out, the shadow\'s in, x-weir-shadow once, Host suffix before the port', () => {
  const r = shadowRouteOf(shadowSchema.parse({ version: 'next', credentials: { cookie: 'sid=shadow' }, headers: { remove: ['X-Secret'], set: { 'X-Env': 'shadow' } }, hostSuffix: true }));
  const out = shadowHeaders(['Host', 'shop.example:8080', 'Authorization', 'Bearer user', 'Cookie', 'sid=user', 'x-secret', 's', 'x-weir-shadow', '0', 'accept', '*/*'], r);
  assert.deepEqual(out, ['Host', 'shop.example-shadow:8080', 'accept', '*/*', 'x-env', 'shadow', 'cookie', 'sid=shadow', 'x-weir-shadow', '1']);
  assert.equal(withShadowSuffix('[::1]'), '[::1]-shadow');
  assert.equal(withShadowSuffix('[::1]:80'), '[::1]-shadow:80');
  assert.equal(withShadowSuffix('shop'), 'shop-shadow');
});
