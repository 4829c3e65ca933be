import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OpenFeature, ProviderEvents } from '@openfeature/server-sdk';
import type { EventDetails } from '@openfeature/server-sdk';
import { WeirFlagProvider } from '../../src/flags/provider.ts';
import { createFlagRegistry } from '../../src/flags/registry.ts';
import { loadFlagSet } from '../../src/flags/load.ts';

function set(flags: Record<string, unknown>) {
  const r = loadFlagSet({ flags, metadata: { flagSetId: 'app' } });
  assert.ok(r.ok);
  return r.set;
}

test('in-process provider: ready on the first flag set, local evaluation, CONFIGURATION_CHANGED with changed keys', async (t) => {
  const registry = createFlagRegistry({ clock: () => 1_700_000_000_000 });
  const provider = new WeirFlagProvider(registry);
  t.after(() => OpenFeature.clearProviders());
  const ready = new Promise<void>((resolve) => OpenFeature.getClient('local').addHandler(ProviderEvents.Ready, () => resolve()));
  const changed: EventDetails[] = [];
  OpenFeature.getClient('local').addHandler(ProviderEvents.ConfigurationChanged, (d) => { if (d) changed.push(d); });
  void OpenFeature.setProvider('local', provider);

  registry.replace(set({
    'new-checkout': { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'off',
      targeting: { if: [{ ends_with: [{ var: 'email' }, '@example.com'] }, 'on'] } },
    limit: { state: 'ENABLED', variants: { low: 10, high: 100 }, defaultVariant: 'high' },
    layout: { state: 'ENABLED', variants: { a: { columns: 2 } }, defaultVariant: 'a' },
    retired: { state: 'DISABLED', variants: { on: true }, defaultVariant: 'on' },
  }));
  await ready;
  const client = OpenFeature.getClient('local');
  const on = await client.getBooleanDetails('new-checkout', false, { targetingKey: 'u', email: 'a@example.com' });
  assert.deepEqual([on.value, on.variant, on.reason, on.errorCode], [true, 'on', 'TARGETING_MATCH', undefined]);
  assert.deepEqual(on.flagMetadata, { flagSetId: 'app' });
  assert.equal(await client.getNumberValue('limit', 0), 100);
  assert.deepEqual(await client.getObjectValue('layout', {}), { columns: 2 });
  const retired = await client.getBooleanDetails('retired', false);
  assert.deepEqual([retired.value, retired.reason], [false, 'DISABLED']);
  const missing = await client.getStringDetails('nope', 'd');
  assert.deepEqual([missing.value, missing.errorCode], ['d', 'FLAG_NOT_FOUND']);
  const mismatch = await client.getStringDetails('limit', 'd');
  assert.deepEqual([mismatch.value, mismatch.errorCode], ['d', 'TYPE_MISMATCH']);

  registry.replace(set({
    'new-checkout': { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'on' },
    limit: { state: 'ENABLED', variants: { low: 10, high: 100 }, defaultVariant: 'high' },
  }));
  assert.equal(changed.length, 1);
  assert.deepEqual(changed[0].flagsChanged, ['layout', 'new-checkout', 'retired']);
  assert.equal(await client.getBooleanValue('new-checkout', false, { email: 'x@y.z' }), true);

  await OpenFeature.clearProviders();
  registry.replace(set({}));
  assert.equal(changed.length, 1, 'a closed provider no longer listens');
});
