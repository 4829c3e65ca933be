// The pure parts of scale-out, without sockets: backoff, the stream parser, the saved table, election.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backoffDelay, retryAfterMs } from '../../src/runtime/backoff.ts';
import { controlUrls, tableStreamParser } from '../../src/runtime/table-stream.ts';
import { readTableFile, tableShapeProblem, writeTableFile } from '../../src/runtime/table-file.ts';
import { tableEvent } from '../../src/control/stream.ts';
import { startLeaderElection } from '../../src/control/leader.ts';
import type { LeaderLock } from '../../src/control/leader.ts';
import type { RoutingTable } from '../../src/proxy/table.ts';
import { table as makeTable } from '../proxy/helpers.ts';
import { tempDir } from '../tmpdir.ts';

const policy = { baseMs: 250, maxMs: 10_000 };
// Through JSON once, as the stream and the file carry it (undefined fields vanish).
const T = (version: number): RoutingTable => JSON.parse(JSON.stringify(makeTable({ services: { shop: { match: { pathPrefix: '/' }, versions: { stable: 'http://127.0.0.1:1', canary: 'http://127.0.0.1:2' } } } }, version)));

test('backoff doubles from the base to the cap, half fixed and half jitter', () => {
  const lo = [0, 1, 2, 3, 4, 5, 6, 7, 8].map((a) => backoffDelay(a, policy, () => 0));
  const hi = [0, 1, 2, 3, 4, 5, 6, 7, 8].map((a) => backoffDelay(a, policy, () => 1));
  assert.deepEqual(hi, [250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
  assert.deepEqual(lo, hi.map((h) => h / 2));
  assert.equal(backoffDelay(1e6, policy, () => 1), 10_000, 'a huge attempt number stays at the cap');
  assert.equal(backoffDelay(-3, policy, () => 1), 250);
  assert.equal(backoffDelay(2, policy, () => 0.5), 750);
});

test('Retry-After in seconds or as an HTTP date', () => {
  assert.equal(retryAfterMs('3', 0), 3000);
  assert.equal(retryAfterMs(new Date(10_000).toUTCString(), 4000), 6000);
  assert.equal(retryAfterMs('soon', 0), undefined);
  assert.equal(retryAfterMs(undefined, 0), undefined);
});

test('the stream parser yields whole tables from arbitrarily split chunks and skips heartbeats', () => {
  const got: number[] = [];
  const problems: string[] = [];
  const p = tableStreamParser((t) => got.push(t.version), (w) => problems.push(w));
  const text = `retry: 1000\n\n${tableEvent(T(5))}: heartbeat\n\n${tableEvent(T(6))}event: other\ndata: {}\n\n${tableEvent(T(9))}`;
  for (const ch of text) p.feed(ch); // one character at a time: the worst split there is
  assert.deepEqual(got, [5, 6, 9]);
  assert.deepEqual(problems, []);
  p.feed('id: 10\nevent: table\ndata: {"version":10,"services":"no"}\n\n');
  p.feed('id: 11\nevent: table\ndata: {not json\n\n');
  assert.deepEqual(got, [5, 6, 9]);
  assert.match(problems[0], /table event 10: services must be an array/);
  assert.match(problems[1], /table event 11 is not JSON/);
  assert.deepEqual(JSON.parse(tableEvent(T(7)).split('\n')[2].slice(6)), T(7), 'the event carries the whole table');
});

test('table shape check names what is wrong', () => {
  assert.equal(tableShapeProblem(T(1)), null);
  assert.equal(tableShapeProblem(null), 'not an object');
  assert.equal(tableShapeProblem({ version: -1, services: [] }), 'version must be a non-negative number');
  assert.match(String(tableShapeProblem({ version: 1, services: [{ name: 'x', versions: [{ name: 'a' }], weights: {}, match: {} }] })), /services\[0\]\.versions/);
});

test('the saved table is written atomically and read back; a missing or broken file is a problem, not a crash', async (t) => {
  const dir = tempDir('weir-tablefile-');
  const path = join(dir, 'sub', 'proxy-table.json');
  assert.deepEqual(readTableFile(path), { problem: 'no saved table' });
  await writeTableFile(path, T(3));
  await writeTableFile(path, T(4));
  assert.deepEqual(readTableFile(path), { table: T(4) });
  assert.deepEqual(readdirSync(join(dir, 'sub')), ['proxy-table.json'], 'no temp file left behind');
  writeFileSync(path, '{"version": 4, "servi');
  assert.match((readTableFile(path) as { problem: string }).problem, /not JSON/);
});

/** A lock in memory: one holder at a time; `breakConnection` plays a dropped session. */
function fakeLocks() {
  let holder: object | undefined;
  const conns: Array<{ lost: (why: string) => void; id: object; broken: boolean }> = [];
  return {
    connect: async (lost: (why: string) => void): Promise<LeaderLock> => {
      const c = { lost, id: {}, broken: false };
      conns.push(c);
      return {
        tryAcquire: async () => {
          if (c.broken) throw new Error('connection reset');
          holder ??= c.id;
          return holder === c.id;
        },
        check: async () => {
          if (c.broken) throw new Error('connection reset');
          return holder === c.id;
        },
        close: async () => {
          if (holder === c.id) holder = undefined;
        },
      };
    },
    breakHolder() {
      const c = conns.find((x) => x.id === holder && !x.broken)!;
      c.broken = true;
      holder = undefined; // the server ends the session and frees the lock
      c.lost('connection reset');
    },
    stealLock() {
      holder = {};
    },
  };
}

test('leader election: one leader; a lost connection demotes at once; the follower takes over on its next round', async () => {
  const locks = fakeLocks();
  const a = startLeaderElection({ connect: locks.connect, intervalMs: 60_000 });
  const b = startLeaderElection({ connect: locks.connect, intervalMs: 60_000 });
  await a.tick();
  await b.tick();
  assert.deepEqual([a.isLeader(), b.isLeader()], [true, false]);
  assert.equal(b.status().reason, 'another replica holds the lock');
  locks.breakHolder();
  assert.equal(a.isLeader(), false, 'demoted the moment the connection is lost, before any round');
  await b.tick();
  assert.equal(b.isLeader(), true);
  await a.tick(); // reconnects, tries, and stays follower
  assert.deepEqual([a.isLeader(), b.isLeader()], [false, true]);
  locks.stealLock(); // the check finds the lock gone (e.g. an operator ran pg_advisory_unlock_all)
  await b.tick();
  assert.equal(b.isLeader(), false);
  assert.equal(b.status().reason, 'the lock is no longer held');
  await a.stop();
  await b.stop();
  assert.equal(a.status().reason, 'stopped');
});

test('leader election: an unreachable database means follower, with the reason, until a connection succeeds', async () => {
  const locks = fakeLocks();
  let down = true;
  const e = startLeaderElection({ intervalMs: 60_000, connect: async (lost) => {
    if (down) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
    return locks.connect(lost);
  } });
  await e.tick();
  assert.deepEqual(e.status(), { leader: false, since: e.status().since, reason: 'connect ECONNREFUSED 127.0.0.1:5432' });
  down = false;
  await e.tick();
  assert.equal(e.isLeader(), true);
  await e.stop();
});

test('control URLs: one, a comma-separated list, or an array; trailing slashes dropped', () => {
  assert.deepEqual(controlUrls('http://a:8081/'), ['http://a:8081']);
  assert.deepEqual(controlUrls('http://a:8081, http://b:8081/,'), ['http://a:8081', 'http://b:8081']);
  assert.deepEqual(controlUrls(['http://a:1']), ['http://a:1']);
  assert.throws(() => controlUrls(' , '), /no control-plane URL/);
});
