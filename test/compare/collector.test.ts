import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createCompareCollector,
  createEndpointResolver,
  judgeField,
  normalizePath,
  formatTextReport,
  formatJsonReport,
  OTHER_ENDPOINTS,
  OTHER_FIELDS,
  compareEventFields,
  eventFieldList,
  type CompareResponse,
  type FieldReport,
  type CompareReport,
} from '../../src/proxy/compare/index.ts';
import { rng } from './helpers.ts';

const json = (body: unknown, headers: Record<string, string> = {}): CompareResponse => ({
  status: 200,
  headers: { 'content-type': 'application/json', ...headers },
  body: Buffer.from(JSON.stringify(body)),
});

function field(report: CompareReport, endpoint: string, name: string): FieldReport {
  const ep = report.endpoints.find((e) => e.endpoint === endpoint);
  assert.ok(ep, `endpoint ${endpoint} in ${report.endpoints.map((e) => e.endpoint).join(', ')}`);
  const f = ep.fields.find((x) => x.field === name);
  assert.ok(f, `field ${name} in ${ep.fields.map((x) => x.field).join(', ')}`);
  return f;
}

test('judgeField: Diffy rule with strict thresholds', () => {
  assert.equal(judgeField(100, 100, 100).verdict, 'noise');
  assert.equal(judgeField(40, 0, 100).verdict, 'difference');
  assert.equal(judgeField(0, 0, 100).verdict, 'noise');
  assert.equal(judgeField(5, 6, 100).verdict, 'noise');
  // Relative (C−N)/(C+N): 12/(12+8) = 20% is not above 20%; relative to C it is 33%.
  assert.equal(judgeField(12, 8, 100).verdict, 'noise');
  assert.equal(judgeField(12, 8, 100).relativeDifference, 20);
  assert.equal(judgeField(12, 8, 100, { relative: 20, absolute: 0.03, relativeTo: 'candidate' }).verdict, 'difference');
  // Absolute: 1 request of 10 000 is 0.01%, not above 0.03%; 4 of 10 000 is 0.04%.
  assert.equal(judgeField(1, 0, 10_000).verdict, 'noise');
  assert.match(judgeField(1, 0, 10_000).reason, /absolute difference 0.01%/);
  assert.equal(judgeField(4, 0, 10_000).verdict, 'difference');
  assert.equal(judgeField(4, 0, 10_000).absoluteDifference, 0.04);
});

test('noise rule on synthetic traffic: a timestamp that differs everywhere is noise, a real change is reported', () => {
  const r = rng(7);
  const c = createCompareCollector();
  for (let i = 0; i < 500; i++) {
    const id = 1 + Math.floor(r() * 50);
    const base = { id, name: `user ${id}`, plan: id % 2 === 0 ? 'pro' : 'free', tags: ['a', 'b'] };
    const ts = (k: number): string => new Date(Date.UTC(2026, 0, 1) + i * 1000 + k).toISOString();
    // Random ids differ between any two responses; the candidate changes `plan` for even ids only.
    const primary = json({ ...base, generatedAt: ts(0), nonce: r() });
    const secondary = json({ ...base, generatedAt: ts(7), nonce: r() });
    const candidate = json({ ...base, generatedAt: ts(13), nonce: r(), plan: id % 2 === 0 ? 'premium' : base.plan });
    c.record(undefined, { method: 'GET', path: `/users/${id}?v=${i}` }, primary, secondary, candidate);
  }
  const report = c.report();
  assert.equal(report.requests, 500);
  assert.equal(report.verdict, 'differences');
  assert.equal(report.endpoints.length, 1);
  const ep = report.endpoints[0];
  assert.equal(ep.endpoint, 'GET /users/{id}');
  const ts = field(report, ep.endpoint, 'body.generatedAt');
  assert.equal(ts.verdict, 'noise');
  assert.equal(ts.candidate.count, 500);
  assert.equal(ts.noise.count, 500);
  assert.equal(field(report, ep.endpoint, 'body.nonce').verdict, 'noise');
  const plan = field(report, ep.endpoint, 'body.plan');
  assert.equal(plan.verdict, 'difference');
  assert.equal(plan.noise.count, 0);
  assert.ok(plan.candidate.count > 200 && plan.candidate.count < 300);
  assert.equal(plan.candidate.percent, Math.round((plan.candidate.count / 500) * 1e6) / 1e4);
  assert.deepEqual(plan.kinds, { value: plan.candidate.count });
  assert.equal(ep.differences, 1);
  assert.equal(report.differences, 1);
  // Real differences are listed first.
  assert.equal(ep.fields[0].field, 'body.plan');
  assert.equal(plan.examples.length, 3);
  assert.deepEqual(plan.examples[0].differences, [{ section: 'body', path: 'plan', kind: 'value', left: 'pro', right: 'premium' }]);
});

test('no real differences when only noise differs', () => {
  const c = createCompareCollector();
  for (let i = 0; i < 50; i++) {
    c.record('ep', { method: 'GET', path: '/' }, json({ t: i, v: 1 }), json({ t: i + 1, v: 1 }), json({ t: i + 2, v: 1 }));
  }
  const report = c.report();
  assert.equal(report.verdict, 'no-differences');
  assert.equal(report.differences, 0);
  assert.match(formatTextReport(report), /no real differences in 50 requests/);
});

test('array indices are grouped, each field counts once per request', () => {
  const c = createCompareCollector();
  c.record('e', { method: 'GET', path: '/' }, json({ items: [{ p: 1 }, { p: 2 }] }), json({ items: [{ p: 1 }, { p: 2 }] }), json({ items: [{ p: 9 }, { p: 8 }] }));
  const f = field(c.report(), 'e', 'body.items[*].p');
  assert.equal(f.candidate.count, 1);
  assert.equal(f.kinds.value, 2);
  const c2 = createCompareCollector({ groupArrayIndices: false });
  c2.record('e', { method: 'GET', path: '/' }, json({ items: [1, 2] }), json({ items: [1, 2] }), json({ items: [1, 3] }));
  assert.equal(field(c2.report(), 'e', 'body.items[1]').candidate.count, 1);
});

test('per-endpoint rules: ignore paths and arrays as sets added to the service rules', () => {
  const c = createCompareCollector({
    rules: { ignorePaths: ['meta'] },
    endpoints: [{ name: 'list', method: 'GET', path: '/items', rules: { arraysAsSets: ['ids'], ignorePaths: ['cursor'] } }],
  });
  const req = { method: 'GET', path: '/items?page=2' };
  const rec = c.record(undefined, req, json({ ids: [1, 2, 3], meta: 1, cursor: 'a' }), json({ ids: [1, 2, 3], meta: 2, cursor: 'b' }), json({ ids: [3, 1, 2], meta: 3, cursor: 'c' }));
  assert.equal(rec.endpoint, 'list');
  assert.deepEqual(rec.candidate, []);
  assert.deepEqual(rec.noise, []);
  // Another endpoint only has the service rules.
  const other = c.record(undefined, { method: 'GET', path: '/other' }, json({ ids: [1, 2], meta: 1 }), json({ ids: [1, 2], meta: 1 }), json({ ids: [2, 1], meta: 9 }));
  assert.equal(other.endpoint, 'GET /other');
  assert.equal(other.candidate.length, 2);
});

test('endpoint names: default normalisation and configured patterns', () => {
  assert.equal(normalizePath('/users/42/orders/9b2f0c7e-1d2a-4f6b-8c3d-5e6f7a8b9c0d?x=1'), '/users/{id}/orders/{id}');
  assert.equal(normalizePath('/v1/objects/507f1f77bcf86cd799439011'), '/v1/objects/{id}');
  assert.equal(normalizePath('/v1/status'), '/v1/status');
  const of = createEndpointResolver([
    { name: 'search', method: 'GET', path: '/search/**' },
    { name: 'user', path: '/users/:id' },
    { name: 'order-item', method: '*', path: '/orders/{id}/items/*' },
  ]);
  assert.equal(of('GET', '/search'), 'search');
  assert.equal(of('GET', '/search/a/b?q=1'), 'search');
  assert.equal(of('POST', '/search/a'), 'POST /search/a');
  assert.equal(of('delete', '/users/abc'), 'user');
  assert.equal(of('GET', '/users/abc/x'), 'GET /users/abc/x');
  assert.equal(of('PUT', '/orders/1/items/2'), 'order-item');
  assert.equal(of('GET', '/'), 'GET /');
});

test('bounded memory: endpoints, fields and examples are capped; reset forgets', () => {
  const c = createCompareCollector({ maxEndpoints: 3, maxFieldsPerEndpoint: 4, maxExamples: 2 });
  for (let i = 0; i < 10; i++) {
    const body: Record<string, number> = {};
    for (let k = 0; k < 10; k++) body[`f${k}`] = i;
    const cand: Record<string, number> = {};
    for (let k = 0; k < 10; k++) cand[`f${k}`] = i + 1;
    c.record(`ep${i}`, { method: 'GET', path: '/' }, json(body), json(body), json(cand));
  }
  const report = c.report();
  assert.equal(report.endpoints.length, 4);
  const other = report.endpoints.find((e) => e.endpoint === OTHER_ENDPOINTS);
  assert.ok(other);
  assert.equal(other.requests, 7);
  assert.equal(other.fields.length, 5);
  const rest = other.fields.find((f) => f.field === OTHER_FIELDS);
  assert.ok(rest);
  assert.equal(rest.candidate.count, 7);
  for (const f of other.fields) assert.ok(f.examples.length <= 2);
  c.reset();
  assert.equal(c.report().requests, 0);
  assert.equal(c.report().endpoints.length, 0);
});

test('examples are summarised and redacted: credential headers by default, then the redact function', () => {
  const c = createCompareCollector({
    maxExampleBodyBytes: 20,
    redact: (m, role) => ({ ...m, body: role === 'request' ? m.body.replace(/secret/g, '***') : m.body }),
  });
  c.record(
    'e',
    { method: 'post', path: '/login', headers: { Authorization: 'Bearer x', 'x-ok': '1' }, body: '{"pw":"secret"}' },
    json({ v: 1, pad: 'x'.repeat(50) }, { 'set-cookie': 's=1' }),
    json({ v: 1, pad: 'x'.repeat(50) }),
    json({ v: 2, pad: 'x'.repeat(50) }),
  );
  const ex = field(c.report(), 'e', 'body.v').examples[0];
  assert.equal(ex.request.method, 'POST');
  assert.equal(ex.request.headers.authorization, '[redacted]');
  assert.equal(ex.request.headers['x-ok'], '1');
  assert.equal(ex.request.body, '{"pw":"***"}');
  assert.equal(ex.primary.headers['set-cookie'], '[redacted]');
  assert.equal(ex.candidate.truncated, true);
  assert.equal(ex.candidate.body.length, 20);
  assert.equal(ex.candidate.bodyBytes, Buffer.byteLength(JSON.stringify({ v: 2, pad: 'x'.repeat(50) })));
});

test('failures are counted apart from compared requests', () => {
  const c = createCompareCollector();
  c.recordFailure(undefined, { method: 'GET', path: '/a/1' }, 'candidate: connection refused');
  c.recordFailure(undefined, { method: 'GET', path: '/a/2' }, 'candidate: connection refused');
  const r = c.report();
  assert.equal(r.failed, 2);
  assert.equal(r.requests, 0);
  assert.deepEqual(r.endpoints[0].failures, { 'candidate: connection refused': 2 });
  assert.match(formatTextReport(r), /failed ×2: candidate: connection refused/);
});

test('text and JSON reports', () => {
  const c = createCompareCollector();
  for (let i = 0; i < 10; i++) {
    c.record(undefined, { method: 'GET', path: `/u/${i}` }, json({ ts: i, city: 'Paris' }), json({ ts: i + 1, city: 'Paris' }), json({ ts: i + 2, city: 'Lyon' }));
  }
  const text = formatTextReport(c.report());
  assert.match(text, /^Tap compare: 1 real difference in 10 requests to 1 endpoint \(0 failed\)/);
  assert.match(text, /GET \/u\/\{id\}: 10 requests, 1 real difference/);
  assert.match(text, /DIFFERENCE {2}body\.city +candidate 10 \(100%\) {2}noise 0 \(0%\)/);
  assert.match(text, /e\.g\. GET \/u\/0 at city: value: "Paris" → "Lyon"/);
  assert.match(text, /noise {7}body\.ts +candidate 10 \(100%\) {2}noise 10 \(100%\)/);
  assert.doesNotMatch(formatTextReport(c.report(), { showNoise: false }), /body\.ts/);
  const parsed = JSON.parse(formatJsonReport(c.report())) as CompareReport;
  assert.equal(parsed.verdict, 'differences');
  assert.equal(parsed.endpoints[0].fields[0].field, 'body.city');
});

test('findings rebuilt from compare events equal the live findings (examples aside)', () => {
  const live = createCompareCollector();
  const fromEvents = createCompareCollector();
  const r = rng(11);
  for (let i = 0; i < 200; i++) {
    const id = Math.floor(r() * 20);
    const items = [{ p: id }, { p: id + 1 }];
    const rec = live.record(
      undefined,
      { method: 'GET', path: `/things/${id}` },
      json({ ts: i, items, v: 1 }),
      json({ ts: i + 1, items, v: 1 }),
      json({ ts: i + 2, items: r() < 0.3 ? [{ p: -1 }, { p: -2 }] : items, v: 1 }),
    );
    const ev = compareEventFields(rec);
    fromEvents.recordFields(ev['weir.compare.endpoint'], eventFieldList(ev['weir.compare.fields']), eventFieldList(ev['weir.compare.noise_fields']));
  }
  const strip = (rep: CompareReport) => rep.endpoints.map((e) => ({ ...e, fields: e.fields.map((f) => ({ ...f, kinds: {}, examples: [] })) }));
  const a = live.report();
  assert.equal(a.verdict, 'differences');
  assert.deepEqual(strip(fromEvents.report()), strip(a));
  assert.deepEqual(field(a, 'GET /things/{id}', 'body.items[*].p').kinds.value !== undefined, true);
  assert.deepEqual(eventFieldList('not json'), []);
});
