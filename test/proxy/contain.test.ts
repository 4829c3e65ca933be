import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { backend, echo, proxyFor, until } from './helpers.ts';
import { createProxyMetrics } from '../../src/events/metrics.ts';
import { addWorkerInternalErrors, internalErrorCount, reportInternalError, setInternalErrorLog, LOG_INTERVAL_MS } from '../../src/proxy/internal-error.ts';

// A bug in Weir's own request handling must cost one request, not the process: these tests make the
// proxy's injected dependencies (its randomness, its event consumer) throw at chosen points and check
// that the request gets an honest answer, the error is counted and logged, and the next request is
// served. Without the containment each of them ends the test process with an uncaught exception.

/** Collects the internal-error log for the test (and puts the writer back after it). */
function captureLog(t: { after(fn: () => void): void }): string[] {
  const lines: string[] = [];
  const prev = setInternalErrorLog((l) => lines.push(l));
  t.after(() => setInternalErrorLog(prev));
  return lines;
}

test('an exception while routing, before any exchange, answers 500 INTERNAL and the proxy goes on serving', async (t) => {
  const log = captureLog(t);
  const up = await backend(t, echo('stable'));
  let calls = 0;
  const random = () => {
    if (++calls === 2) throw new Error('random source broke');
    return 0.5;
  };
  const { url, proxy } = await proxyFor(t, { shop: { match: { pathPrefix: '/' }, versions: { stable: up.url } } }, { random });
  const before = internalErrorCount();
  assert.equal((await request(`${url}/one`)).statusCode, 200);
  const broken = await request(`${url}/two`);
  assert.equal(broken.statusCode, 500);
  assert.equal(((await broken.body.json()) as { error: { code: string } }).error.code, 'INTERNAL');
  assert.equal((await request(`${url}/three`)).statusCode, 200);
  assert.equal(internalErrorCount(), before + 1);
  assert.match(log.join(''), /internal error while handling a request[\s\S]*random source broke/);
  assert.equal(proxy.stats().inflight, 0);
  const scraped = await createProxyMetrics().metrics();
  assert.equal(Number(/^weir_proxy_internal_errors_total (\d+)$/m.exec(scraped)?.[1]), internalErrorCount());
});

test('an exception inside an exchange, before the upstream is asked, answers 500 and records INTERNAL on the event', async (t) => {
  captureLog(t);
  const stable = await backend(t, echo('stable'));
  const next = await backend(t, echo('next'));
  // Sticky routing does not consult the randomness; the shadow's 50% sampling does, inside the exchange.
  const random = () => { throw new Error('sampling broke'); };
  const services = { shop: { match: { pathPrefix: '/' }, versions: { stable: stable.url, next: next.url }, weights: { stable: 100 }, stickyBy: 'header:x-user-id', shadow: { version: 'next', percent: 50 } } };
  const { url, proxy, events } = await proxyFor(t, services, { random });
  const res = await request(`${url}/cart`, { headers: { 'x-user-id': 'u1' } });
  assert.equal(res.statusCode, 500);
  assert.equal(((await res.body.json()) as { error: { code: string } }).error.code, 'INTERNAL');
  await until(() => events.length === 1, 'the event');
  assert.equal(events[0]['error.type'], 'INTERNAL');
  assert.equal(events[0]['http.response.status_code'], 500);
  assert.equal(proxy.stats().inflight, 0);
  assert.equal(proxy.stats().versions.get('shop/stable')?.inflight ?? 0, 0);
});

test('an exception while the server is still in the request handler, after the answer, leaves the answer intact', async (t) => {
  const log = captureLog(t);
  const up = await backend(t, echo('stable'));
  const onEvent = (e: Record<string, unknown>) => {
    if (e['error.type'] === 'NO_ROUTE') throw new Error(`consumer broke on ${String(e['url.path'])}`);
  };
  const { url, proxy } = await proxyFor(t, { shop: { match: { pathPrefix: '/api' }, versions: { stable: up.url } } }, { onEvent });
  const before = internalErrorCount();
  // No route: answered 404, then recorded, and the consumer throws, all inside the request handler.
  const none = await request(`${url}/elsewhere`);
  assert.equal(none.statusCode, 404);
  await none.body.dump();
  const ok = await request(`${url}/api/one`);
  assert.equal(ok.statusCode, 200);
  assert.equal(((await ok.body.json()) as { name: string }).name, 'stable');
  assert.equal(internalErrorCount(), before + 1);
  assert.match(log.join(''), /while handling a request[\s\S]*consumer broke on \/elsewhere/);
  assert.equal(proxy.stats().inflight, 0);
});

test('an exception in the event consumer at the end of an upstream response: the user has the whole answer', async (t) => {
  const log = captureLog(t);
  const up = await backend(t, echo('stable'));
  const onEvent = (e: Record<string, unknown>) => {
    if (e['url.path'] === '/boom') throw new Error('consumer broke at the end');
  };
  const { url, proxy } = await proxyFor(t, { shop: { match: { pathPrefix: '/' }, versions: { stable: up.url } } }, { onEvent });
  const before = internalErrorCount();
  const boom = await request(`${url}/boom`);
  assert.equal(boom.statusCode, 200);
  assert.equal(((await boom.body.json()) as { url: string }).url, '/boom');
  assert.equal((await request(`${url}/after`)).statusCode, 200);
  await until(() => internalErrorCount() === before + 1, 'the error counted');
  assert.match(log.join(''), /while handling a response[\s\S]*consumer broke at the end/);
  assert.equal(proxy.stats().inflight, 0);
});

test('the internal-error log writes at most one trace per interval and counts the rest into the next', (t) => {
  const log = captureLog(t);
  const base = 1e12; // far from any real performance.now() the other tests used
  const before = internalErrorCount();
  reportInternalError(new Error('first'), 'request', base);
  reportInternalError(new Error('second'), 'request', base + 1);
  reportInternalError(new Error('third'), 'request', base + 2);
  reportInternalError(new Error('fourth'), 'response', base + LOG_INTERVAL_MS + 5);
  assert.equal(internalErrorCount(), before + 4);
  assert.equal(log.length, 2);
  assert.match(log[0], /first/);
  assert.match(log[1], /while handling a response \(2 more since the last report\)[\s\S]*fourth/);
});

test('errors the proxy workers contained count in the parent\'s metric, without a second log line', async (t) => {
  const log = captureLog(t);
  const before = internalErrorCount();
  addWorkerInternalErrors(3);
  assert.equal(internalErrorCount(), before + 3);
  const scraped = await createProxyMetrics().metrics();
  assert.equal(Number(/^weir_proxy_internal_errors_total (\d+)$/m.exec(scraped)?.[1]), before + 3);
  assert.equal(log.length, 0);
});
