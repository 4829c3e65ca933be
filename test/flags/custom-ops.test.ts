import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bucketOf, fractional, semVerOp } from '../../src/flags/logic/custom.ts';
import { murmur3, murmur3Bytes } from '../../src/util/murmur3.ts';
import { loadFlagSet } from '../../src/flags/load.ts';
import { evaluateFlag } from '../../src/flags/evaluate.ts';

const env = (ctx: Record<string, unknown> = {}, flagKey = 'headerColor') => ({ ctx, flagKey, timestamp: 0 });

test('murmur3: reference vectors and UTF-8 bytes (as flagd Go hashes strings)', () => {
  assert.equal(murmur3(''), 0);
  assert.equal(murmur3('hello'), 0x248bfa47);
  assert.equal(murmur3('The quick brown fox jumps over the lazy dog'), 0x2e4ff723);
  for (const s of ['ünïcödé', '日本語のキー', 'x'.repeat(300) + 'é', '🙂user']) {
    assert.equal(murmur3(s), murmur3Bytes(new TextEncoder().encode(s)), s);
  }
});

test('bucketOf equals (hash × total) >> 32 computed with BigInt', () => {
  const hashes = [0, 1, 0xffffffff, 0x80000000, 0x12345678, 0xdeadbeef];
  const totals = [1, 2, 3, 100, 2147483647, 65537];
  for (const h of hashes) for (const t of totals) {
    assert.equal(bucketOf(h, t), Number((BigInt(h) * BigInt(t)) >> 32n), `${h} ${t}`);
  }
});

test('fractional: vectors from flagd Go core tests (headerColor, custom seed)', () => {
  const doc = {
    flags: {
      headerColor: {
        state: 'ENABLED', defaultVariant: 'red',
        variants: { red: '#FF0000', blue: '#0000FF', green: '#00FF00', yellow: '#FFFF00' },
        targeting: { if: [{ in: ['@faas.com', { var: ['email'] }] },
          { fractional: [{ cat: [{ var: '$flagd.flagKey' }, { var: 'email' }] }, ['red', 25], ['blue', 25], ['green', 25], ['yellow', 25]] }, null] },
      },
      customSeededHeaderColor: {
        state: 'ENABLED', defaultVariant: 'red',
        variants: { red: '#FF0000', blue: '#0000FF', green: '#00FF00', yellow: '#FFFF00' },
        targeting: { if: [{ in: ['@faas.com', { var: ['email'] }] },
          { fractional: [{ cat: ['my-seed', { var: 'email' }] }, ['red', 25], ['blue', 25], ['green', 25], ['yellow', 25]] }, null] },
      },
    },
  };
  const r = loadFlagSet(doc);
  assert.ok(r.ok);
  const expect = (flag: string, email: string, variant: string) => {
    const out = evaluateFlag(r.set, flag, { email }, 0);
    assert.equal(out.variant, variant, `${flag} ${email}`);
    assert.equal(out.reason, 'TARGETING_MATCH');
  };
  expect('headerColor', 'rachel@faas.com', 'blue');
  expect('headerColor', 'monica@faas.com', 'yellow');
  expect('headerColor', 'joey@faas.com', 'red');
  expect('headerColor', 'ross@faas.com', 'blue');
  expect('customSeededHeaderColor', 'rachel@faas.com', 'green');
  expect('customSeededHeaderColor', 'monica@faas.com', 'red');
  expect('customSeededHeaderColor', 'joey@faas.com', 'blue');
  expect('customSeededHeaderColor', 'ross@faas.com', 'green');
});

test('fractional edge cases follow flagd Go core', () => {
  const tk = env({ targetingKey: 'user-1' });
  // no bucketing value: flagKey + targetingKey
  assert.equal(fractional([['a', 1], ['b', 0]], tk), 'a');
  // missing targetingKey, empty or non-string targetingKey: null
  assert.equal(fractional([['a', 1]], env({})), null);
  assert.equal(fractional([['a', 1]], env({ targetingKey: '' })), null);
  assert.equal(fractional([['a', 1]], env({ targetingKey: 7 })), null);
  // a null first argument (bucketing var that is missing) is skipped, targetingKey is used (Go; JS core returns null)
  assert.equal(fractional([null, ['a', 1]], tk), 'a');
  // weight defaults to 1, null weight is 1, negative weights clamp to 0, fractional weights are invalid
  assert.equal(fractional(['k', ['a'], ['b', 0]], tk), 'a');
  assert.equal(fractional(['k', ['a', null], ['b', 0]], tk), 'a');
  assert.equal(fractional(['k', ['a', -5], ['b', 3]], tk), 'b');
  assert.equal(fractional(['k', ['a', 1.5]], tk), null);
  // all-zero weights, weight sum above int32, bad entries: null
  assert.equal(fractional(['k', ['a', 0]], tk), null);
  assert.equal(fractional(['k', ['a', 2147483647], ['b', 1]], tk), null);
  assert.equal(fractional(['k', 'a'], tk), null);
  assert.equal(fractional(['k', []], tk), null);
  assert.equal(fractional(['k', [{}, 1]], tk), null);
  assert.equal(fractional([], tk), null);
  // non-string variants are allowed (booleans map to "true"/"false" variants)
  assert.equal(fractional(['k', [true, 1]], tk), true);
  // an even split is roughly even
  const counts = { a: 0, b: 0 };
  for (let i = 0; i < 10_000; i++) counts[fractional([`user-${i}`, ['a', 50], ['b', 50]], tk) as 'a' | 'b']++;
  assert.ok(Math.abs(counts.a - 5000) < 300, JSON.stringify(counts));
});

test('sem_ver: operators, shorthand versions, v prefix, pre-releases; invalid input gives null', () => {
  const yes: [unknown, string, unknown][] = [
    ['1.1.2', '>=', '1.0.0'], ['v1.0.0', '=', '1.0.0'], ['V1.0.0', '=', 'v1.0.0'], ['1.2', '=', '1.2.0'], ['1', '<', '1.0.1'],
    ['1.0.0-alpha', '<', '1.0.0'], ['1.0.0-alpha.1', '<', '1.0.0-alpha.beta'], ['1.0.0-beta.2', '<', '1.0.0-beta.11'],
    ['1.0.0+build.1', '=', '1.0.0'], ['2.3.4', '^', '2.0.0'], ['2.3.4', '~', '2.3.0'], ['1.0.0', '!=', '1.0.1'],
    ['10.0.0', '>', '9.9.9'], [3, '=', '3.0.0'],
  ];
  for (const [a, op, b] of yes) assert.equal(semVerOp(a, op, b), true, `${a} ${op} ${b}`);
  assert.equal(semVerOp('2.3.4', '~', '2.4.0'), false);
  assert.equal(semVerOp('3.0.0', '^', '2.0.0'), false);
  for (const [a, op, b] of [['1.2.3.4', '=', '1.2.3'], ['01.0.0', '=', '1.0.0'], ['1.2-pre', '=', '1.2.0'], ['x', '<', '1.0.0'],
    ['1.0.0', '=>', '1.0.0'], [null, '=', '1.0.0'], [true, '=', '1.0.0'], ['1.0.0', 1, '1.0.0']] as [unknown, unknown, unknown][]) {
    assert.equal(semVerOp(a, op, b), null, `${a} ${op} ${b}`);
  }
});
