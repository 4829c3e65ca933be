import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUCKETS, bucketOf, chooseVersion, compileSplit, cookieValue } from '../../src/proxy/split.ts';
import { table } from './helpers.ts';
import { createRandom } from '../../src/stats/random.ts';

function svc(weights: Record<string, number>, extra: object = {}) {
  return table({ services: { shop: { match: { pathPrefix: '/' }, versions: { stable: 'http://127.0.0.1:1', canary: 'http://127.0.0.1:2' }, weights, stickyBy: 'header:x-user-id', ...extra } } }).services[0];
}

test('sticky split proportions are within 5 standard deviations of the weights', () => {
  const split = compileSplit(svc({ stable: 95, canary: 5 }));
  const n = 100_000;
  let canary = 0;
  for (let i = 0; i < n; i++) {
    if (chooseVersion(split, { headers: { 'x-user-id': `user-${i}` }, url: '/', clientIp: '' }, Math.random).version === 'canary') canary++;
  }
  const sd = Math.sqrt(n * 0.05 * 0.95);
  assert.ok(Math.abs(canary - n * 0.05) < 5 * sd, `canary got ${canary} of ${n}, expected ${n * 0.05} ± ${5 * sd}`);
});

test('random split (no sticky key) follows the weights', () => {
  const split = compileSplit(svc({ stable: 70, canary: 30 }, { stickyBy: 'none' }));
  const rng = createRandom(42);
  const rnd = () => rng.uniform();
  const n = 50_000;
  let canary = 0;
  for (let i = 0; i < n; i++) {
    const c = chooseVersion(split, { headers: {}, url: '/', clientIp: '' }, rnd);
    assert.equal(c.reason, 'random');
    if (c.version === 'canary') canary++;
  }
  const sd = Math.sqrt(n * 0.3 * 0.7);
  assert.ok(Math.abs(canary - n * 0.3) < 5 * sd, `canary ${canary}`);
});

test('the same key always gets the same version, and raising the weight only moves users onto the canary', () => {
  const weights = [1, 5, 10, 25, 50, 75, 100];
  let previous = new Set<string>();
  for (const w of weights) {
    const split = compileSplit(svc({ stable: 100 - w, canary: w }));
    const onCanary = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const key = `u${i}`;
      const a = chooseVersion(split, { headers: { 'x-user-id': key }, url: '/', clientIp: '' }, Math.random);
      const b = chooseVersion(split, { headers: { 'x-user-id': key }, url: '/', clientIp: '' }, Math.random);
      assert.equal(a.version, b.version, 'sticky');
      assert.equal(a.reason, 'weight');
      if (a.version === 'canary') onCanary.add(key);
    }
    for (const k of previous) assert.ok(onCanary.has(k), `${k} was on the canary at a lower weight but left it at ${w}%`);
    previous = onCanary;
  }
  assert.equal(previous.size, 20_000);
});

test('weight 0 is deployed but unreleased: no live request reaches it', () => {
  const split = compileSplit(svc({ stable: 100, canary: 0 }));
  for (let i = 0; i < 10_000; i++) {
    assert.equal(chooseVersion(split, { headers: { 'x-user-id': `k${i}` }, url: '/', clientIp: '' }, Math.random).version, 'stable');
  }
});

test('cohorts route matching users before the weights, in order', () => {
  const split = compileSplit(svc({ stable: 100, canary: 0 }, {
    cohorts: [
      { match: { header: 'x-user-id', prefix: 'internal-' }, version: 'canary' },
      { match: { cookie: 'beta', in: ['yes', 'true'] }, version: 'canary' },
      { match: { header: 'x-plan', exact: 'enterprise' }, version: 'stable' },
    ],
  }));
  const pick = (headers: Record<string, string>) => chooseVersion(split, { headers, url: '/', clientIp: '' }, Math.random);
  assert.deepEqual([pick({ 'x-user-id': 'internal-7' }).version, pick({ 'x-user-id': 'internal-7' }).reason], ['canary', 'cohort']);
  assert.equal(pick({ 'x-user-id': 'bob', cookie: 'a=1; beta=yes' }).version, 'canary');
  assert.equal(pick({ 'x-user-id': 'bob', cookie: 'beta=no' }).reason, 'weight');
  assert.equal(pick({ 'x-plan': 'enterprise', 'x-user-id': 'internal-1' }).version, 'canary', 'first matching rule wins');
});

test('test tokens allow naming a version; without a valid token the override is ignored', () => {
  const split = compileSplit(svc({ stable: 100, canary: 0 }, { testTraffic: { tokens: ['tok-secret-1'] } }));
  const pick = (headers: Record<string, string>) => chooseVersion(split, { headers, url: '/', clientIp: '' }, Math.random);
  assert.deepEqual(pick({ 'x-weir-test-token': 'tok-secret-1', 'x-weir-version': 'canary' }), { version: 'canary', reason: 'test-override', traffic: 'test' });
  assert.equal(pick({ 'x-weir-test-token': 'tok-secret-1', cookie: 'weir-version=canary' }).version, 'canary');
  assert.equal(pick({ 'x-weir-test-token': 'wrong-token', 'x-weir-version': 'canary' }).version, 'stable');
  assert.equal(pick({ 'x-weir-version': 'canary' }).version, 'stable');
  assert.equal(pick({ 'x-weir-test-token': 'tok-secret-1' }).traffic, 'test', 'a valid token marks test traffic even without an override');
  assert.equal(pick({ 'x-weir-test-token': 'tok-secret-1', 'x-weir-version': 'nope' }).version, 'stable');
});

test('sticky by cookie, query and ip', () => {
  for (const [stickyBy, input] of [
    ['cookie:sid', { headers: { cookie: 'x=1; sid=abc' }, url: '/', clientIp: '' }],
    ['query:user', { headers: {}, url: '/p?user=abc&z=1', clientIp: '' }],
    ['ip', { headers: {}, url: '/', clientIp: '10.1.2.3' }],
  ] as const) {
    const split = compileSplit(svc({ stable: 50, canary: 50 }, { stickyBy }));
    const c = chooseVersion(split, input, Math.random);
    assert.equal(c.reason, 'weight', stickyBy);
    assert.ok(c.bucket !== undefined && c.bucket >= 0 && c.bucket < BUCKETS);
  }
  assert.equal(cookieValue('a=1; b="quoted"; c=3', 'b'), 'quoted');
  assert.equal(cookieValue('a=1', 'z'), undefined);
  let same = 0;
  for (let i = 0; i < 1000; i++) if (bucketOf('shop', `u${i}`) === bucketOf('cart', `u${i}`)) same++;
  assert.ok(same < 10, 'services bucket independently (salted by service name)');
});
