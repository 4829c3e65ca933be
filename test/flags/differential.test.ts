import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlagdCore } from '@openfeature/flagd-core';
import type { EvaluationContext, FlagValueType, Logger } from '@openfeature/core';
import { loadFlagSet, formatFlagIssues } from '../../src/flags/load.ts';
import { resolveTyped } from '../../src/flags/evaluate.ts';
import type { FlagType, FlagValue, TypedResolution } from '../../src/flags/types.ts';
import type { ResolutionDetails } from '@openfeature/core';
import { context, flagSet, pick, rng } from './gen.ts';

const quiet: Logger = { error() {}, warn() {}, info() {}, debug() {} };
const DEFAULTS: Record<FlagType, FlagValue> = { boolean: false, string: 'code-default', number: -1, object: { code: 'default' } };

test('agrees with @openfeature/flagd-core on value, variant, reason and error code over seeded random flag sets', () => {
  const r = rng(Number(process.env.WEIR_FLAGS_SEED ?? 20261123));
  let compared = 0;
  const reasons = new Map<string, number>();
  for (let s = 0; s < 150; s++) {
    const doc = flagSet(r, 6);
    const loaded = loadFlagSet(doc, `gen-${s}`);
    assert.ok(loaded.ok, loaded.ok ? '' : formatFlagIssues(loaded.errors));
    const core = new FlagdCore(undefined, quiet);
    core.setConfigurations(JSON.stringify(doc));
    const now = Date.now();
    for (let c = 0; c < 25; c++) {
      const ctx = context(r);
      for (const key of Object.keys(doc.flags)) {
        const own: { type: FlagType } = loaded.set.flags.get(key)!;
        // mostly the flag's own type; sometimes another, to exercise TYPE_MISMATCH
        const type: FlagType = r() < 0.85 ? own.type : pick(r, ['boolean', 'string', 'number', 'object'] as const);
        const mine: TypedResolution<FlagValue> = resolveTyped(loaded.set, key, type, DEFAULTS[type], ctx, now);
        const theirs: ResolutionDetails<FlagValue> = core.resolve(type as FlagValueType, key, DEFAULTS[type], ctx as EvaluationContext);
        const where = `set ${s} flag ${key} (${type}) ctx ${JSON.stringify(ctx)}\nrule ${JSON.stringify((doc.flags[key] as { targeting?: unknown }).targeting)}`;
        assert.deepEqual(mine.value, theirs.value, `value: ${where}`);
        assert.equal(mine.reason, theirs.reason, `reason: ${where}`);
        assert.equal(mine.errorCode, theirs.errorCode, `errorCode: ${where}`);
        // flagd's Go core keeps the variant on TYPE_MISMATCH; the JS core drops it (docs/flags.md)
        if (mine.reason !== 'ERROR') assert.equal(mine.variant, theirs.variant, `variant: ${where}`);
        assert.deepEqual(mine.flagMetadata, theirs.flagMetadata, `metadata: ${where}`);
        reasons.set(mine.reason + (mine.errorCode ? `/${mine.errorCode}` : ''), (reasons.get(mine.reason + (mine.errorCode ? `/${mine.errorCode}` : '')) ?? 0) + 1);
        compared++;
      }
    }
  }
  assert.ok(compared > 20_000);
  // the generator must actually reach every outcome, or agreement proves little
  for (const k of ['STATIC', 'TARGETING_MATCH', 'DEFAULT', 'DISABLED', 'ERROR/GENERAL', 'ERROR/TYPE_MISMATCH']) {
    assert.ok((reasons.get(k) ?? 0) > 50, `too few ${k}: ${JSON.stringify([...reasons])}`);
  }
});

test('agrees with flagd-core on FLAG_NOT_FOUND and flag-set metadata', () => {
  const doc = { flags: { a: { state: 'ENABLED', variants: { on: true }, defaultVariant: 'on' } }, metadata: { flagSetId: 'x' } };
  const loaded = loadFlagSet(doc);
  assert.ok(loaded.ok);
  const core = new FlagdCore(undefined, quiet);
  core.setConfigurations(JSON.stringify(doc));
  const mine = resolveTyped(loaded.set, 'nope', 'boolean', true, {}, Date.now());
  const theirs = core.resolveBooleanEvaluation('nope', true, {});
  assert.equal(mine.errorCode, theirs.errorCode);
  assert.equal(mine.reason, theirs.reason);
  assert.equal(mine.value, theirs.value);
  assert.deepEqual(mine.flagMetadata, theirs.flagMetadata);
});
