import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockDataDir, LOCK_FILE } from '../../src/runtime/data-dir-lock.ts';

const fresh = () => mkdtempSync(join(tmpdir(), 'weir-lockunit-'));

test('lockDataDir: writes the pid, refuses a live owner with CONFLICT, takes over a dead one, releases only its own', () => {
  const dir = fresh();
  const a = lockDataDir(dir, 1001, () => true);
  assert.equal(readFileSync(join(dir, LOCK_FILE), 'utf8'), '1001\n');
  assert.throws(() => lockDataDir(dir, 1002, (pid) => pid === 1001), (e: Error & { code?: string }) => e.code === 'CONFLICT' && /pid 1001/.test(e.message));
  // The owner died without releasing: the next process takes over.
  const b = lockDataDir(dir, 1002, () => false);
  assert.equal(readFileSync(join(dir, LOCK_FILE), 'utf8'), '1002\n');
  a.release(); // no longer 1001's: left alone
  assert.ok(existsSync(join(dir, LOCK_FILE)));
  b.release();
  assert.ok(!existsSync(join(dir, LOCK_FILE)));
});

test('lockDataDir: an empty or garbled pid file counts as stale', () => {
  const dir = fresh();
  writeFileSync(join(dir, LOCK_FILE), 'not a pid');
  const l = lockDataDir(dir, 2001, () => true);
  assert.equal(readFileSync(join(dir, LOCK_FILE), 'utf8'), '2001\n');
  l.release();
});
