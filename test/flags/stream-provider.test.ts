// createWeirProvider against a real control plane over loopback, through @openfeature/server-sdk:
// READY on the first set, CONFIGURATION_CHANGED on an API change, STALE while the control plane is away
// (last set still served), READY again after it returns; evaluations as OTel span events and Weir events.
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OpenFeature, ProviderEvents } from '@openfeature/server-sdk';
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { Context, ContextManager } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { request } from 'undici';
import { AsyncLocalStorage } from 'node:async_hooks';
import { startControl } from '../../src/runtime/control.ts';
import { createExposureShipper, createFlagEvaluationHook, createWeirProvider, parseFlagSetEvent } from '../../src/flags/provider.ts';
import { tempDir } from '../tmpdir.ts';

const TOKEN = 'provider-token-for-tests';

function until(pred: () => boolean | Promise<boolean>, what: string): Promise<void> {
  return (async () => {
    const deadline = Date.now() + 20_000;
    while (!(await pred())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
}

/** An AsyncLocalStorage context manager (what @opentelemetry/context-async-hooks does), small enough for a test. */
class AlsContextManager implements ContextManager {
  #als = new AsyncLocalStorage<Context>();
  active(): Context { return this.#als.getStore() ?? ROOT_CONTEXT; }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.#als.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(_ctx: Context, target: T): T { return target; }
  enable(): this { return this; }
  disable(): this { this.#als.disable(); return this; }
}

async function control(t: TestContext, dir: string, listen = '127.0.0.1:0') {
  const cp = await startControl({ configPath: join(dir, 'weir.yaml'), cwd: dir, env: { WEIR_ADMIN_TOKEN: TOKEN }, controlListen: listen });
  t.after(() => cp.close());
  cp.setReady(true);
  return cp;
}

test('parseFlagSetEvent refuses a set with a broken flag or an unknown prerequisite', () => {
  assert.equal(parseFlagSetEvent('{"flags":{"a":{"state":"ENABLED","variants":{"on":true},"defaultVariant":"on"}}}').ok, true);
  assert.equal(parseFlagSetEvent('nope').ok, false);
  assert.equal(parseFlagSetEvent('{"flags":{"a":{"state":"ENABLED","variants":{"on":true},"prerequisites":[{"flag":"b","variants":["on"]}]}}}').ok, false);
});

test('createWeirProvider: syncs over the stream, evaluates locally, READY → CONFIGURATION_CHANGED → STALE → READY; hook emits feature_flag.evaluation', async (t) => {
  const dir = tempDir('weir-provider-');
  writeFileSync(join(dir, 'flags.yaml'), 'flags:\n  new-checkout:\n    state: ENABLED\n    variants: { on: true, off: false }\n    defaultVariant: off\n    targeting:\n      if: [{ ends_with: [{ var: email }, "@example.com"] }, on]\n');
  writeFileSync(join(dir, 'weir.yaml'), 'control: { listen: 127.0.0.1:0 }\nevents: { accessLog: false }\nflags: { files: [flags.yaml] }\nservices:\n  shop:\n    match: { pathPrefix: / }\n    versions: { stable: http://127.0.0.1:9 }\n');
  let cp = await control(t, dir);
  const port = cp.controlAddress.port;
  const url = `http://127.0.0.1:${port}`;
  const seen: string[] = [];
  const provider = createWeirProvider({ url, token: TOKEN, backoff: { baseMs: 10, maxMs: 50 } });
  const domain = 'weir-stream-test';
  t.after(() => OpenFeature.clearProviders());
  const client = OpenFeature.getClient(domain);
  for (const ev of [ProviderEvents.Ready, ProviderEvents.ConfigurationChanged, ProviderEvents.Stale, ProviderEvents.Error]) {
    client.addHandler(ev, () => seen.push(ev));
  }
  await OpenFeature.setProviderAndWait(domain, provider);
  await until(() => seen.includes(ProviderEvents.Ready), 'READY');
  assert.equal(client.providerStatus, 'READY');
  const exposures = createExposureShipper({ url, token: TOKEN, batchSize: 1000 });
  client.addHooks(createFlagEvaluationHook({ exposures }));

  // OTel: the evaluation becomes an event on the active span.
  const exporter = new InMemorySpanExporter();
  const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer('test');
  context.setGlobalContextManager(new AlsContextManager());
  t.after(() => context.disable());
  const span = tracer.startSpan('request');
  const details = await context.with(trace.setSpan(ROOT_CONTEXT, span), () => client.getBooleanDetails('new-checkout', false, { targetingKey: 'u-1', email: 'a@example.com' }));
  span.end();
  assert.deepEqual([details.value, details.variant, details.reason], [true, 'on', 'TARGETING_MATCH']);
  const ev = exporter.getFinishedSpans()[0].events.find((e) => e.name === 'feature_flag.evaluation');
  assert.deepEqual(ev?.attributes, {
    'feature_flag.key': 'new-checkout', 'feature_flag.result.variant': 'on', 'feature_flag.result.reason': 'TARGETING_MATCH',
    'feature_flag.provider.name': 'weir', 'feature_flag.context.id': 'u-1',
  });

  // The kill switch reaches the provider through the stream.
  const disable = await request(`${url}/api/v1/flags/new-checkout/disable`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(disable.statusCode, 200);
  await disable.body.dump();
  await until(() => seen.includes(ProviderEvents.ConfigurationChanged), 'CONFIGURATION_CHANGED');
  const off = await client.getBooleanDetails('new-checkout', false, { targetingKey: 'u-1', email: 'a@example.com' });
  assert.deepEqual([off.value, off.reason], [false, 'DISABLED']);

  // Exposures reach the events route as Weir events with the OTel field names.
  await exposures.flush();
  assert.equal(exposures.dropped, 0);

  // Evaluation counts reach the stale-flag report: 'on' and the disabled code default are two outcomes.
  await provider.flushUsage();
  const stale = await request(`${url}/api/v1/flags/stale?days=1`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.deepEqual(((await stale.body.json()) as { flags: unknown[] }).flags, []);

  // The control plane goes away: STALE, the last set still answers; it returns: READY again, with new changes.
  await cp.close();
  await until(() => seen.includes(ProviderEvents.Stale), 'STALE');
  assert.equal(client.providerStatus, 'STALE');
  assert.equal((await client.getBooleanDetails('new-checkout', true, { targetingKey: 'u-1' })).reason, 'DISABLED');
  cp = await control(t, dir, `127.0.0.1:${port}`);
  await until(() => seen.lastIndexOf(ProviderEvents.Ready) > seen.indexOf(ProviderEvents.Stale), 'READY after reconnect');
  assert.equal(client.providerStatus, 'READY');
  const enable = await request(`${url}/api/v1/flags/new-checkout/enable`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
  await enable.body.dump();
  await until(async () => (await client.getBooleanValue('new-checkout', false, { targetingKey: 'u-1', email: 'a@example.com' })) === true, 'enabled again');
  assert.ok(!seen.includes(ProviderEvents.Error));
  await OpenFeature.close();
});
