import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { backend, echo, proxyFor, until, config } from '../proxy/helpers.ts';
import { validateConfig } from '../../src/config/validate.ts';
import { chooseFault, compileFaults, drawDelay, headerFault, budgetVerdict, newWindow, recordOutcome, windowCounts } from '../../src/proxy/faults/choose.ts';
import { faultRulesOf, faultRuleSchema } from '../../src/proxy/faults/config.ts';

const TOKEN = 'test-token-123456';
const svc = (up: string, faults: object, extra: object = {}) => ({
  shop: { match: { pathPrefix: '/' }, versions: { stable: up }, testTraffic: { tokens: [TOKEN] }, faults: { maxPercent: 100, ...faults }, ...extra },
});

async function json(res: { statusCode: number; body: { json(): Promise<unknown> } }): Promise<[number, Record<string, unknown>]> {
  return [res.statusCode, await res.body.json() as Record<string, unknown>];
}

test('abort with a status answers the fault\'s status without reaching the upstream; the event records weir.fault.*', async (t) => {
  let hits = 0;
  const up = await backend(t, (req, res) => { hits++; echo('stable')(req, res); });
  const { url, events } = await proxyFor(t, svc(up.url, { rules: [{ name: 'down', scope: 'everyone', match: { pathPrefix: '/pay' }, abort: { status: 503 } }] }));
  const [status, body] = await json(await request(`${url}/pay/1`));
  assert.equal(status, 503);
  assert.equal((body.error as { code: string }).code, 'FAULT_INJECTED');
  assert.equal(hits, 0);
  const [ok] = await json(await request(`${url}/other`));
  assert.equal(ok, 200, 'the route scope leaves other paths alone');
  await until(() => events.length === 2, 'events');
  const e = events.find((x) => x['url.path'] === '/pay/1')!;
  assert.equal(e['weir.fault.rule'], 'down');
  assert.equal(e['weir.fault.abort_status'], 503);
  assert.equal(e['error.type'], 'FAULT_INJECTED');
  assert.equal(events.find((x) => x['url.path'] === '/other')!['weir.fault.rule'], undefined);
});

test('reset closes the client connection; delay and throttle still deliver the whole answer', async (t) => {
  const up = await backend(t, (_req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('x'.repeat(4096)); });
  const { url, events } = await proxyFor(t, svc(up.url, { rules: [
    { name: 'reset', scope: { header: 'x-chaos', value: 'reset' }, abort: { reset: true } },
    { name: 'slow', scope: { header: 'x-chaos', value: 'slow' }, delay: { uniform: { min: 10, max: 30 } } },
    { name: 'narrow', scope: { header: 'x-chaos', value: 'narrow' }, throttle: { bytesPerSecond: '1MiB' } },
  ] }), { random: () => 0.5 });
  await assert.rejects(request(url, { headers: { 'x-chaos': 'reset' } }));
  const slow = await request(url, { headers: { 'x-chaos': 'slow' } });
  assert.equal((await slow.body.text()).length, 4096);
  const narrow = await request(url, { headers: { 'x-chaos': 'narrow' } });
  assert.equal((await narrow.body.text()).length, 4096);
  await until(() => events.length === 3, 'events');
  const by = (rule: string) => events.find((e) => e['weir.fault.rule'] === rule)!;
  assert.equal(by('reset')['weir.fault.abort'], 'reset');
  assert.equal(by('slow')['weir.fault.delay_ms'], 20, 'uniform 10–30 ms with the seeded 0.5');
  assert.equal(by('narrow')['weir.fault.throttle_bps'], 1024 * 1024);
  assert.equal(by('narrow')['http.response.status_code'], 200);
});

test('scopes: test traffic only by default, cohorts, a version; percent drawn with the randomness passed in', async (t) => {
  const a = await backend(t, echo('stable'));
  const b = await backend(t, echo('beta'));
  const { url } = await proxyFor(t, {
    shop: {
      match: { pathPrefix: '/' }, versions: { stable: a.url, beta: b.url }, testTraffic: { tokens: [TOKEN] }, stickyBy: 'ip',
      cohorts: [{ match: { header: 'x-tier', exact: 'beta' }, version: 'beta' }],
      faults: { maxPercent: 100, rules: [
        { name: 'tests', match: { pathPrefix: '/t' }, abort: { status: 500 } },
        { name: 'cohort', scope: 'cohort', match: { pathPrefix: '/c' }, abort: { status: 502 } },
        { name: 'half', scope: 'everyone', version: 'stable', percent: 50, match: { pathPrefix: '/h' }, abort: { status: 504 } },
      ] },
    },
  }, { random: (() => { let i = 0; const seq = [0.3, 0.7]; return () => seq[i++ % 2]; })() });
  assert.equal((await json(await request(`${url}/t`)))[0], 200, 'no token: not test traffic');
  assert.equal((await json(await request(`${url}/t`, { headers: { 'x-weir-test-token': TOKEN } })))[0], 500);
  assert.equal((await json(await request(`${url}/c`)))[0], 200);
  assert.equal((await json(await request(`${url}/c`, { headers: { 'x-tier': 'beta' } })))[0], 502);
  assert.equal((await json(await request(`${url}/h`, { headers: { 'x-tier': 'beta' } })))[0], 200, 'another version');
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) statuses.push((await json(await request(`${url}/h`)))[0]);
  assert.equal(statuses.filter((s) => s === 504).length, 2, 'half of the requests, by the seeded draws');
});

test('header-driven faults: honoured only with a valid test token, and always stripped', async (t) => {
  const up = await backend(t, echo('stable'));
  const { url, events } = await proxyFor(t, { shop: { match: { pathPrefix: '/' }, versions: { stable: up.url }, testTraffic: { tokens: [TOKEN] } } });
  const [s1, b1] = await json(await request(url, { headers: { 'x-weir-fault-abort-status': '503', 'x-weir-fault-delay-ms': '5' } }));
  assert.equal(s1, 200, 'refused without a token');
  const seen = b1.headers as Record<string, string>;
  assert.equal(seen['x-weir-fault-abort-status'], undefined);
  assert.equal(seen['x-weir-fault-delay-ms'], undefined);
  const [s2] = await json(await request(url, { headers: { 'x-weir-fault-abort-status': '503', 'x-weir-test-token': 'wrong-token-0000' } }));
  assert.equal(s2, 200, 'refused with an invalid token');
  const [s3] = await json(await request(url, { headers: { 'x-weir-fault-abort-status': '503', 'x-weir-test-token': TOKEN } }));
  assert.equal(s3, 503);
  const [s4, b4] = await json(await request(url, { headers: { 'x-weir-fault-delay-ms': '5', 'x-weir-test-token': TOKEN } }));
  assert.equal(s4, 200);
  assert.equal((b4.headers as Record<string, string>)['x-weir-fault-delay-ms'], undefined);
  await until(() => events.length === 4, 'events');
  assert.equal(events[2]['weir.fault.source'], 'header');
  assert.equal(events[3]['weir.fault.delay_ms'], 5);
});

test('auto-stop: faults stop on their own when the live error rate passes the budget (clock passed in)', async (t) => {
  const up = await backend(t, echo('stable'));
  let now = 1_000_000;
  const { url, proxy } = await proxyFor(t, svc(up.url, {
    errorBudget: { maxErrorRate: 0.2, minRequests: 10, window: '10s' },
    rules: [{ name: 'chaos', scope: { header: 'x-chaos' }, abort: { status: 500 } }],
  }), { now: () => now });
  for (let i = 0; i < 6; i++) assert.equal((await json(await request(url)))[0], 200);
  for (let i = 0; i < 3; i++) assert.equal((await json(await request(url, { headers: { 'x-chaos': '1' } })))[0], 500);
  assert.equal(proxy.taps.faults.get('shop')!.stopped, null, '3 errors in 9 requests: fewer than minRequests');
  assert.equal((await json(await request(url, { headers: { 'x-chaos': '1' } })))[0], 500);
  const stopped = proxy.taps.faults.get('shop')!.stopped!;
  assert.ok(stopped, '4 of 10 = 40% > 20%');
  assert.equal(stopped.verdict.requests, 10);
  assert.match(stopped.verdict.reason, /above the budget/);
  assert.equal((await json(await request(url, { headers: { 'x-chaos': '1' } })))[0], 200, 'no more faults');
  now += 60_000;
  assert.equal((await json(await request(url, { headers: { 'x-chaos': '1' } })))[0], 200, 'a stop lasts until the rules change');
});

test('blast radius: too many rules or too high a percent are refused with their paths', () => {
  const r = validateConfig({ services: { shop: { match: { pathPrefix: '/' }, versions: { stable: 'http://127.0.0.1:1', canary: 'http://127.0.0.1:2' }, faults: {
    maxActive: 1, maxPercent: 10,
    rules: [{ scope: 'everyone', percent: 50, abort: { status: 503 } }, { version: 'canry', abort: { status: 503 } }, { scope: 'test' }],
  }, shadow: { version: 'stable' }, compare: { candidate: 'canary', secondary: 'nope' } } } }, {});
  assert.equal(r.ok, false);
  const issues = r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`);
  const has = (re: RegExp) => assert.ok(issues.some((i) => re.test(i)), `${re} in\n${issues.join('\n')}`);
  has(/^services\.shop\.faults\.rules: 3 fault rules are more than maxActive 1/);
  has(/^services\.shop\.faults\.rules\[0\]\.percent: 50% is above maxPercent 10/);
  has(/^services\.shop\.faults\.rules\[1\]\.version: no version named "canry"/);
  has(/^services\.shop\.faults\.rules\[2\]: give at least one of delay, abort or throttle/);
  has(/^services\.shop\.shadow\.version: "stable" is the stable version/);
  has(/^services\.shop\.compare\.secondary: no version named "nope"/);
  assert.ok(config({ services: { shop: { match: { pathPrefix: '/' }, versions: { stable: 'http://127.0.0.1:1' }, faults: { rules: [{ abort: { status: 503 } }] } } } }).ok);
});

test('pure core: fault choice, delay distributions, header faults, outcome window', () => {
  const rules = compileFaults(faultRulesOf([faultRuleSchema.parse({ name: 'f', scope: 'everyone', percent: 10, delay: { exponential: { mean: 100, max: 250 } } })]));
  const input = { method: 'GET', path: '/', view: {}, version: 'v1', traffic: 'live' as const, reason: 'weight', now: 0 };
  assert.equal(chooseFault(rules, input, () => 0.5), undefined);
  assert.deepEqual(chooseFault(rules, input, () => 0.05), { source: 'rule', rule: 'f', delayMs: 5 });
  assert.equal(drawDelay({ exponential: { mean: 100, max: 250 } }, () => 0.999999), 250);
  const expired = compileFaults([{ ...faultRulesOf([{ abort: { status: 503 }, scope: 'everyone' }])[0], until: 10 }]);
  assert.equal(chooseFault(expired, { ...input, now: 11 }, () => 0), undefined);
  assert.deepEqual(headerFault({ 'x-weir-fault-delay-ms': '999999', 'x-weir-fault-abort-status': '200' }), { source: 'header', delayMs: 60_000 });
  assert.equal(headerFault({ 'x-weir-fault-abort-status': 'abc' }), undefined);
  const w = newWindow(3000);
  recordOutcome(w, 0, true);
  recordOutcome(w, 1500, false);
  assert.deepEqual(windowCounts(w, 2999), { total: 2, errors: 1 });
  assert.deepEqual(windowCounts(w, 3500), { total: 1, errors: 0 }, 'the first second left the window');
  assert.equal(budgetVerdict({ total: 5, errors: 5 }, { maxErrorRate: 0.1, minRequests: 10 }).exceeded, false);
});
