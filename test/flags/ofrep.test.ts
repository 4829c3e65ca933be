import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { OpenFeature } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';
import { OFREPApi } from '@openfeature/ofrep-core';
import { createOfrepRoutes, ofrepToken } from '../../src/flags/ofrep/routes.ts';
import { createFlagRegistry } from '../../src/flags/registry.ts';
import { loadFlagSet } from '../../src/flags/load.ts';
import type { ApiRoute, Principal } from '../../src/control/route.ts';
import type { FlagRegistry } from '../../src/flags/registry.ts';
import type { RateLimit } from '../../src/flags/ofrep/rate-limit.ts';
import type { OfrepOptions } from '../../src/flags/ofrep/routes.ts';

const FLAGS = {
  metadata: { flagSetId: 'shop' },
  flags: {
    'new-checkout': { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'off',
      targeting: { if: [{ ends_with: [{ var: 'email' }, '@example.com'] }, 'on'] }, metadata: { owner: 'web' } },
    color: { state: 'ENABLED', variants: { red: 'red', blue: 'blue' }, defaultVariant: 'red', targeting: { fractional: [['red', 50], ['blue', 50]] } },
    limit: { state: 'ENABLED', variants: { low: 10, high: 100 }, defaultVariant: 'high' },
    layout: { state: 'ENABLED', variants: { a: { columns: 2 } }, defaultVariant: 'a' },
    retired: { state: 'DISABLED', variants: { on: true }, defaultVariant: 'on' },
    codeDefault: { state: 'ENABLED', variants: { on: true, off: false } },
  },
};

const TOKENS: Record<string, Principal | 'forbidden'> = {
  'read-token': { scope: 'read', name: 'app' },
  'other-token': { scope: 'read', name: 'other' },
  'revoked-token': 'forbidden',
};

/** The smallest control server: match method + path params, check the token, dispatch. */
async function serve(t: import('node:test').TestContext, routes: ApiRoute[]): Promise<string> {
  const compiled = routes.map((r) => ({
    r,
    re: new RegExp(`^${r.path.replace(/\{(\w+)\}/g, '(?<$1>[^/]+)')}$`),
  }));
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    for (const { r, re } of compiled) {
      const m = re.exec(url.pathname);
      if (!m || r.method !== req.method) continue;
      const token = ofrepToken(req);
      const who = token ? TOKENS[token] : undefined;
      if (!who) { res.writeHead(401, { 'www-authenticate': 'Bearer' }).end(); return; }
      if (who === 'forbidden') { res.writeHead(403).end(); return; }
      const params = Object.fromEntries(Object.entries(m.groups ?? {}).map(([k, v]) => [k, decodeURIComponent(v)]));
      void r.handler(req, res, { url, params, principal: who });
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function registryWith(doc: object, clock: () => number = () => 1_700_000_000_000): FlagRegistry {
  const loaded = loadFlagSet(doc);
  assert.ok(loaded.ok);
  const reg = createFlagRegistry({ clock });
  reg.replace(loaded.set);
  return reg;
}

async function setup(t: import('node:test').TestContext, rateLimit?: RateLimit, clock?: () => number, extra: Partial<OfrepOptions> = {}) {
  const registry = registryWith(FLAGS, clock);
  const abort = new AbortController();
  t.after(() => abort.abort());
  const base = await serve(t, createOfrepRoutes({ registry, rateLimit, signal: abort.signal, heartbeatMs: 0, ...extra }));
  return { registry, base };
}

const post = (url: string, body: unknown, headers: Record<string, string> = { authorization: 'Bearer read-token' }) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

test('the official OFREP provider + server SDK evaluate flags over a real socket', async (t) => {
  const { base } = await setup(t);
  await OpenFeature.setProviderAndWait('weir', new OFREPProvider({ baseUrl: base, headers: { 'X-API-Key': 'read-token' } }));
  t.after(() => OpenFeature.clearProviders());
  const client = OpenFeature.getClient('weir');

  const on = await client.getBooleanDetails('new-checkout', false, { targetingKey: 'u1', email: 'a@example.com' });
  assert.deepEqual([on.value, on.variant, on.reason, on.errorCode], [true, 'on', 'TARGETING_MATCH', undefined]);
  assert.deepEqual(on.flagMetadata, { flagSetId: 'shop', owner: 'web' });
  const off = await client.getBooleanDetails('new-checkout', true, { targetingKey: 'u1', email: 'a@b.c' });
  assert.deepEqual([off.value, off.variant, off.reason], [false, 'off', 'DEFAULT']);

  const color = await client.getStringDetails('color', 'x', { targetingKey: 'user-7' });
  assert.ok(['red', 'blue'].includes(color.value));
  assert.equal(color.reason, 'TARGETING_MATCH');
  assert.equal((await client.getNumberDetails('limit', 0, {})).value, 100);
  assert.deepEqual((await client.getObjectDetails('layout', {}, {})).value, { columns: 2 });

  const missing = await client.getBooleanDetails('nope', true, {});
  assert.deepEqual([missing.value, missing.errorCode], [true, 'FLAG_NOT_FOUND']);
  const mismatch = await client.getStringDetails('limit', 'dflt', {});
  assert.deepEqual([mismatch.value, mismatch.errorCode], ['dflt', 'TYPE_MISMATCH']);
});

test('Bearer and X-API-Key are both accepted; 401 without a token, 403 for a forbidden one', async (t) => {
  const { base } = await setup(t);
  const url = `${base}/ofrep/v1/evaluate/flags/limit`;
  assert.equal((await post(url, { context: {} })).status, 200);
  assert.equal((await post(url, { context: {} }, { 'x-api-key': 'read-token' })).status, 200);
  assert.equal((await post(url, { context: {} }, {})).status, 401);
  assert.equal((await post(url, { context: {} }, { authorization: 'Bearer revoked-token' })).status, 403);

  await OpenFeature.setProviderAndWait('anon', new OFREPProvider({ baseUrl: base }));
  t.after(() => OpenFeature.clearProviders());
  const r = await OpenFeature.getClient('anon').getNumberDetails('limit', 1, {});
  assert.equal(r.value, 1);
  assert.equal(r.reason, 'ERROR');
});

test('single-flag response and error shapes follow the OFREP spec (and flagd)', async (t) => {
  const { base } = await setup(t);
  const one = (key: string, body: unknown) => post(`${base}/ofrep/v1/evaluate/flags/${key}`, body);
  const json = async (r: Response) => (await r.json()) as { key?: string; errorCode?: string };

  let res = await one('new-checkout', { context: { targetingKey: 'u', email: 'x@example.com' } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /^application\/json/);
  assert.deepEqual(await res.json(), { key: 'new-checkout', reason: 'TARGETING_MATCH', value: true, variant: 'on', metadata: { flagSetId: 'shop', owner: 'web' } });

  res = await one('retired', { context: {} });
  assert.deepEqual(await res.json(), { key: 'retired', reason: 'DISABLED', metadata: { flagSetId: 'shop' } }, 'no value: the client uses its code default');
  res = await one('codeDefault', {});
  assert.deepEqual(await res.json(), { key: 'codeDefault', reason: 'DEFAULT', metadata: { flagSetId: 'shop' } });

  res = await one('nope', { context: {} });
  assert.equal(res.status, 404);
  assert.deepEqual(await res.json(), { key: 'nope', errorCode: 'FLAG_NOT_FOUND', errorDetails: "flag 'nope' not found", metadata: { flagSetId: 'shop' } });

  res = await one('limit', '{"context": ');
  assert.equal(res.status, 400);
  assert.equal((await json(res)).errorCode, 'PARSE_ERROR');
  res = await one('limit', { context: 'me' });
  assert.equal(res.status, 400);
  assert.deepEqual(await res.json(), { key: 'limit', errorCode: 'INVALID_CONTEXT', errorDetails: 'context must be an object' });
  res = await one('limit', { context: { targetingKey: 42 } });
  assert.equal((await json(res)).errorCode, 'INVALID_CONTEXT');
  res = await one('limit', { context: { pad: 'x'.repeat(70_000) } });
  assert.equal(res.status, 413);
  res = await one('caf%C3%A9', {});
  assert.equal((await json(res)).key, 'café');
});

test('bulk evaluation with the official ofrep-core client: ETag, If-None-Match → 304, refetch after a change', async (t) => {
  const { base, registry } = await setup(t);
  const api = new OFREPApi(base);
  const auth = { headers: [['Authorization', 'Bearer read-token']] as [string, string][] };
  const ctx = { context: { targetingKey: 'user-1', email: 'z@example.com' } };

  const first = await api.postBulkEvaluateFlags(ctx, auth);
  assert.equal(first.httpStatus, 200);
  const etag = first.httpResponse.headers.get('etag')!;
  assert.ok(etag);
  const body = first.value as { flags: { key: string; value?: unknown; reason: string }[]; metadata: unknown; eventStreams: unknown };
  assert.deepEqual(body.flags.map((f) => f.key), ['new-checkout', 'color', 'limit', 'layout', 'retired', 'codeDefault']);
  assert.equal(body.flags[0].value, true);
  assert.deepEqual(body.flags[4], { key: 'retired', reason: 'DISABLED', metadata: { flagSetId: 'shop' } });
  assert.deepEqual(body.metadata, { flagSetId: 'shop' });
  assert.deepEqual(body.eventStreams, [{ type: 'sse', endpoint: { requestUri: '/ofrep/v1/events' } }]);

  const again = await api.postBulkEvaluateFlags(ctx, { headers: [...auth.headers, ['If-None-Match', etag]] });
  assert.equal(again.httpStatus, 304);
  assert.equal(again.httpResponse.headers.get('etag'), etag);

  const otherCtx = await api.postBulkEvaluateFlags({ context: { targetingKey: 'user-1', email: 'z@else.com' } }, { headers: [...auth.headers, ['If-None-Match', etag]] });
  assert.equal(otherCtx.httpStatus, 200, 'the ETag covers the evaluated values, so another context gets a fresh answer');

  const changed = loadFlagSet({ ...FLAGS, flags: { ...FLAGS.flags, limit: { state: 'ENABLED', variants: { low: 10, high: 100 }, defaultVariant: 'low' } } });
  assert.ok(changed.ok);
  registry.replace(changed.set);
  const after = await api.postBulkEvaluateFlags(ctx, { headers: [...auth.headers, ['If-None-Match', etag]] });
  assert.equal(after.httpStatus, 200);
  assert.notEqual(after.httpResponse.headers.get('etag'), etag);

  const bad = await post(`${base}/ofrep/v1/evaluate/flags`, { context: [1] });
  assert.equal(bad.status, 400);
  assert.deepEqual(await bad.json(), { errorCode: 'INVALID_CONTEXT', errorDetails: 'context must be an object' });
});

test('429 with Retry-After once a caller exceeds its rate; other callers and later requests pass', async (t) => {
  let now = 1_700_000_000_000;
  const { base } = await setup(t, { perSecond: 1, burst: 2 }, () => now);
  const url = `${base}/ofrep/v1/evaluate/flags/limit`;
  assert.equal((await post(url, {})).status, 200);
  assert.equal((await post(url, {})).status, 200);
  const limited = await post(url, {});
  assert.equal(limited.status, 429);
  assert.equal(limited.headers.get('retry-after'), '1');
  assert.equal((await post(url, {}, { authorization: 'Bearer other-token' })).status, 200);
  now += 1000;
  assert.equal((await post(url, {})).status, 200);

  await OpenFeature.setProviderAndWait('limited', new OFREPProvider({ baseUrl: base, headers: { Authorization: 'Bearer read-token' } }));
  t.after(() => OpenFeature.clearProviders());
  const r = await OpenFeature.getClient('limited').getNumberDetails('limit', 7, {});
  assert.deepEqual([r.value, r.reason], [7, 'ERROR']);
});

/** Reads SSE events from a streaming response until `n` events have arrived. */
function sse(url: string, headers: Record<string, string>) {
  const events: { id?: string; data: string }[] = [];
  let buf = '';
  let waiter: (() => void) | null = null;
  const req = http.get(url, { headers: { authorization: 'Bearer read-token', ...headers } });
  const ready = new Promise<http.IncomingMessage>((resolve, reject) => {
    req.on('response', (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
          const id = block.split('\n').find((l) => l.startsWith('id: '))?.slice(4);
          if (data) events.push({ id, data });
        }
        waiter?.();
      });
      resolve(res);
    });
    req.on('error', reject);
  });
  return {
    ready,
    events,
    async waitFor(n: number) {
      while (events.length < n) await new Promise<void>((resolve) => { waiter = resolve; });
    },
    close: () => req.destroy(),
  };
}

test('SSE change stream: refetchEvaluation on every change, immediate catch-up for a stale Last-Event-ID', { timeout: 10_000 }, async (t) => {
  const { base, registry } = await setup(t);
  const stream = sse(`${base}/ofrep/v1/events`, {});
  t.after(() => stream.close());
  const res = await stream.ready;
  assert.equal(res.statusCode, 200);
  assert.match(res.headers['content-type']!, /^text\/event-stream/);

  const next = loadFlagSet({ flags: { only: { state: 'ENABLED', variants: { a: 1 }, defaultVariant: 'a' } } });
  assert.ok(next.ok);
  registry.replace(next.set);
  await stream.waitFor(1);
  assert.equal(stream.events[0].id, '2');
  assert.deepEqual(JSON.parse(stream.events[0].data), { type: 'refetchEvaluation', etag: '"flags-2"', lastModified: 1_700_000_000 });

  const late = sse(`${base}/ofrep/v1/events`, { 'last-event-id': '1' });
  t.after(() => late.close());
  await late.waitFor(1);
  assert.equal(late.events[0].id, '2');

  const unauth = await fetch(`${base}/ofrep/v1/events`);
  assert.equal(unauth.status, 401);
});

test('static and header-mapped context override the request body, in flagd\'s order', async (t) => {
  const { base } = await setup(t, undefined, undefined, {
    staticContext: { email: 'ops@example.com' },
    contextFromHeaders: { 'X-User-Email': 'email' },
  });
  const url = `${base}/ofrep/v1/evaluate/flags/new-checkout`;
  const value = async (body: unknown, headers: Record<string, string> = {}) =>
    ((await (await post(url, body, { authorization: 'Bearer read-token', ...headers })).json()) as { value: boolean }).value;
  assert.equal(await value({ context: { email: 'a@b.c' } }), true, 'static context beats the body');
  assert.equal(await value({ context: {} }, { 'x-user-email': 'a@b.c' }), false, 'the header beats static context');
  assert.equal(await value(''), true);
});
