import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { backend, proxyFor, until } from '../proxy/helpers.ts';
import type { Handler } from '../proxy/helpers.ts';
import { createCompareRoutes } from '../../src/proxy/compare/routes.ts';
import { createControlServer, listenOn } from '../../src/control/server.ts';
import { main } from '../../src/cli/main.ts';

/** A JSON user API: `plan` changes for even ids in the candidate; `generatedAt` differs on every answer. */
function api(kind: 'stable' | 'candidate'): Handler {
  let n = 0;
  return (req, res) => {
    const id = Number(/\/users\/(\d+)/.exec(req.url ?? '')?.[1] ?? 0);
    const plan = kind === 'candidate' && id % 2 === 0 ? 'pro' : 'free';
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id, name: `user ${id}`, plan, generatedAt: `${Date.now()}-${n++}-${Math.random()}` }));
  };
}

test('live compare end to end: the user gets the primary\'s answer; a real field change is reported, a noisy timestamp is filtered; report over the API and the CLI', async (t) => {
  const primary = await backend(t, api('stable'));
  const secondary = await backend(t, api('stable'));
  const candidate = await backend(t, api('candidate'));
  const { url, events, proxy } = await proxyFor(t, {
    users: {
      match: { pathPrefix: '/' },
      versions: { v1: primary.url, v1b: secondary.url, v2: candidate.url },
      weights: { v1: 100 },
      compare: { candidate: 'v2', secondary: 'v1b', sampleRate: 1, maxConcurrent: 64 },
    },
  });
  for (let id = 1; id <= 40; id++) {
    const res = await request(`${url}/users/${id}`);
    const body = await res.body.json() as { plan: string };
    assert.equal(body.plan, 'free', 'users always get the primary (stable) answer');
  }
  const st = proxy.taps.compare.get('users')!;
  await until(() => st.counters.completed + st.counters.failed === 40, 'all comparisons');
  const report = st.collector.report();
  assert.equal(report.verdict, 'differences');
  const ep = report.endpoints.find((e) => e.endpoint === 'GET /users/{id}')!;
  assert.equal(ep.requests, 40);
  const plan = ep.fields.find((f) => f.field === 'body.plan')!;
  assert.equal(plan.verdict, 'difference');
  assert.equal(plan.candidate.count, 20);
  const ts = ep.fields.find((f) => f.field === 'body.generatedAt')!;
  assert.equal(ts.verdict, 'noise');
  const compareEvents = events.filter((e) => e['weir.compare.endpoint'] !== undefined);
  assert.equal(compareEvents.length, 40);
  assert.ok(compareEvents.every((e) => e['weir.traffic'] === 'shadow' && e['service.version'] === 'v2'));
  assert.ok(compareEvents.some((e) => String(e['weir.compare.fields']).includes('body.plan')));

  // The API and `weir compare report`.
  const control = createControlServer({ routes: createCompareRoutes(() => proxy), tokens: () => [{ token: 'test-admin-token', principal: { scope: 'admin', name: 'admin' } }] });
  const addr = await listenOn(control, 0, '127.0.0.1');
  t.after(() => { control.closeAllConnections(); control.close(); });
  const api1 = `http://127.0.0.1:${addr.port}`;
  const got = await request(`${api1}/api/v1/services/users/compare`, { headers: { authorization: 'Bearer test-admin-token' } });
  assert.equal(got.statusCode, 200);
  const json = await got.body.json() as { report: { verdict: string } };
  assert.equal(json.report.verdict, 'differences');
  let out = '';
  const io = { stdout: (s: string) => { out += s; }, stderr: (s: string) => { out += s; }, env: { WEIR_URL: api1, WEIR_TOKEN: 'test-admin-token' }, cwd: process.cwd(), signal: new AbortController().signal };
  const code = await main(['compare', 'report', 'users'], io);
  assert.equal(code, 4, out);
  assert.match(out, /body\.plan/);
  const none = await request(`${api1}/api/v1/services/nope/compare`, { headers: { authorization: 'Bearer test-admin-token' } });
  assert.equal(none.statusCode, 404);
  await none.body.dump();
  const del = await request(`${api1}/api/v1/services/users/compare`, { method: 'DELETE', headers: { authorization: 'Bearer test-admin-token' } });
  assert.equal(del.statusCode, 200);
  await del.body.dump();
  assert.equal(st.collector.report().requests, 0);
});

test('live compare: unsafe methods are not compared without allowSideEffects; requests to another version are not compared', async (t) => {
  const primary = await backend(t, api('stable'));
  const secondary = await backend(t, api('stable'));
  let candidateHits = 0;
  const candidate = await backend(t, (req, res) => { candidateHits++; api('candidate')(req, res); });
  const { url, proxy } = await proxyFor(t, {
    users: { match: { pathPrefix: '/' }, versions: { v1: primary.url, v1b: secondary.url, v2: candidate.url }, weights: { v1: 50, v2: 50 }, stickyBy: 'header:x-user', compare: { candidate: 'v2', secondary: 'v1b', sampleRate: 1 } },
  });
  for (let i = 0; i < 20; i++) {
    const res = await request(`${url}/users/${i}`, { method: 'POST', body: '{}', headers: { 'x-user': `u${i}` } });
    await res.body.dump();
  }
  const st = proxy.taps.compare.get('users')!;
  assert.equal(st.counters.sampled, 0);
  for (let i = 0; i < 20; i++) await (await request(`${url}/users/${i}`, { headers: { 'x-user': `u${i}` } })).body.dump();
  await until(() => st.counters.inflight === 0, 'comparisons');
  assert.ok(st.counters.sent > 0 && st.counters.sent < 20, 'only requests the primary answered are compared');
  void candidateHits;
});

test('live compare: a hanging candidate trips the copy breaker; comparisons pause (dropped as unhealthy), users are untouched', async (t) => {
  const primary = await backend(t, api('stable'));
  const secondary = await backend(t, api('stable'));
  const candidate = await backend(t, () => { /* never answers */ });
  const { url, proxy } = await proxyFor(t, {
    users: {
      match: { pathPrefix: '/' },
      versions: { v1: primary.url, v1b: secondary.url, v2: candidate.url },
      weights: { v1: 100 },
      compare: { candidate: 'v2', secondary: 'v1b', sampleRate: 1, maxConcurrent: 64, timeout: 200 },
    },
  });
  const get = async (id: number) => {
    const res = await request(`${url}/users/${id}`);
    assert.equal(res.statusCode, 200);
    await res.body.dump();
  };
  for (let id = 1; id <= 10; id++) await get(id);
  const st = proxy.taps.compare.get('users')!;
  await until(() => st.counters.failed === 10, 'the first ten comparisons to time out');
  // Five failures in a row opened the breaker: from now on at most one probe goes out at a time.
  for (let id = 11; id <= 30; id++) await get(id);
  assert.ok(st.counters.sent <= 11, `copies sent: ${st.counters.sent}`);
  assert.ok(st.counters.dropped.unhealthy >= 19, `dropped as unhealthy: ${st.counters.dropped.unhealthy}`);
});
