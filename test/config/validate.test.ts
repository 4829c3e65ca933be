import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/validate.ts';
import { buildTable } from '../../src/proxy/table.ts';

const EXAMPLE = `proxy:
  listen: 127.0.0.1:8080
control:
  listen: 127.0.0.1:8081
dataDir: .weir
services:
  shop:
    match: { pathPrefix: / }
    versions:
      stable: http://127.0.0.1:9001
      canary: http://127.0.0.1:9002
    weights: { stable: 95, canary: 5 }
    stickyBy: header:x-user-id
    testTraffic:
      tokens: ["\${WEIR_TEST_TOKEN}"]
    cohorts:
      - match: { header: x-user-id, prefix: "internal-" }
        version: canary
`;

test('the README example is valid and builds the expected table', () => {
  const r = parseConfig(EXAMPLE, { WEIR_TEST_TOKEN: 'a-long-test-token' });
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.issues));
  const t = buildTable(r.config, 1);
  const shop = t.services[0];
  assert.deepEqual(shop.weights, { stable: 95, canary: 5 });
  assert.equal(shop.stable, 'stable');
  assert.deepEqual(shop.sticky, { kind: 'header', name: 'x-user-id' });
  assert.deepEqual(shop.testTokens, ['a-long-test-token']);
  assert.deepEqual(shop.cohorts, [{ source: 'header', name: 'x-user-id', op: 'prefix', values: ['internal-'], version: 'canary' }]);
});

test('a missing environment variable is an error, not an empty string', () => {
  const r = parseConfig(EXAMPLE, {});
  assert.equal(r.ok, false);
  assert.ok(!r.ok && r.issues.some((i) => i.path === 'services.shop.testTraffic.tokens[0]' && i.message.includes('WEIR_TEST_TOKEN is not set')));
});

test('every problem is reported at once, each with its path and what to do', () => {
  const bad = EXAMPLE
    .replace('weights: { stable: 95, canary: 5 }', 'weights: { stable: 95, canry: 5 }\n    weigths: {}')
    .replace('listen: 127.0.0.1:8080', 'listen: nowhere')
    .replace('canary: http://127.0.0.1:9002', 'canary: ftp://127.0.0.1:9002\n      preview: { upstreams: [http://127.0.0.1:9003], timeouts: { connect: soon } }')
    .replace('stickyBy: header:x-user-id', 'stickyBy: user');
  const r = parseConfig(bad, { WEIR_TEST_TOKEN: 'a-long-test-token' });
  assert.equal(r.ok, false);
  if (r.ok) return;
  const byPath = new Map(r.issues.map((i) => [i.path, i.message]));
  assert.match(byPath.get('services.shop.weights.canry') ?? '', /no version named "canry" — did you mean "canary"\?/);
  assert.match(byPath.get('services.shop.weigths') ?? '', /unknown key — did you mean "weights"\?/);
  assert.match(byPath.get('proxy.listen') ?? '', /host:port/);
  assert.match(byPath.get('services.shop.versions.canary') ?? '', /http:\/\/ or https:\/\//);
  assert.match(byPath.get('services.shop.versions.preview.timeouts.connect') ?? '', /not a duration/);
  assert.match(byPath.get('services.shop.stickyBy') ?? '', /header:NAME/);
  assert.ok(r.issues.length >= 6);
});

test('weights must add up to 100; weight 0 is legal; versions may be lists or objects', () => {
  const base = (weights: string) => `services:
  shop:
    match: { host: shop.example.com }
    versions:
      stable: [http://127.0.0.1:9001, http://127.0.0.1:9011]
      canary: { upstreams: [http://127.0.0.1:9002], timeouts: { headers: 2s, total: 1m }, limits: { requestBody: 10MiB } }
    weights: ${weights}
`;
  const ok = parseConfig(base('{ stable: 100, canary: 0 }'), {});
  assert.ok(ok.ok);
  const t = buildTable(ok.ok ? ok.config : (undefined as never), 1);
  assert.deepEqual(t.services[0].versions[0].upstreams, ['http://127.0.0.1:9001', 'http://127.0.0.1:9011']);
  assert.equal(t.services[0].versions[1].timeouts.headersMs, 2000);
  assert.equal(t.services[0].versions[1].timeouts.totalMs, 60_000);
  assert.equal(t.services[0].versions[1].limits.requestBodyBytes, 10 * 1024 * 1024);
  const bad = parseConfig(base('{ stable: 90, canary: 5 }'), {});
  assert.ok(!bad.ok && bad.issues[0].path === 'services.shop.weights' && /add up to 95/.test(bad.issues[0].message));
});

test('cohorts must name a version and exactly one source and operator', () => {
  const r = parseConfig(`services:
  shop:
    match: { pathPrefix: / }
    versions: { stable: http://127.0.0.1:9001 }
    cohorts:
      - match: { header: x-user-id, cookie: c, prefix: a, exact: b }
        version: canary
`, {});
  assert.ok(!r.ok);
  if (r.ok) return;
  const paths = r.issues.map((i) => `${i.path}: ${i.message}`);
  assert.ok(paths.some((p) => p.startsWith('services.shop.cohorts[0].version: no version named "canary"')), paths.join('\n'));
  assert.ok(paths.some((p) => p.includes('exactly one of header or cookie')));
  assert.ok(paths.some((p) => p.includes('exactly one of exact, prefix or in')));
});

test('YAML syntax errors name the line', () => {
  const r = parseConfig('services:\n  shop: [unclosed\n', {});
  assert.ok(!r.ok && /^line \d+/.test(r.issues[0].path));
});

test('two services matching the same thing are refused', () => {
  const r = parseConfig(`services:
  a: { match: { pathPrefix: /api }, versions: { v1: http://127.0.0.1:1 } }
  b: { match: { pathPrefix: /api }, versions: { v1: http://127.0.0.1:2 } }
`, {});
  assert.ok(!r.ok && r.issues.some((i) => i.path === 'services.b.match'));
});
