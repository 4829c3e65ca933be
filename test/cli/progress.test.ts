import { test } from 'node:test';
import assert from 'node:assert/strict';
import { progressBar, renderProgress } from '../../src/cli/progress.ts';
import type { CliIO } from '../../src/cli/command.ts';

test('renderProgress: bar, counts, percent, rate and time left', () => {
  assert.equal(renderProgress('compare', 50, 200, 1000), `compare [${'█'.repeat(6)}${'░'.repeat(18)}]  50/200   25%  50/s  ~3s left`);
  assert.equal(renderProgress('compare', 200, 200, 4000), `compare [${'█'.repeat(24)}]  200/200  100%  50/s`);
  assert.equal(renderProgress('x', 1500, 12_000, 1000), `x [${'█'.repeat(3)}${'░'.repeat(21)}]  1.5k/12k   12%  1.5k/s  ~7s left`);
  assert.equal(renderProgress('drill', 90_000, 120_000, 90_000, 'ms', 'ok'), `drill [${'█'.repeat(18)}${'░'.repeat(6)}]  1m30s/2m00s   75%  ok`);
});

test('progressBar: silent unless io.progress; redraws at most every 100 ms; finish ends the line', () => {
  let err = '';
  const io: CliIO = { stdout: () => {}, stderr: (s) => void (err += s), env: {}, cwd: '.', signal: new AbortController().signal };
  const off = progressBar(io, 'x', 10);
  off.update(5);
  off.finish();
  assert.equal(err, '');

  let t = 0;
  const bar = progressBar({ ...io, progress: true }, 'x', 10, 'count', () => t);
  bar.update(1);
  t = 50;
  bar.update(2); // within 100 ms of the last draw: skipped
  t = 150;
  bar.update(3);
  bar.finish();
  const draws = err.split('\r').filter(Boolean);
  assert.equal(draws.length, 3);
  assert.match(draws[0], /1\/10/);
  assert.match(draws[1], /3\/10/);
  assert.match(draws[2], /3\/10.*\n$/);
});
