import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createJsonlSink } from '../../src/events/jsonl-sink.ts';
import type { WideEvent } from '../../src/events/schema.ts';
import { tempDir } from '../tmpdir.ts';

const ev = (i: number): WideEvent => ({
  timestamp: i, 'request.id': `r${i}`, 'service.name': 'shop', 'http.request.method': 'GET', 'url.path': '/',
  'http.response.status_code': 200, duration_ms: 1, 'weir.traffic': 'live', 'http.request.body.size': 0, 'http.response.body.size': 0,
});

test('jsonl sink: events are written in order, in batches, and close flushes them all', async () => {
  const path = join(tempDir('weir-jsonl-'), 'events.jsonl');
  const sink = await createJsonlSink({ path, batchSize: 128, flushIntervalMs: 60_000 });
  for (let i = 0; i < 1000; i++) sink.push(ev(i));
  const flushing = [sink.flush(), sink.flush()]; // two flushers never interleave their writes
  for (let i = 1000; i < 1300; i++) sink.push(ev(i));
  await Promise.all(flushing);
  await sink.close();
  const lines = (await readFile(path, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { timestamp: number });
  assert.equal(lines.length, 1300);
  assert.deepEqual(lines.map((l) => l.timestamp), Array.from({ length: 1300 }, (_, i) => i));
  assert.equal(sink.dropped, 0);
});

test('jsonl sink: a full queue drops and counts instead of growing', async () => {
  const path = join(tempDir('weir-jsonl-'), 'events.jsonl');
  const sink = await createJsonlSink({ path, capacity: 10, batchSize: 1000, flushIntervalMs: 60_000 });
  for (let i = 0; i < 15; i++) sink.push(ev(i));
  assert.equal(sink.dropped, 5);
  await sink.close();
  assert.equal((await readFile(path, 'utf8')).trim().split('\n').length, 10);
});

test('jsonl sink: non-ASCII text and events larger than the encode buffer are written byte for byte', async () => {
  const path = join(tempDir('weir-jsonl-'), 'events.jsonl');
  const sink = await createJsonlSink({ path, batchSize: 16, flushIntervalMs: 60_000 });
  // Emoji (surrogate pairs, 4 UTF-8 bytes), CJK (3 bytes), Latin-1 (2 bytes), a quote and a newline to escape,
  // and one event of 300 KB, larger than the 64 KiB buffer the sink starts with.
  const texts = ['末尾🙂'.repeat(20_000), 'plain', 'café ü', '日本語のパス', '🚀🧪 rocket', 'quote " and \n newline', 'x'.repeat(300_000)];
  const sent = texts.map((t, i) => ({ ...ev(i), 'user_agent.original': t }));
  for (const e of sent) sink.push(e);
  await sink.close();
  const lines = (await readFile(path, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as WideEvent);
  assert.deepEqual(lines, sent);
});
