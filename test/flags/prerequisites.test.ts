// Pure parts: prerequisites (load, set checks, evaluation), the stale report, the edge closure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkFlagSet, loadFlagSet } from '../../src/flags/load.ts';
import { evaluateFlag } from '../../src/flags/evaluate.ts';
import { createFlagUsageCounter, staleFlags } from '../../src/flags/usage.ts';
import { flagClosure } from '../../src/flags/edge.ts';
import type { CompiledFlagSet } from '../../src/flags/types.ts';
import type { FlagUsage } from '../../src/store/types.ts';

const bool = (extra: object = {}) => ({ state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'off', ...extra });

function load(flags: object): CompiledFlagSet {
  const r = loadFlagSet({ flags });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.set;
}

test('prerequisites: shape errors carry paths; unknown flags, unknown variants and cycles are set-level issues', () => {
  const bad = loadFlagSet({ flags: { a: bool({ prerequisites: [{ flag: 'b' }, 'x', { flag: 'b', variants: ['on'], extra: 1 }] }) } });
  assert.equal(bad.ok, false);
  assert.deepEqual(!bad.ok && bad.errors.map((e) => e.path), ['flags.a.prerequisites[0].variants', 'flags.a.prerequisites[1]', 'flags.a.prerequisites[2].extra']);
  const set = load({ a: bool({ prerequisites: [{ flag: 'nope', variants: ['on'] }, { flag: 'b', variants: ['maybe'] }] }), b: bool() });
  assert.deepEqual(checkFlagSet(set).map((i) => i.path), ['flags.a.prerequisites[0].flag', 'flags.a.prerequisites[1].variants']);
  const cyc = load({ a: bool({ prerequisites: [{ flag: 'b', variants: ['on'] }] }), b: bool({ prerequisites: [{ flag: 'c', variants: ['on'] }] }), c: bool({ prerequisites: [{ flag: 'a', variants: ['on'] }] }) });
  const issues = checkFlagSet(cyc);
  assert.equal(issues.length, 1);
  assert.match(issues[0].message, /cycle: a → b → c → a/);
});

test('prerequisites: met → own targeting; unmet (wrong variant, disabled, missing) → defaultVariant with reason DEFAULT', () => {
  const set = load({
    gate: bool({ targeting: { if: [{ '==': [{ var: 'plan' }, 'pro'] }, 'on'] } }),
    off: { ...bool(), state: 'DISABLED' },
    child: bool({ defaultVariant: 'off', targeting: { if: [true, 'on'] }, prerequisites: [{ flag: 'gate', variants: ['on'] }] }),
    nodefault: { state: 'ENABLED', variants: { x: 'x' }, prerequisites: [{ flag: 'off', variants: ['on'] }] },
  });
  assert.deepEqual(checkFlagSet(set), []);
  const met = evaluateFlag(set, 'child', { plan: 'pro' }, 0);
  assert.deepEqual([met.value, met.variant, met.reason], [true, 'on', 'TARGETING_MATCH']);
  const unmet = evaluateFlag(set, 'child', { plan: 'free' }, 0);
  assert.deepEqual([unmet.value, unmet.variant, unmet.reason], [false, 'off', 'DEFAULT']);
  const nd = evaluateFlag(set, 'nodefault', {}, 0);
  assert.deepEqual([nd.value, nd.variant, nd.reason], [undefined, undefined, 'DEFAULT']);
  assert.match(JSON.stringify(set.flags.get('child')?.definition), /"prerequisites"/);
});

test('stale report: never evaluated, too long ago, one variant only; counters drain and re-add', () => {
  const set = load({ a: bool(), b: bool(), c: bool(), d: bool() });
  const day = 86_400_000;
  const now = 100 * day;
  const usage: FlagUsage[] = [
    { key: 'b', variants: { on: 3 }, lastEvaluatedAt: now - 40 * day },
    { key: 'c', variants: { on: 3 }, lastEvaluatedAt: now - day },
    { key: 'd', variants: { on: 3 }, lastEvaluatedAt: now - day },
    { key: 'd', variants: { off: 1 }, lastEvaluatedAt: now - 2 * day },
  ];
  assert.deepEqual(staleFlags(set, usage, 30, now).map((f) => [f.key, f.reason, f.lastEvaluatedAt]), [
    ['a', 'not-evaluated', null], ['b', 'not-evaluated', now - 40 * day], ['c', 'single-variant', now - day],
  ]);
  const c = createFlagUsageCounter(() => 7);
  c.record('a', 'on');
  c.record('a', undefined);
  c.add([{ key: 'a', variants: { on: 2 }, lastEvaluatedAt: 9 }]);
  assert.deepEqual(c.drain(), [{ key: 'a', variants: { on: 3, '': 1 }, lastEvaluatedAt: 9 }]);
  assert.deepEqual(c.drain(), []);
});

test('edge: a service gets its flag and the prerequisites it needs, nothing else', () => {
  const all = { a: bool({ prerequisites: [{ flag: 'b', variants: ['on'] }] }), b: bool({ prerequisites: [{ flag: 'c', variants: ['on'] }] }), c: bool(), z: bool() };
  assert.deepEqual(Object.keys(flagClosure('a', all)).sort(), ['a', 'b', 'c']);
  assert.deepEqual(flagClosure('missing', all), {});
});
