import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WeirError } from '../../src/errors.ts';
import {
  collectorOptionsFromConfig,
  compareSchema,
  createCompareCollector,
  isSafeMethod,
  parseCompareConfig,
  type CompareResponse,
} from '../../src/proxy/compare/index.ts';

const json = (body: unknown): CompareResponse => ({ status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(body)) });

test('compare config: parses the proposed weir.yaml block, durations included', () => {
  const cfg = compareSchema.parse({
    candidate: 'v2',
    secondary: 'v1b',
    sampleRate: 0.05,
    maxConcurrent: 8,
    timeout: '2s',
    ignore: { headers: ['x-served-by'], paths: ['meta.generatedAt'] },
    arraysAsSets: ['tags'],
    endpoints: [{ name: 'get-order', method: 'GET', path: '/orders/:id', ignore: { paths: ['eta'] } }],
    thresholds: { relative: 25 },
  });
  assert.equal(cfg.timeout, 2000);
  const opts = collectorOptionsFromConfig(cfg);
  const c = createCompareCollector(opts);
  const rec = c.record(
    undefined,
    { method: 'GET', path: '/orders/7' },
    json({ meta: { generatedAt: 1 }, eta: 1, tags: [1, 2], n: 1 }),
    json({ meta: { generatedAt: 2 }, eta: 2, tags: [2, 1], n: 1 }),
    json({ meta: { generatedAt: 3 }, eta: 3, tags: [2, 1], n: 2 }),
  );
  assert.equal(rec.endpoint, 'get-order');
  assert.deepEqual(rec.noise, []);
  assert.deepEqual(rec.candidate, [{ section: 'body', path: 'n', kind: 'value', left: 1, right: 2 }]);
  // Unset thresholds keep their defaults.
  assert.deepEqual(c.report().thresholds, { relative: 25, absolute: 0.03, relativeTo: 'sum' });
});

test('compare config: every problem with its path, as WeirError CONFIG_INVALID', () => {
  try {
    parseCompareConfig({ candidate: 'v2', sampleRate: 2, timeout: 'soon', endpoints: [{ name: 'x', path: 'no-slash' }], extra: 1 }, 'services.orders.compare');
    assert.fail('expected an error');
  } catch (err) {
    assert.ok(err instanceof WeirError);
    assert.equal(err.code, 'CONFIG_INVALID');
    const paths = (err.details as { path: string }[]).map((d) => d.path).sort();
    assert.deepEqual(paths, [
      'services.orders.compare',
      'services.orders.compare.endpoints[0].path',
      'services.orders.compare.sampleRate',
      'services.orders.compare.secondary',
      'services.orders.compare.timeout',
    ]);
  }
});

test('only safe methods are compared by default', () => {
  assert.ok(isSafeMethod('get') && isSafeMethod('HEAD') && isSafeMethod('OPTIONS'));
  assert.ok(!isSafeMethod('POST') && !isSafeMethod('DELETE'));
});
