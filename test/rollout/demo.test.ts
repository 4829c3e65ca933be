import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { waitFor } from './helpers.ts';

const BIN = join(import.meta.dirname, '../../bin/weir.ts');

test('weir demo: the canary\'s bug is caught, traffic goes back to stable, and the evidence is printed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-demo-rollout-'));
  const child = spawn(process.execPath, [BIN, 'demo', '--duration', '90s', '--rps', '60', '--proxy', '127.0.0.1:0', '--control', '127.0.0.1:0'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  await waitFor(async () => out.includes('See it all with'), 'the rollout to end', 80_000);
  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  assert.equal(code, 0, out);
  assert.match(out, /▶ weir rollout start shop --to canary/);
  assert.match(out, /Weir caught the bad canary and rolled it back\. The evidence:/);
  assert.match(out, /Failed, step \d\/6, stable=100% canary=0%/);
  assert.match(out, /new error only in the canary|sequential test|below the minimum 99/);
  assert.match(out, /demo stopped after \d+ requests/);
});
