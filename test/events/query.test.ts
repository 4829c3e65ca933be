import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WeirError } from '../../src/errors.ts';
import type { QueryResult } from '../../src/events/query/shape.ts';
import type { QueryStrategy } from '../../src/events/query/execute.ts';
import type { WideEvent } from '../../src/events/schema.ts';
import type { EventStore } from '../../src/events/store.ts';
import { NOW, event, generateEvents, openStore } from './helpers.ts';
import { bucketCounts, evaluate, nameOf } from './oracle.ts';
import type { OSpec } from './oracle.ts';

const HOUR = 3_600_000;
const STRATEGIES = ['one-pass', 'two-pass', 'series-first'] as const;
const N = 3000;

async function loaded(t: import('node:test').TestContext): Promise<{ store: EventStore; events: WideEvent[] }> {
  const events = generateEvents(N, 42);
  const store = await openStore(t);
  store.ingest(structuredClone(events));
  await store.flush();
  return { store, events };
}

function close(actual: unknown, expected: number | null, label: string): void {
  if (expected === null) return assert.equal(actual, null, label);
  assert.equal(typeof actual, 'number', `${label}: ${JSON.stringify(actual)}`);
  const a = actual as number;
  assert.ok(Math.abs(a - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `${label}: got ${a}, expected ${expected}`);
}

/** Runs the spec through the store and the oracle, compares groups, order and every calculation. */
/** Every query strategy must give the same answer; `check` runs each and compares with the oracle. */
async function check(store: EventStore, events: WideEvent[], spec: Omit<OSpec, 'startMs' | 'endMs'> & { time_range?: number }): Promise<QueryResult> {
  await checkWith(store, events, spec, 'one-pass');
  await checkWith(store, events, spec, 'series-first');
  return checkWith(store, events, spec, 'two-pass');
}

async function checkWith(store: EventStore, events: WideEvent[], spec: Omit<OSpec, 'startMs' | 'endMs'> & { time_range?: number }, strategy: QueryStrategy): Promise<QueryResult> {
  const { time_range = 3600, ...rest } = spec;
  const result = await store.query({ ...rest, time_range }, { strategy });
  const expected = evaluate(events, { ...rest, startMs: NOW + 1 - time_range * 1000, endMs: NOW + 1 });
  const label = `${strategy} ${JSON.stringify(spec)}`;
  assert.equal(result.data.results.length, expected.length, `group count for ${label}`);
  expected.forEach((row, i) => {
    const got = result.data.results[i].data;
    (spec.breakdowns ?? []).forEach((b, j) => assert.deepEqual(got[b], row.group[j], `group ${i} ${b} for ${label}`));
    spec.calculations.forEach((c, j) => close(got[nameOf(c)], row.calcs[j], `${nameOf(c)} group ${i} for ${label}`));
  });
  return result;
}

test('every calculation matches a plain-JS evaluation, overall and by version', async (t) => {
  const { store, events } = await loaded(t);
  const calculations = [
    { op: 'COUNT' }, { op: 'CONCURRENCY' }, { op: 'SUM', column: 'duration_ms' }, { op: 'AVG', column: 'duration_ms' },
    { op: 'MIN', column: 'duration_ms' }, { op: 'MAX', column: 'http.response.body.size' }, { op: 'COUNT_DISTINCT', column: 'app.user_id' },
    ...['P001', 'P01', 'P05', 'P10', 'P20', 'P25', 'P50', 'P75', 'P80', 'P90', 'P95', 'P99', 'P999'].map((op) => ({ op, column: 'duration_ms' })),
  ];
  await check(store, events, { calculations });
  await check(store, events, { calculations, breakdowns: ['version'] });
  await check(store, events, { calculations, breakdowns: ['service.name', 'app.plan'] });
});

test('every filter op, with aliases, custom fields, booleans and missing values', async (t) => {
  const { store, events } = await loaded(t);
  const calculations = [{ op: 'COUNT' }, { op: 'AVG', column: 'duration_ms' }];
  const filters = [
    { column: 'status', op: '=', value: 503 },
    { column: 'status', op: '!=', value: 200 },
    { column: 'duration_ms', op: '>', value: 100 },
    { column: 'duration_ms', op: '>=', value: '100' },
    { column: 'duration_ms', op: '<', value: 20 },
    { column: 'duration_ms', op: '<=', value: 20 },
    { column: 'version', op: '>', value: 'v1' },
    { column: 'path', op: 'starts-with', value: '/api/c' },
    { column: 'path', op: 'does-not-start-with', value: '/api' },
    { column: 'path', op: 'ends-with', value: '/7' },
    { column: 'path', op: 'does-not-end-with', value: '/7' },
    { column: 'app.plan', op: 'exists' },
    { column: 'app.plan', op: 'does-not-exist' },
    { column: 'route', op: 'contains', value: 'user' },
    { column: 'app.plan', op: 'does-not-contain', value: 'pr' },
    { column: 'status', op: 'contains', value: '50' },
    { column: 'version', op: 'in', value: ['v1', 'v3'] },
    { column: 'app.plan', op: 'not-in', value: ['pro'] },
    { column: 'status', op: 'in', value: [404, '503'] },
    { column: 'app.beta', op: '=', value: true },
    { column: 'app.beta', op: '!=', value: 'true' },
    { column: 'app.plan', op: '!=', value: 'free' },
  ];
  for (const f of filters) await check(store, events, { calculations, filters: [f], breakdowns: ['version'] });
  await check(store, events, { calculations, filters: [filters[0], filters[6]], filter_combination: 'AND' });
  await check(store, events, { calculations, filters: [filters[0], filters[4], filters[11]], filter_combination: 'OR', breakdowns: ['app.plan'] });
});

test('orders, havings and limits pick and sort the groups', async (t) => {
  const { store, events } = await loaded(t);
  await check(store, events, { calculations: [{ op: 'COUNT' }], breakdowns: ['app.user_id'], limit: 7 });
  await check(store, events, { calculations: [{ op: 'COUNT' }, { op: 'P99', column: 'duration_ms' }], breakdowns: ['route'], orders: [{ op: 'P99', column: 'duration_ms', order: 'descending' }] });
  await check(store, events, { calculations: [{ op: 'COUNT' }], breakdowns: ['route'], orders: [{ column: 'route', order: 'ascending' }] });
  await check(store, events, { calculations: [{ op: 'COUNT' }], breakdowns: ['version', 'route'], orders: [{ column: 'version', order: 'descending' }, { op: 'COUNT', order: 'ascending' }], limit: 5 });
  await check(store, events, { calculations: [{ op: 'COUNT' }, { op: 'AVG', column: 'duration_ms' }], breakdowns: ['app.user_id'], havings: [{ calculate_op: 'COUNT', op: '>', value: 62 }] });
  await check(store, events, { calculations: [{ op: 'COUNT' }, { op: 'MAX', column: 'duration_ms' }], breakdowns: ['app.user_id'], havings: [{ calculate_op: 'MAX', column: 'duration_ms', op: '>=', value: 1000 }, { calculate_op: 'COUNT', op: '<=', value: 70 }], limit: 3 });
  await check(store, events, { calculations: [{ op: 'COUNT' }], breakdowns: ['app.user_id'], time_range: 600, limit: 4 });
});

test('time series: buckets at the granularity, per group, only for the groups kept', async (t) => {
  const { store, events } = await loaded(t);
  const spec = { calculations: [{ op: 'COUNT' }], breakdowns: ['version'], granularity: 600, limit: 2 };
  const result = await check(store, events, spec);
  const expected = bucketCounts(events, { ...spec, startMs: NOW + 1 - HOUR, endMs: NOW + 1 }, 600_000);
  const kept = new Set(result.data.results.map((r) => r.data.version));
  let total = 0;
  for (const p of result.data.series) {
    assert.ok(kept.has(p.data.version), 'series only for kept groups');
    const k = JSON.stringify([p.data.version, Date.parse(p.time)]);
    assert.equal(p.data.COUNT, expected.get(k), `bucket ${k}`);
    assert.equal(Date.parse(p.time) % 600_000, 0);
    total += p.data.COUNT as number;
  }
  assert.equal(total, result.data.results.reduce((a, r) => a + (r.data.COUNT as number), 0));
  assert.equal(result.meta.granularity, 600);
  for (const strategy of STRATEGIES) {
    const nulls = await store.query({ calculations: ['COUNT'], breakdowns: ['app.plan'], time_range: 3600, granularity: 900, limit: 2, orders: [{ column: 'app.plan' }] }, { strategy });
    assert.deepEqual(new Set(nulls.data.series.map((p) => p.data['app.plan'])), new Set(nulls.data.results.map((r) => r.data['app.plan'])), strategy);
    assert.equal(nulls.data.series.reduce((a, p) => a + (p.data.COUNT as number), 0), nulls.data.results.reduce((a, r) => a + (r.data.COUNT as number), 0), strategy);
  }
});

test('HEATMAP buckets cover the range and count every value; RATE_* are differences between buckets', async (t) => {
  const { store, events } = await loaded(t);
  for (const strategy of STRATEGIES) await heatmapAndRates(store, events, strategy);
});

async function heatmapAndRates(store: EventStore, events: WideEvent[], strategy: QueryStrategy): Promise<void> {
  const inRange = events.filter((e) => e.timestamp >= NOW + 1 - HOUR && e['service.version'] === 'v3');
  const durations = inRange.map((e) => e.duration_ms);
  const r = await store.query({ calculations: [{ op: 'COUNT' }, { op: 'HEATMAP', column: 'duration_ms' }], filters: [{ column: 'version', op: '=', value: 'v3' }], time_range: 3600, granularity: 600 }, { strategy });
  const hm = r.data.results[0].data['HEATMAP(duration_ms)'] as { min: number; max: number; buckets: { lower: number; upper: number; count: number }[] };
  assert.equal(hm.min, Math.min(...durations));
  assert.equal(hm.max, Math.max(...durations));
  assert.equal(hm.buckets.reduce((a, b) => a + b.count, 0), durations.length);
  for (const b of hm.buckets) {
    const inBucket = durations.filter((d) => d >= b.lower - 1e-9 && (d < b.upper - 1e-9 || (b.upper === hm.max && d <= hm.max))).length;
    assert.equal(b.count, inBucket, `bucket [${b.lower}, ${b.upper})`);
  }
  const seriesTotal = r.data.series.reduce((a, p) => a + (p.data['HEATMAP(duration_ms)'] as { buckets: { count: number }[] }).buckets.reduce((x, b) => x + b.count, 0), 0);
  assert.equal(seriesTotal, durations.length);

  const rate = await store.query({ calculations: [{ op: 'RATE_MAX', column: 'app.counter' }, { op: 'RATE_SUM', column: 'app.counter' }, { op: 'RATE_AVG', column: 'app.counter' }], time_range: 3600, granularity: 600 }, { strategy });
  const buckets = new Map<number, number[]>();
  for (const e of events) if (e.timestamp >= NOW + 1 - HOUR) {
    const b = Math.floor(e.timestamp / 600_000) * 600_000;
    buckets.set(b, [...(buckets.get(b) ?? []), e['app.counter'] as number]);
  }
  const keys = [...buckets.keys()].sort((a, b) => a - b);
  const agg = { MAX: (v: number[]) => Math.max(...v), SUM: (v: number[]) => v.reduce((a, b) => a + b, 0), AVG: (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length };
  for (const [op, f] of Object.entries(agg)) {
    const diffs = keys.slice(1).map((k, i) => f(buckets.get(k)!) - f(buckets.get(keys[i])!));
    rate.data.series.forEach((p, i) => close(p.data[`RATE_${op}(app.counter)`], i === 0 ? null : diffs[i - 1], `RATE_${op} point ${i}`));
    close(rate.data.results[0].data[`RATE_${op}(app.counter)`], diffs.reduce((a, b) => a + b, 0) / diffs.length, `RATE_${op} total`);
  }
}

/** Series points as sortable strings (points of one bucket come in no particular order). */
const points = (r: QueryResult) => r.data.series.map((p) => JSON.stringify(p)).sort();

test('series first: percentile totals are bit for bit quantile_cont, with their series, for every percentile and numeric type', async (t) => {
  const { store } = await loaded(t);
  const pct = ['P001', 'P01', 'P05', 'P10', 'P20', 'P25', 'P50', 'P75', 'P80', 'P90', 'P95', 'P99', 'P999'];
  const specs = [
    { calculations: pct.map((op) => ({ op, column: 'duration_ms' })), breakdowns: ['version'] },
    { calculations: [{ op: 'P50', column: 'status' }, { op: 'P99', column: 'http.response.body.size' }, { op: 'COUNT' }, { op: 'AVG', column: 'duration_ms' }], breakdowns: ['app.plan'] },
    { calculations: [{ op: 'P99', column: 'duration_ms' }, { op: 'HEATMAP', column: 'duration_ms' }], filters: [{ column: 'status', op: '!=', value: 404 }] },
    { calculations: [{ op: 'P90', column: 'duration_ms' }, { op: 'COUNT' }], breakdowns: ['version', 'app.beta'], havings: [{ calculate_op: 'COUNT', op: '>', value: 40 }], orders: [{ op: 'P90', column: 'duration_ms', order: 'ascending' }], limit: 3 },
  ];
  for (const spec of specs) {
    for (const granularity of [60, 300, 900]) {
      const q = { ...spec, time_range: 3600, granularity };
      const plain = await store.query(q, { strategy: 'two-pass' });
      const first = await store.query(q, { strategy: 'series-first' });
      assert.deepEqual(first.data.results, plain.data.results, JSON.stringify(q));
      assert.deepEqual(points(first), points(plain), JSON.stringify(q));
    }
  }
});

test('series first: a group whose window misses its ranks (one bucket, an interpolated median) gets quantile_cont over its own events', async (t) => {
  const store = await openStore(t);
  const at = NOW - 1000;
  const many = Array.from({ length: 400 }, (_, i) => event({ timestamp: NOW - 1000 - (i % 4) * 60_000, 'service.version': 'v3', duration_ms: (i * 37) % 101 }));
  store.ingest([...[1, 2, 3, 10].map((d, i) => event({ timestamp: at, 'service.version': i < 2 ? 'v1' : undefined, duration_ms: d })), ...many]);
  await store.flush();
  for (const breakdowns of [['version'], []]) {
    const q = { calculations: ['P50(duration_ms)', 'P25(duration_ms)', 'COUNT'], breakdowns, time_range: 300, granularity: 60 };
    const first = await store.query(q, { strategy: 'series-first' });
    assert.deepEqual(first.data.results, (await store.query(q, { strategy: 'two-pass' })).data.results, JSON.stringify(breakdowns));
    if (breakdowns.length > 0) assert.deepEqual(first.data.results.slice(1).map((r) => [r.data.version, r.data['P50(duration_ms)']]), [[null, 6.5], ['v1', 1.5]]);
  }
});

test('invalid specs fail with QUERY_INVALID and the path of every problem', async (t) => {
  const { store } = await loaded(t);
  await assert.rejects(store.query({
    calculations: [{ op: 'P98', column: 'duration_ms' }, { op: 'AVG', column: 'version' }, { op: 'COUNT' }],
    filters: [{ column: 'duraton_ms', op: '>', value: 1 }, { column: 'status', op: 'like', value: 1 }, { column: 'status', op: '=', value: 'abc' }],
    breakdowns: ['nope'], orders: [{ op: 'P50', column: 'duration_ms' }], havings: [{ calculate_op: 'COUNT', op: '>', value: 'x' }],
    limit: 0, granularity: 0.5,
  }), (err: unknown) => {
    assert.ok(err instanceof WeirError);
    assert.equal(err.code, 'QUERY_INVALID');
    assert.equal(err.status, 400);
    const paths = (err.details as { path: string }[]).map((d) => d.path);
    for (const p of ['calculations[0].op', 'calculations[1].column', 'filters[0].column', 'filters[1].op', 'filters[2].value', 'breakdowns[0]', 'orders[0]', 'havings[0].value', 'limit', 'granularity']) {
      assert.ok(paths.includes(p), `missing ${p} in ${paths.join(', ')}`);
    }
    assert.match(err.message, /did you mean "duration_ms"/);
    return true;
  });
});

test('a query past its time limit is interrupted with QUERY_TIMEOUT; row limit truncates the series', async (t) => {
  const { store } = await loaded(t);
  await assert.rejects(store.sql('SELECT count(*) FROM range(100000000000) a', [], { timeoutMs: 50 }), (err: unknown) => {
    assert.ok(err instanceof WeirError);
    assert.equal(err.code, 'QUERY_TIMEOUT');
    return true;
  });
  const r = await store.query({ calculations: ['COUNT'], breakdowns: ['app.user_id'], granularity: 60, time_range: 3600 }, { maxRows: 100 });
  assert.equal(r.meta.truncated, true);
  assert.equal(r.data.series.length, 100);
  assert.equal(r.data.results.length, 50);
});
