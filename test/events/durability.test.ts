import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createEventStore } from '../../src/events/store.ts';
import { tempDir } from './helpers.ts';

test('kill -9 loses at most what was queued since the last flush; everything flushed survives', async (t) => {
  const path = join(tempDir(t), 'events.duckdb');
  const child = spawn(process.execPath, [join(import.meta.dirname, 'fixtures', 'ingest-child.ts'), path], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  let written = 0;
  let pushed = 0;
  let flushes = 0;
  for await (const line of createInterface({ input: child.stdout })) {
    const m = /^written (\d+) pushed (\d+)$/.exec(line);
    if (!m) continue;
    written = Number(m[1]);
    pushed = Number(m[2]);
    if (++flushes === 5) break;
  }
  child.kill('SIGKILL');
  const [, signal] = await once(child, 'exit');
  assert.equal(signal, 'SIGKILL');

  const store = await createEventStore({ path });
  t.after(() => store.close());
  const [{ n, max, distinct }] = await store.sql('SELECT count(*) AS n, max(seq) AS max, count(DISTINCT seq) AS distinct FROM events');
  const survived = Number(n);
  assert.ok(survived >= written, `all ${written} events reported as written survived (found ${survived})`);
  assert.equal(Number(distinct), survived, 'no event was written twice');
  assert.equal(Number(max), survived - 1, 'what survived is a prefix: only the tail (the unflushed queue) was lost');
  assert.ok(pushed >= written);
});
