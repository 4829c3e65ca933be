import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';

const BIN = join(import.meta.dirname, '../../bin/weir.ts');

test('weir demo --split starts two versions behind Weir, drives traffic, prints the split, and stops cleanly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-demo-'));
  const child = spawn(process.execPath, [BIN, 'demo', '--split', '--duration', '5s', '--rps', '100', '--proxy', '127.0.0.1:0', '--control', '127.0.0.1:0'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const [code] = await once(child, 'exit');
  assert.equal(code, 0, out);
  assert.match(out, /Weir demo is running/);
  assert.match(out, /x-weir-test-token: demo-test-token/);
  const splits = [...out.matchAll(/answered by: (.*?)\s+\(/g)].map((m) => m[1]);
  assert.ok(splits.length >= 1, out);
  assert.match(splits.at(-1)!, /v1 \d/);
  assert.match(out, /demo stopped after \d+ requests/);
  const events = readFileSync(join(dir, '.weir', 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(events.length > 50, `${events.length} events`);
  assert.ok(events.some((e) => e['service.version'] === 'canary'), 'some traffic reaches the canary');
  assert.ok(events.every((e) => e['http.response.status_code'] === 200));
});
