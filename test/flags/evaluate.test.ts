import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFlagSet } from '../../src/flags/load.ts';
import { evaluateFlag, resolveTyped } from '../../src/flags/evaluate.ts';
import type { CompiledFlagSet } from '../../src/flags/types.ts';

function set(flags: Record<string, unknown>): CompiledFlagSet {
  const r = loadFlagSet({ flags });
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
  return r.set;
}

const s = set({
  static: { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'on' },
  disabled: { state: 'DISABLED', variants: { on: true, off: false }, defaultVariant: 'on' },
  noDefault: { state: 'ENABLED', variants: { on: true, off: false } },
  nullDefault: { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: null },
  targeted: { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'off', targeting: { if: [{ '==': [{ var: 'tier' }, 'gold'] }, 'on', null] } },
  targetedNoDefault: { state: 'ENABLED', variants: { on: true, off: false }, targeting: { if: [{ '==': [{ var: 'tier' }, 'gold'] }, 'on', null] } },
  badVariant: { state: 'ENABLED', variants: { on: true }, defaultVariant: 'on', targeting: { cat: ['o', 'ff'] } },
  shorthand: { state: 'ENABLED', variants: { true: true, false: false }, defaultVariant: 'false', targeting: { ends_with: [{ var: 'email' }, '@example.com'] } },
  numeric: { state: 'ENABLED', variants: { 1: 'one', 2: 'two' }, defaultVariant: '1', targeting: { '+': [1, 1] } },
  obj: { state: 'ENABLED', variants: { a: { x: 1 } }, defaultVariant: 'a' },
  timed: { state: 'ENABLED', variants: { before: 'b', after: 'a' }, defaultVariant: 'before', targeting: { if: [{ '>=': [{ var: '$flagd.timestamp' }, 1_800_000_000] }, 'after', 'before'] } },
});

test('reasons as flagd defines them', () => {
  const e = (k: string, ctx: unknown = {}) => evaluateFlag(s, k, ctx, 0);
  assert.deepEqual(e('static'), { value: true, variant: 'on', reason: 'STATIC', flagMetadata: {} });
  assert.deepEqual(e('disabled'), { value: undefined, variant: undefined, reason: 'DISABLED', flagMetadata: {} });
  assert.deepEqual(e('noDefault'), { value: undefined, variant: undefined, reason: 'DEFAULT', flagMetadata: {} });
  assert.deepEqual(e('nullDefault'), { value: undefined, variant: undefined, reason: 'DEFAULT', flagMetadata: {} });
  assert.equal(e('targeted', { tier: 'gold' }).reason, 'TARGETING_MATCH');
  assert.deepEqual(e('targeted', { tier: 'free' }), { value: false, variant: 'off', reason: 'DEFAULT', flagMetadata: {} });
  assert.equal(e('targetedNoDefault', { tier: 'free' }).value, undefined);
  assert.equal(e('targetedNoDefault', { tier: 'free' }).reason, 'DEFAULT');
  const bad = e('badVariant');
  assert.equal(bad.reason, 'ERROR');
  assert.equal(bad.errorCode, 'GENERAL');
  assert.match(bad.errorMessage!, /"off", which is not a variant/);
  assert.equal(e('shorthand', { email: 'a@example.com' }).value, true);
  assert.equal(e('shorthand', { email: 'a@b.c' }).variant, 'false');
  assert.equal(e('numeric').value, 'two');
  assert.equal(e('missing').errorCode, 'FLAG_NOT_FOUND');
  assert.equal(e('targeted', 'not an object').errorCode, 'INVALID_CONTEXT');
  assert.equal(e('static', 'ignored without targeting').reason, 'STATIC');
});

test('$flagd.timestamp comes from the clock passed in', () => {
  assert.equal(evaluateFlag(s, 'timed', {}, 1_799_999_999_999).value, 'b');
  assert.equal(evaluateFlag(s, 'timed', {}, 1_800_000_000_000).value, 'a');
});

test('typed resolution: TYPE_MISMATCH, code default filled in', () => {
  assert.equal(resolveTyped(s, 'static', 'boolean', false, {}, 0).value, true);
  const mm = resolveTyped(s, 'static', 'string', 'dflt', {}, 0);
  assert.deepEqual([mm.value, mm.reason, mm.errorCode], ['dflt', 'ERROR', 'TYPE_MISMATCH']);
  assert.equal(resolveTyped(s, 'disabled', 'boolean', false, {}, 0).value, false);
  assert.equal(resolveTyped(s, 'noDefault', 'boolean', true, {}, 0).value, true);
  assert.deepEqual(resolveTyped(s, 'obj', 'object', {}, {}, 0).value, { x: 1 });
  assert.equal(resolveTyped(s, 'obj', 'number', 0, {}, 0).errorCode, 'TYPE_MISMATCH');
  assert.equal(resolveTyped(s, 'missing', 'number', 5, {}, 0).value, 5);
});

test('an evaluation never throws, even on hostile contexts', () => {
  const hostile: unknown[] = [
    { tier: { toString: null } }, Object.create(null), { tier: Symbol('x') }, { __proto__: { tier: 'gold' } },
    { email: 12 }, null, undefined, 42, [], JSON.parse('{"__proto__": {"tier": "gold"}}'),
  ];
  hostile.push(new Proxy({}, { getPrototypeOf() { throw new Error('trap'); } }));
  hostile.push(new Proxy({ tier: 'gold' }, { get() { throw new Error('trap'); } }));
  const clockThrows = () => { throw new Error('clock'); };
  assert.equal(evaluateFlag(s, 'timed', {}, clockThrows).errorCode, 'GENERAL');
  for (const ctx of hostile) {
    for (const k of s.flags.keys()) assert.doesNotThrow(() => evaluateFlag(s, k, ctx, 0));
  }
  assert.equal(evaluateFlag(s, 'targeted', JSON.parse('{"__proto__": {"tier": "gold"}}'), 0).reason, 'DEFAULT', 'a "__proto__" key is just data');
  assert.equal(evaluateFlag(s, 'targeted', { __proto__: { tier: 'gold' } }, 0).errorCode, 'INVALID_CONTEXT', 'class instances and odd prototypes are not contexts');
});
