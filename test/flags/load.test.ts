import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flagSetError, formatFlagIssues, loadFlagSet } from '../../src/flags/load.ts';
import { loadFlagSets, mergeFlagSets } from '../../src/flags/merge.ts';
import { evaluateFlag } from '../../src/flags/evaluate.ts';

test('loads YAML and JSON alike', () => {
  const yaml = `
flags:
  new-checkout:
    state: ENABLED
    variants: { "on": true, "off": false }
    defaultVariant: "off"
    targeting: { if: [{ ends_with: [{ var: email }, "@example.com"] }, "on"] }
metadata: { flagSetId: shop }
`;
  const a = loadFlagSet(yaml, 'flags.yaml');
  assert.ok(a.ok, a.ok ? '' : formatFlagIssues(a.errors));
  const b = loadFlagSet(JSON.stringify({
    flags: { 'new-checkout': { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'off',
      targeting: { if: [{ ends_with: [{ var: 'email' }, '@example.com'] }, 'on'] } } },
    metadata: { flagSetId: 'shop' },
  }), 'flags.json');
  assert.ok(b.ok);
  assert.equal(a.set.flags.get('new-checkout')!.fingerprint, b.set.flags.get('new-checkout')!.fingerprint);
  assert.deepEqual(a.set.sources, ['flags.yaml']);
});

test('reports every error, each with a precise path and what to do', () => {
  const r = loadFlagSet({
    flagz: {},
    flags: {
      'new-checkout': { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'blue' },
      broken: { state: 'on', variants: {}, targeting: 'x', metadata: { nested: { a: 1 } }, colour: 1 },
      mixed: { state: 'ENABLED', variants: { a: 1, b: 'two', c: [1], d: null } },
      'dotted.key': { state: 'DISABLED', variants: { x: 1 }, targeting: { if: [{ $ref: 'nope' }, 'x'] } },
    },
  }, 'shop.json');
  assert.equal(r.ok, false);
  if (r.ok) return;
  const text = formatFlagIssues(r.errors);
  const lines = text.split('\n');
  assert.ok(lines.includes('shop.json: flags.new-checkout.defaultVariant: "blue" is not one of the variants (on, off) — use one of them, or null to fall back to the code default'), text);
  for (const path of ['flagz', 'flags.broken.colour', 'flags.broken.state', 'flags.broken.variants', 'flags.broken.targeting',
    'flags.broken.metadata.nested', 'flags.mixed.variants.b', 'flags.mixed.variants.c', 'flags.mixed.variants.d',
    'flags["dotted.key"].targeting.if[0].$ref']) {
    assert.ok(r.errors.some((e) => e.path === path), `missing error at ${path}:\n${text}`);
  }
  assert.ok(r.errors.every((e) => e.source === 'shop.json'));
  const err = flagSetError(r.errors);
  assert.equal(err.code, 'CONFIG_INVALID');
  assert.equal(err.status, 400);
  assert.match(err.message, new RegExp(`^invalid flag set: flagz: unknown property .* \\(and ${r.errors.length - 1} more\\)$`));
  assert.equal(err.toJSON().error.details, r.errors);
});

test('syntax errors are reported, not thrown', () => {
  const j = loadFlagSet('{"flags": ', 'a.json');
  assert.equal(j.ok, false);
  if (!j.ok) assert.match(j.errors[0].message, /invalid JSON/);
  const y = loadFlagSet('flags:\n  a: [unclosed', 'a.yaml');
  assert.equal(y.ok, false);
  if (!y.ok) assert.match(y.errors[0].message, /invalid YAML/);
  const dup = loadFlagSet('flags:\n  a: 1\n  a: 2\n');
  assert.equal(dup.ok, false);
});

test('shared $evaluators are expanded; nested references and unknown ones are refused', () => {
  const ok = loadFlagSet({
    flags: {
      fibAlgo: { state: 'ENABLED', defaultVariant: 'recursive', variants: { recursive: 'recursive', binet: 'binet' },
        targeting: { if: [{ $ref: 'emailWithFaas' }, 'binet', null] } },
    },
    $evaluators: { emailWithFaas: { in: ['@faas.com', { var: ['email'] }] } },
  });
  assert.ok(ok.ok);
  assert.equal(evaluateFlag(ok.set, 'fibAlgo', { email: 'x@faas.com' }, 0).variant, 'binet');
  assert.equal(evaluateFlag(ok.set, 'fibAlgo', { email: 'x@other.com' }, 0).reason, 'DEFAULT');

  const nested = loadFlagSet({ flags: {}, $evaluators: { a: { '!': { $ref: 'b' } }, b: { var: 'x' }, empty: {} } });
  assert.equal(nested.ok, false);
  if (!nested.ok) assert.deepEqual(nested.errors.map((e) => e.path), ['$evaluators.a.!.$ref', '$evaluators.empty']);
});

test('a rule that references a big evaluator many times hits the node limit at load', () => {
  const big = { or: Array.from({ length: 500 }, (_, i) => ({ '==': [{ var: 'x' }, i] })) };
  const r = loadFlagSet({
    flags: { f: { state: 'ENABLED', variants: { on: true }, defaultVariant: 'on', targeting: { and: Array.from({ length: 100 }, () => ({ $ref: 'big' })) } } },
    $evaluators: { big },
  });
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(formatFlagIssues(r.errors), /flags\.f\.targeting: rule has more than 20000 nodes/);
});

test('flag metadata overlays flag-set metadata', () => {
  const r = loadFlagSet({ metadata: { team: 'ux', version: 1 }, flags: { f: { state: 'ENABLED', variants: { a: 'A' }, defaultVariant: 'a', metadata: { version: 17 } } } });
  assert.ok(r.ok);
  assert.deepEqual(evaluateFlag(r.set, 'f', {}, 0).flagMetadata, { team: 'ux', version: 17 });
});

test('merge: later file wins per flag key; set metadata merges; each flag keeps its file metadata', () => {
  const r = loadFlagSets([
    { source: 'base.yaml', text: 'metadata: { env: base, team: a }\nflags:\n  x: { state: ENABLED, variants: { a: 1 }, defaultVariant: a }\n  y: { state: ENABLED, variants: { a: 1 }, defaultVariant: a }\n' },
    { source: 'prod.json', text: JSON.stringify({ metadata: { env: 'prod' }, flags: { y: { state: 'ENABLED', variants: { b: 2 }, defaultVariant: 'b' } } }) },
  ]);
  assert.ok(r.ok);
  assert.equal(evaluateFlag(r.set, 'x', {}, 0).value, 1);
  assert.equal(evaluateFlag(r.set, 'y', {}, 0).value, 2);
  assert.deepEqual(r.set.metadata, { env: 'prod', team: 'a' });
  assert.deepEqual(evaluateFlag(r.set, 'x', {}, 0).flagMetadata, { env: 'base', team: 'a' });
  assert.equal(r.set.flags.get('y')!.source, 'prod.json');
  assert.deepEqual(r.set.sources, ['base.yaml', 'prod.json']);

  const bad = loadFlagSets([{ source: 'a.yaml', text: 'flags: 1' }, { source: 'b.yaml', text: 'nope: 1' }]);
  assert.equal(bad.ok, false);
  if (!bad.ok) assert.deepEqual(bad.errors.map((e) => e.source), ['a.yaml', 'b.yaml', 'b.yaml']);
  assert.equal(mergeFlagSets([]).flags.size, 0);
});

test('flagd flags-array form is accepted', () => {
  const r = loadFlagSet({ flags: [{ key: 'a', state: 'ENABLED', variants: { on: true }, defaultVariant: 'on' }] });
  assert.ok(r.ok);
  assert.equal(evaluateFlag(r.set, 'a', {}, 0).value, true);
});
