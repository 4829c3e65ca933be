import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fingerprint } from '../../src/events/fingerprint.ts';
import type { WideEvent } from '../../src/events/schema.ts';
import { NOW, event, openStore, seeded } from './helpers.ts';

// The writer fills DuckDB vectors directly (short strings inline, long ones once per chunk, int64 as
// two halves, validity bitmasks); these read every value back through SQL and compare with the input.

const STRINGS = [
  '', 'a', 'twelve bytes', 'thirteen byte', 'żółw', 'żółw żółw', '🐢🐢🐢', 'a\u0000b', 'x'.repeat(300),
  '/api/orders/13', '/api/orders/13', 'tab\tand "quotes"', '\ud800 lone surrogate', 'ascii then ü',
];

test('strings of every length and script, repeated and not, round-trip through the vector writer', async (t) => {
  const store = await openStore(t);
  const r = seeded(7);
  const events: WideEvent[] = Array.from({ length: 5000 }, (_, i) => event({
    timestamp: NOW - i,
    'request.id': `r${i}`,
    'url.path': STRINGS[Math.floor(r() * STRINGS.length)],
    'user_agent.original': i % 3 === 0 ? undefined : `agent/${Math.floor(r() * 5)} (long enough to live in the heap)`,
    'app.s': i % 2048 === 100 ? 'x'.repeat(40 + (i % 7)) : `s${i % 50}`,
  }));
  store.ingest(structuredClone(events));
  await store.flush();
  const rows = await store.sql('SELECT "url.path" AS p, "user_agent.original" AS ua, "app.s" AS s FROM events ORDER BY "timestamp" DESC');
  assert.equal(rows.length, events.length);
  const utf8 = (s: string) => new TextDecoder().decode(new TextEncoder().encode(s)); // lone surrogates become U+FFFD
  rows.forEach((row, i) => {
    const e = events[i];
    assert.deepEqual([row.p, row.ua, row.s], [utf8(e['url.path']), e['user_agent.original'] ?? null, e['app.s']], `row ${i}`);
  });
});

test('numbers: int64 timestamps (negative, past 2^32 and 2^53), INTEGER and DOUBLE limits, conflicts counted', async (t) => {
  const store = await openStore(t);
  const stamps = [0, -1, -4294967296, 4294967295, 4294967296, NOW, 2 ** 53 - 1, -(2 ** 53), 2 ** 60, 1.9, -1.9];
  const events = stamps.map((ts, i) => event({ timestamp: ts, 'request.id': `r${i}` }));
  events.push(event({ 'request.id': 'big', 'http.response.status_code': 2 ** 31, duration_ms: Number.NaN }));
  events.push(event({ 'request.id': 'neg', 'http.response.status_code': -(2 ** 31), duration_ms: -0.5 }));
  events.push(event({ 'request.id': 'inf', 'http.response.status_code': 204.9, duration_ms: Number.POSITIVE_INFINITY }));
  store.ingest(events);
  await store.flush();
  const rows = await store.sql('SELECT "request.id" AS id, "timestamp"::VARCHAR AS ts, "http.response.status_code" AS s, duration_ms AS d FROM events ORDER BY rowid');
  assert.deepEqual(rows.slice(0, stamps.length).map((x) => x.ts), stamps.map((n) => BigInt(Math.trunc(n)).toString()));
  assert.deepEqual(rows.slice(stamps.length).map((x) => [x.id, x.s, x.d]), [['big', null, null], ['neg', -(2 ** 31), -0.5], ['inf', 204, null]]);
  assert.equal(store.stats().typeConflicts, 3, 'a status past INTEGER and two durations that are not finite');
});

test('validity: a column null in one chunk and full in the next, absent, or only sometimes there', async (t) => {
  const store = await openStore(t);
  const events = Array.from({ length: 3 * 2048 + 17 }, (_, i) => {
    const e = event({ timestamp: NOW - i, 'request.id': `r${i}`, 'app.flag': i % 5 === 0 ? i % 2 === 0 : undefined, 'app.n': i >= 2048 && i < 4096 ? i : undefined });
    if (i < 2048 && i % 3 === 0) delete (e as Partial<WideEvent>).duration_ms;
    if (i === 5000) (e as Record<string, unknown>).timestamp = 'not a number';
    return e;
  });
  store.ingest(structuredClone(events));
  await store.flush();
  const rows = await store.sql('SELECT "timestamp" AS ts, duration_ms AS d, "app.flag" AS f, "app.n" AS n, "error.type" AS et FROM events ORDER BY rowid');
  rows.forEach((row, i) => {
    const e = events[i];
    const ts = i === 5000 ? NOW : e.timestamp; // a timestamp that is not a number is the store's clock
    assert.deepEqual([Number(row.ts), row.d, row.f, row.n, row.et], [ts, e.duration_ms ?? null, e['app.flag'] ?? null, e['app.n'] ?? null, null], `row ${i}`);
  });
});

test('error fingerprints are computed at write for error events without one, kept where given', async (t) => {
  const store = await openStore(t);
  const events = [
    event({ 'request.id': 'ok' }),
    event({ 'request.id': '503', 'http.response.status_code': 503, 'http.route': 'shop/api' }),
    event({ 'request.id': 'exc', 'exception.type': 'TypeError', 'exception.message': 'id 7 missing' }),
    event({ 'request.id': 'given', 'http.response.status_code': 500, 'error.fingerprint': 'mine' }),
    event({ 'request.id': 'span', 'otel.status_code': 'ERROR', name: 'GET /x' }),
  ];
  events.push(Object.assign(event({ 'request.id': 'odd' }), { 'http.response.status_code': 'teapot' })); // what a buggy app might send
  store.ingest(structuredClone(events));
  await store.flush();
  const rows = await store.sql('SELECT "request.id" AS id, "error.fingerprint" AS fp FROM events ORDER BY rowid');
  const expected = events.map((e) => e['error.fingerprint'] ?? fingerprint(e)?.id ?? null);
  assert.deepEqual(rows.map((x) => x.fp), expected);
  assert.ok(expected.filter((x) => x !== null).length === 4);
});
