import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { queryCommand } from '../../src/cli/commands/query.ts';
import type { CliIO } from '../../src/cli/command.ts';
import { newErrorsIn } from '../../src/events/errors-index.ts';
import type { BubbleUpResult } from '../../src/events/bubbleup.ts';
import type { ErrorGroup } from '../../src/events/errors-index.ts';
import { createProxyMetrics } from '../../src/events/metrics.ts';
import { createEventsRoutes } from '../../src/events/routes.ts';
import type { WideEvent } from '../../src/events/schema.ts';
import { NOW, event, generateEvents, openStore, seeded, serve, tempDir } from './helpers.ts';

const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

test('POST /api/v1/events takes flat and Honeycomb batch items; POST /api/v1/query answers over HTTP', async (t) => {
  const store = await openStore(t);
  const url = await serve(t, createEventsRoutes(store));
  const res = await post(`${url}/api/v1/events`, [
    { 'service.name': 'shop', duration_ms: 10, timestamp: NOW - 1000, 'http.response.status_code': 200 },
    { time: new Date(NOW - 2000).toISOString(), data: { 'service.name': 'shop', duration_ms: 30, app: { plan: 'pro', tags: ['a'] } } },
    { 'service.name': 'shop', duration_ms: 20 },
    'not an event',
  ]);
  assert.deepEqual(await res.json(), [{ status: 202 }, { status: 202 }, { status: 202 }, { status: 400, error: '[3]: must be an object' }]);
  await store.flush();
  const q = await post(`${url}/api/v1/query`, { calculations: [{ op: 'COUNT' }, { op: 'SUM', column: 'duration_ms' }], breakdowns: ['app.plan'], time_range: 60, orders: [{ column: 'app.plan' }] });
  assert.equal(q.status, 200);
  const body = await q.json() as { data: { results: { data: Record<string, unknown> }[] } };
  assert.deepEqual(body.data.results.map((r) => r.data), [{ 'app.plan': 'pro', COUNT: 1, 'SUM(duration_ms)': 30 }, { 'app.plan': null, COUNT: 2, 'SUM(duration_ms)': 30 }]);
  const rows = await store.sql(`SELECT "app.tags", "timestamp" FROM events WHERE "app.plan" = 'pro'`);
  assert.equal(rows[0]['app.tags'], '["a"]');
  assert.equal(Number(rows[0].timestamp), NOW - 2000);
  const stamped = await store.sql(`SELECT "timestamp" FROM events WHERE duration_ms = 20`);
  assert.equal(Number(stamped[0].timestamp), NOW, 'no timestamp: the store clock stamps it');

  const bad = await post(`${url}/api/v1/query`, { calculations: [{ op: 'P99', column: 'nope' }] });
  assert.equal(bad.status, 400);
  const err = await bad.json() as { error: { code: string; details: { path: string }[] } };
  assert.equal(err.error.code, 'QUERY_INVALID');
  assert.equal(err.error.details[0].path, 'calculations[0].column');
});

test('BubbleUp ranks the field that explains slow requests first, with shares and histograms', async (t) => {
  const store = await openStore(t);
  const url = await serve(t, createEventsRoutes(store));
  const r = seeded(3);
  const events: WideEvent[] = [];
  for (let i = 0; i < 5000; i++) {
    const region = ['eu', 'us', 'ap'][Math.floor(r() * 3)];
    const slow = region === 'ap' && r() < 0.8;
    events.push(event({ timestamp: NOW - 1000 - i, 'app.region': region, 'app.noise': r() < 0.5 ? 'x' : 'y', 'app.session': `s${Math.floor(r() * 1500)}`, 'request.id': `id${i}`, duration_ms: slow ? 900 + r() * 100 : r() * 200 }));
  }
  store.ingest(structuredClone(events));
  await store.flush();
  const res = await post(`${url}/api/v1/bubbleup`, { selection: { filters: [{ column: 'duration_ms', op: '>', value: 800 }] }, time_range: 3600 });
  assert.equal(res.status, 200);
  const b = await res.json() as BubbleUpResult;
  const sel = events.filter((e) => e.duration_ms > 800);
  assert.equal(b.selection.count, sel.length);
  assert.equal(b.baseline.count, events.length - sel.length);
  assert.equal(b.dimensions[0].field, 'app.region');
  const ap = b.dimensions[0].values.find((v) => v.value === 'ap')!;
  assert.equal(ap.selection, 1);
  assert.equal(ap.baseline_count, events.filter((e) => e.duration_ms <= 800 && e['app.region'] === 'ap').length);
  // Independent TVD for app.region.
  const share = (list: WideEvent[], v: string) => list.filter((e) => e['app.region'] === v).length / list.length;
  const base = events.filter((e) => e.duration_ms <= 800);
  const tvd = ['eu', 'us', 'ap'].reduce((a, v) => a + Math.abs(share(sel, v) - share(base, v)), 0) / 2;
  assert.ok(Math.abs(b.dimensions[0].score - tvd) < 1e-12);
  assert.ok(b.dimensions.find((d) => d.field === 'app.noise')!.score < 0.1);
  const session = b.dimensions.find((d) => d.field === 'app.session')!;
  assert.equal(session.cardinality, new Set(events.map((e) => e['app.session'])).size);
  assert.ok(session.cardinality > 1000, 'wide enough for a query of its own');
  assert.ok(session.score < 0.2, `1500 rare values, independent of the selection, score low once the tail is merged (${session.score})`);
  assert.ok(b.skipped.some((s) => s.field === 'request.id'), 'ids are skipped, not ranked');
  assert.ok(!b.dimensions.some((d) => d.field === 'duration_ms'), 'the selection field itself is left out');
  const numeric = await store.query({ calculations: ['COUNT'], time_range: 3600 });
  assert.equal(numeric.data.results[0].data.COUNT, 5000);
});

test('BubbleUp histograms for numeric fields', async (t) => {
  const store = await openStore(t);
  const events: WideEvent[] = [];
  for (let i = 0; i < 400; i++) events.push(event({ timestamp: NOW - 10 - i, 'request.id': `r${i}`, 'app.size': i % 2 === 0 ? 1000 : 10, duration_ms: i % 2 === 0 ? 900 : 10 }));
  store.ingest(events);
  await store.flush();
  const { bubbleUp } = await import('../../src/events/bubbleup.ts');
  const b = await bubbleUp(store, { selection: { filters: [{ column: 'duration_ms', op: '>', value: 800 }] }, time_range: 60, fields: ['app.size'] });
  assert.equal(b.dimensions[0].kind, 'numeric');
  assert.equal(b.dimensions[0].score, 1);
  const top = b.dimensions[0].histogram!.at(-1)!;
  assert.deepEqual([top.selection, top.baseline, top.upper], [1, 0, 1000]);
});

test('GET /api/v1/errors groups by fingerprint per service and version and marks errors new in one version', async (t) => {
  const store = await openStore(t);
  const url = await serve(t, createEventsRoutes(store));
  const ev = (version: string, extra: Record<string, string | number>, ago: number): WideEvent => event({ timestamp: NOW - ago, 'service.version': version, 'http.request.method': undefined, 'url.path': undefined, ...extra });
  store.ingest([
    ev('v1', { 'exception.type': 'DbError', 'exception.message': 'row 1 locked' }, 5000),
    ev('v2', { 'exception.type': 'DbError', 'exception.message': 'row 2 locked' }, 4000),
    ev('v2', { 'exception.type': 'TypeError', 'exception.message': "cannot read 'sku' of undefined (cart 77)" }, 3000),
    ev('v2', { 'exception.type': 'TypeError', 'exception.message': "cannot read 'sku' of undefined (cart 78)" }, 2000),
    ev('v1', { 'http.response.status_code': 503, 'error.type': 'UPSTREAM_TIMEOUT', 'http.route': 'shop/api' }, 1000),
    ev('v1', {}, 500),
  ]);
  await store.flush();
  const res = await fetch(`${url}/api/v1/errors?service=shop&since=1h`);
  const { errors } = await res.json() as { errors: ErrorGroup[] };
  assert.equal(errors.length, 3);
  const byTitle = (prefix: string) => errors.find((e) => e.title.startsWith(prefix))!;
  const [type, db, status] = [byTitle('TypeError'), byTitle('DbError'), byTitle('UPSTREAM_TIMEOUT')];
  assert.equal(errors[2], status, 'ordered by count');
  assert.equal(type.count, 2);
  assert.equal(type.title, "TypeError: cannot read 'sku' of undefined (cart 78)");
  assert.equal(type.new_in, 'v2');
  assert.deepEqual(type.versions, [{ service: 'shop', version: 'v2', count: 2 }]);
  assert.equal(type.first_seen, new Date(NOW - 3000).toISOString());
  assert.equal(type.last_seen, new Date(NOW - 2000).toISOString());
  assert.equal(db.count, 2);
  assert.equal(db.new_in, undefined);
  assert.equal(status.title, 'UPSTREAM_TIMEOUT (HTTP 503 shop/api)');
  assert.equal(status.new_in, 'v1');
  const fresh = await newErrorsIn(store, { service: 'shop', version: 'v2', baseline: 'v1', since: NOW - 3_600_000 });
  assert.deepEqual(fresh.map((f) => [f.title, f.count, f.rate]), [["TypeError: cannot read 'sku' of undefined (cart 78)", 2, 2 / 3]]);
  const viaApi = await fetch(`${url}/api/v1/errors/new?service=shop&version=v2&baseline=v1&since=1h`);
  assert.equal(((await viaApi.json()) as { errors: unknown[] }).errors.length, 1);
});

test('/metrics: request counters and latency histograms by service, version, status class and traffic; sink gauges', async (t) => {
  const metrics = createProxyMetrics();
  const store = await openStore(t);
  metrics.watchSink('store', store);
  for (const e of generateEvents(200, 9)) metrics.record(e);
  const url = await serve(t, [metrics.route]);
  const res = await fetch(`${url}/metrics`);
  assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
  const text = await res.text();
  const count = (labels: string) => Number(new RegExp(`weir_proxy_requests_total\\{${labels}\\} (\\d+)`).exec(text)?.[1] ?? 0);
  const events = generateEvents(200, 9);
  const expected = events.filter((e) => e['service.name'] === 'shop' && e['service.version'] === 'v2' && e['http.response.status_code'] === 503 && e['weir.traffic'] === 'live').length;
  assert.equal(count('service="shop",version="v2",status_class="5xx",traffic="live"'), expected);
  assert.match(text, /weir_proxy_request_duration_seconds_bucket\{le="0.005",service="shop",version="v1",status_class="2xx",traffic="live"\} \d+/);
  assert.match(text, /weir_event_sink_queued\{sink="store"\} 0/);
  assert.match(text, /weir_event_sink_dropped\{sink="store"\} 0/);
  const total = [...text.matchAll(/weir_proxy_requests_total\{[^}]*\} (\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
  assert.equal(total, 200);
  const v1ok = events.filter((e) => e['service.name'] === 'shop' && e['service.version'] === 'v1' && e['http.response.status_code'] === 200 && e['weir.traffic'] === 'live');
  const labels = 'service="shop",version="v1",status_class="2xx",traffic="live"';
  const line = (name: string, extra = '') => Number(new RegExp(`${name}\\{${extra}${labels}\\} ([\\d.e+-]+)`).exec(text)?.[1]);
  assert.equal(line('weir_proxy_request_duration_seconds_count'), v1ok.length);
  assert.equal(line('weir_proxy_request_duration_seconds_bucket', 'le="\\+Inf",'), v1ok.length);
  assert.ok(Math.abs(line('weir_proxy_request_duration_seconds_sum') - v1ok.reduce((a, e) => a + e.duration_ms / 1000, 0)) < 1e-9);
  assert.equal(line('weir_proxy_request_duration_seconds_bucket', 'le="0.05",'), v1ok.filter((e) => e.duration_ms / 1000 <= 0.05).length);
  metrics.record(events[0]);
  const again = await metrics.metrics();
  const total2 = [...again.matchAll(/weir_proxy_requests_total\{[^}]*\} (\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
  assert.equal(total2, 201, 'a second scrape adds only what happened since the first');
});

test('weir query: flags or --spec, a table by default and JSON with --json, through the API', async (t) => {
  const store = await openStore(t);
  store.ingest(generateEvents(500, 5));
  await store.flush();
  const url = await serve(t, createEventsRoutes(store));
  const run = async (args: string[]) => {
    let out = '';
    const io: CliIO = { stdout: (s) => (out += s), stderr: () => undefined, env: { WEIR_URL: url, WEIR_TOKEN: 'x' }, cwd: tempDir(t), signal: new AbortController().signal };
    const code = await queryCommand.run(args, io);
    return { code, out, cwd: io.cwd };
  };
  const table = await run(['--calc', 'COUNT', '--calc', 'P99(duration_ms)', '--where', 'status>=500', '--by', 'version', '--last', '2h', '--order', 'version asc']);
  assert.equal(table.code, 0);
  const lines = table.out.split('\n');
  // Each group's series follows as sparklines ("… over time" columns) since the CLI draws them.
  assert.match(lines[0], /^version\s+COUNT\s+P99\(duration_ms\)(\s+COUNT over time\s+P99\(duration_ms\) over time)?$/);
  assert.match(lines[1], /^v\d\s+\d+\s+[\d.]+(\s|$)/);
  const versions = lines.slice(1).filter((l) => /^v\d/.test(l)).map((l) => l.split(/\s+/)[0]);
  assert.deepEqual(versions, [...versions].sort());
  const withSeries = await run(['--by', 'version', '--last', '2h', '--granularity', '30m', '--series']);
  assert.match(withSeries.out, /\ntime +version +COUNT\n2026-01-15T1\d:\d0:00\.000Z +v\d +\d+\n/);
  const json = await run(['--calc', 'COUNT', '--where', 'path starts-with /api', '--where', 'app.plan exists', '--json', '--last', '2h']);
  const parsed = JSON.parse(json.out) as { data: { results: { data: { COUNT: number } }[] } };
  const expected = generateEvents(500, 5).filter((e) => String(e['url.path']).startsWith('/api') && e['app.plan'] !== undefined).length;
  assert.equal(parsed.data.results[0].data.COUNT, expected);
  const dir = tempDir(t);
  writeFileSync(join(dir, 'q.json'), JSON.stringify({ calculations: [{ op: 'COUNT' }], time_range: 7200 }));
  let out = '';
  const code = await queryCommand.run(['--spec', join(dir, 'q.json'), '--json'], { stdout: (s) => (out += s), stderr: () => undefined, env: { WEIR_URL: url, WEIR_TOKEN: 'x' }, cwd: dir, signal: new AbortController().signal });
  assert.equal(code, 0);
  assert.equal((JSON.parse(out) as { data: { results: { data: { COUNT: number } }[] } }).data.results[0].data.COUNT, 500);
});
