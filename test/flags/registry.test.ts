import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createFlagRegistry } from '../../src/flags/registry.ts';
import { loadFlagSet } from '../../src/flags/load.ts';
import type { FlagChange } from '../../src/flags/registry.ts';

function load(flags: Record<string, unknown>, metadata?: Record<string, unknown>) {
  const r = loadFlagSet(metadata ? { flags, metadata } : { flags });
  assert.ok(r.ok);
  return r.set;
}

test('registry: versions, atomic replace, change events with changed keys, typed resolvers with the clock', () => {
  let now = 1_000_000;
  const reg = createFlagRegistry({ clock: () => now });
  assert.equal(reg.version, 0);
  assert.equal(reg.resolveBoolean('a', true).errorCode, 'FLAG_NOT_FOUND');
  const changes: FlagChange[] = [];
  const off = reg.onChange((c) => changes.push(c));
  reg.onChange(() => { throw new Error('a bad listener'); });

  const v1 = load({ a: { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'on' }, b: { state: 'ENABLED', variants: { x: 'X' }, defaultVariant: 'x' } });
  assert.equal(reg.replace(v1), true);
  assert.equal(reg.version, 1);
  assert.equal(reg.etag, '"flags-1"');
  assert.deepEqual(changes.map((c) => c.changed), [['a', 'b']]);

  assert.equal(reg.replace(load({ a: { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'on' }, b: { state: 'ENABLED', variants: { x: 'X' }, defaultVariant: 'x' } })), false, 'same content is no change');
  assert.equal(reg.version, 1);

  now = 2_000_000;
  reg.replace(load({ a: { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'off' }, c: { state: 'ENABLED', variants: { n: 1 }, defaultVariant: 'n' } }));
  assert.deepEqual(changes[1].changed, ['a', 'b', 'c']);
  assert.equal(changes[1].version, 2);
  assert.equal(reg.updatedAt, 2_000_000);
  assert.equal(reg.resolveBoolean('a', true).value, false);
  assert.equal(reg.resolveNumber('c', 0).value, 1);
  assert.equal(reg.resolveString('c', 'd').errorCode, 'TYPE_MISMATCH');
  assert.deepEqual(reg.evaluateAll().map(([k]) => k), ['a', 'c']);

  reg.replace(load({ a: { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'off' }, c: { state: 'ENABLED', variants: { n: 1 }, defaultVariant: 'n' } }, { env: 'x' }));
  assert.equal(reg.version, 3, 'metadata changes are changes');
  off();
  reg.replace(load({}));
  assert.equal(changes.length, 3);
});
