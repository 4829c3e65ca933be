import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEventStore } from '../../src/events/store.ts';
import { NOW, event, generateEvents, openStore, tempDir } from './helpers.ts';

test('custom fields become typed columns; a conflicting value widens the column to VARCHAR; case is folded', async (t) => {
  const store = await openStore(t);
  store.ingest([event({ 'app.n': 1, 'app.flag': true, 'app.s': 'x' }), event({ 'App.N': 2 })]);
  await store.flush();
  const types = Object.fromEntries(store.fields().map((f) => [f.name, f.type]));
  assert.deepEqual([types['app.n'], types['app.flag'], types['app.s']], ['DOUBLE', 'BOOLEAN', 'VARCHAR']);
  assert.deepEqual((await store.sql('SELECT sum("app.n") AS s FROM events'))[0].s, 3);
  const badStatus = event({});
  Object.assign(badStatus, { 'http.response.status_code': 'oops' }); // what a buggy app might send
  store.ingest([event({ 'app.n': 'three', 'app.flag': 'maybe' }), badStatus]);
  await store.flush();
  const after = Object.fromEntries(store.fields().map((f) => [f.name, f.type]));
  assert.deepEqual([after['app.n'], after['app.flag']], ['VARCHAR', 'VARCHAR']);
  const rows = await store.sql('SELECT "app.n" AS n FROM events ORDER BY n');
  assert.deepEqual(rows.map((r) => r.n), ['1.0', '2.0', 'three', null]);
  assert.equal(store.stats().typeConflicts, 1, 'a standard column keeps its type; the bad value is counted');
  const r = await store.query({ calculations: ['COUNT'], filters: [{ column: 'APP.N', op: '=', value: 'three' }], time_range: 60 });
  assert.equal(r.data.results[0].data.COUNT, 1);
});

test('push never blocks or throws: a full queue drops and counts; close() writes everything queued', async (t) => {
  const path = join(tempDir(t), 'e.duckdb');
  const store = await createEventStore({ path, clock: () => NOW, maxQueue: 10, flushIntervalMs: 3_600_000 });
  const events = generateEvents(25, 2);
  assert.equal(store.ingest(events.slice(0, 6)), 6);
  for (const e of events.slice(6)) store.push(e);
  assert.equal(store.queued, 10);
  assert.equal(store.dropped, 15);
  assert.equal(store.full, true);
  await store.close();
  store.push(events[0]);
  assert.equal(store.dropped, 16, 'push after close is a counted drop, not an error');
  const again = await createEventStore({ path, clock: () => NOW });
  t.after(() => again.close());
  assert.equal(Number((await again.sql('SELECT count(*) AS n FROM events'))[0].n), 10);
  assert.ok(again.fields().some((f) => f.name === 'app.user_id'), 'custom columns survive a restart');
});

test('retention deletes by age, then the oldest events until the data fits in maxBytes', async (t) => {
  let now = NOW;
  const store = await openStore(t, { clock: () => now, retention: { maxAgeMs: 30 * 60_000 } });
  store.ingest(generateEvents(2000, 4));
  await store.flush();
  const r = await store.enforceRetention();
  const [{ n, oldest }] = await store.sql('SELECT count(*) AS n, min("timestamp") AS oldest FROM events');
  const expectedLeft = generateEvents(2000, 4).filter((e) => e.timestamp >= NOW - 30 * 60_000).length;
  assert.equal(Number(n), expectedLeft);
  assert.equal(r.deletedByAge, 2000 - expectedLeft);
  assert.ok(Number(oldest) >= NOW - 30 * 60_000);

  const sized = await openStore(t, { clock: () => now, retention: { maxBytes: 1 } });
  sized.ingest(generateEvents(3000, 6));
  await sized.flush();
  const before = Number((await sized.sql('SELECT count(*) AS n FROM events'))[0].n);
  const res = await sized.enforceRetention();
  const left = await sized.sql('SELECT count(*) AS n FROM events');
  assert.ok(res.deletedBySize > 0);
  assert.equal(Number(left[0].n), before - res.deletedBySize);
  now += 1;
});

test('regression: values round-trip across many appender blocks and event-loop yields, with fields that come and go', async (t) => {
  const store = await openStore(t);
  const events = Array.from({ length: 20_000 }, (_, i) => event({
    timestamp: NOW - i, 'request.id': `r${i}`, duration_ms: i / 7,
    ...(i < 100 || (i >= 4200 && i < 4300) ? { 'app.sparse': `s${i}` } : {}),
    ...(i % 2048 === 5 ? { 'error.type': `E${i}` } : {}),
    ...((i >= 2048 && i < 4096) || (i >= 12_000 && i < 12_100) ? { 'app.middle': i } : {}),
  }));
  store.ingest(structuredClone(events));
  await store.flush();
  const rows = await store.sql('SELECT "request.id" AS id, duration_ms AS d, "app.sparse" AS s, "error.type" AS e, "app.middle" AS m FROM events ORDER BY "timestamp" DESC');
  assert.equal(rows.length, events.length);
  rows.forEach((r, i) => {
    const e = events[i];
    assert.deepEqual([r.id, r.d, r.s, r.e, r.m], [e['request.id'], e.duration_ms, e['app.sparse'] ?? null, e['error.type'] ?? null, e['app.middle'] ?? null], `row ${i}`);
  });
});

test('an empty range: one total row of zeros without breakdowns, no groups with them, either strategy', async (t) => {
  const store = await openStore(t);
  for (const strategy of ['one-pass', 'two-pass'] as const) {
    const r = await store.query({ calculations: ['COUNT', 'P99(duration_ms)'], time_range: 60 }, { strategy });
    assert.deepEqual(r.data.results, [{ data: { COUNT: 0, 'P99(duration_ms)': null } }], strategy);
    assert.deepEqual(r.data.series, []);
    const g = await store.query({ calculations: ['COUNT'], breakdowns: ['version'], time_range: 60 }, { strategy });
    assert.deepEqual(g.data.results, []);
    const h = await store.query({ calculations: ['COUNT'], havings: [{ calculate_op: 'COUNT', op: '>', value: 0 }], time_range: 60 }, { strategy });
    assert.deepEqual(h.data.results, [], `${strategy}: a having that fails leaves no row`);
  }
});

test('regression: custom fields named like the planner aliases (t, g0, c0, grp, ord, hm) do not confuse queries', async (t) => {
  const store = await openStore(t);
  store.ingest(Array.from({ length: 300 }, (_, i) => event({ timestamp: NOW - i * 1000, 'service.version': `v${i % 3}`, duration_ms: i, t: i, g0: 'x', c0: i, grp: 1, ord: 2, hm: 'h' })));
  await store.flush();
  for (const strategy of ['one-pass', 'two-pass'] as const) {
    const r = await store.query({ calculations: ['COUNT', 'HEATMAP(duration_ms)', 'CONCURRENCY'], breakdowns: ['version', 'g0'], time_range: 600, granularity: 60, orders: [{ column: 'version' }] }, { strategy });
    assert.deepEqual(r.data.results.map((x) => [x.data.version, x.data.g0, x.data.COUNT]), [['v0', 'x', 100], ['v1', 'x', 100], ['v2', 'x', 100]], strategy);
    assert.equal(r.data.series.reduce((a, p) => a + (p.data.COUNT as number), 0), 300);
  }
});

test('the writer thread: events handed over count against maxQueue until committed; after close, queries say SHUTTING_DOWN', async (t) => {
  const store = await openStore(t, { maxQueue: 5000, flushIntervalMs: 3_600_000 });
  const events = generateEvents(4500, 9);
  assert.equal(store.ingest(events), 4500);
  await new Promise<void>((resolve) => setImmediate(resolve)); // the full column batches are handed over now
  assert.equal(store.queued, 4500, 'handed to the writer thread, not yet committed: still queued');
  assert.equal(store.ingest(events.slice(0, 1000)), 500, 'the bound covers what the writer thread holds');
  await store.flush();
  assert.equal(store.queued, 0);
  assert.equal(store.stats().written, 5000);
  const rows = await store.sql('SELECT "request.id" AS id FROM events ORDER BY rowid');
  assert.deepEqual(rows.map((r) => r.id), [...events, ...events.slice(0, 500)].map((e) => e['request.id']), 'written in push order');
  await store.close();
  await assert.rejects(store.sql('SELECT 1'), (err: unknown) => (err as { code?: string }).code === 'SHUTTING_DOWN');
  await store.close(); // twice is fine
});

test('a store that cannot be opened rejects (and leaves no thread behind)', async (t) => {
  const file = join(tempDir(t), 'not-a-dir');
  writeFileSync(file, 'x');
  await assert.rejects(createEventStore({ path: join(file, 'events.duckdb') }), (err: unknown) => (err as { code?: string }).code === 'INTERNAL');
});

test('an early commit takes exactly the early-flush count (a DuckDB row group by default), the rest waits for the next', async (t) => {
  const store = await openStore(t, { maxQueue: 1000, flushIntervalMs: 3_600_000 }); // early at half the queue: 500
  const events = generateEvents(1000, 11);
  assert.equal(store.ingest(events), 1000);
  await new Promise<void>((resolve) => setImmediate(resolve)); // the early commit is asked for on its own turn
  await store.flush();
  assert.deepEqual([store.stats().flushes, store.stats().written], [2, 1000], 'one commit of 500, then one of the 500 left');
  const rows = await store.sql('SELECT "request.id" AS id FROM events ORDER BY rowid');
  assert.deepEqual(rows.map((r) => r.id), events.map((e) => e['request.id']));
});
