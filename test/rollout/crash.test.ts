import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { request } from 'undici';
import { startShop } from '../../examples/shop/server.ts';
import { waitFor } from './helpers.ts';

const BIN = join(import.meta.dirname, '../../bin/weir.ts');

interface Status { phase: string; step: number; weights: Record<string, number>; history: unknown[]; revision: number; analysis: unknown; message: string }

async function up(dir: string) {
  const child = spawn(process.execPath, [BIN, 'up', '--json', '--no-watch'], { cwd: dir, env: { ...process.env, WEIR_ROLLOUT_TICK_MS: '20' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.resume();
  const info = await waitFor(async () => (out.includes('\n') ? JSON.parse(out.split('\n')[0]) as { control: string } : undefined), 'weir up to start', 30_000);
  const token = readFileSync(join(dir, '.weir', 'admin-token'), 'utf8').trim();
  const api = async <T,>(method: string, path: string, body?: unknown): Promise<T> => {
    const r = await request(info.control + path, { method: method as 'GET', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return await r.body.json() as T;
  };
  return { child, api };
}

test('kill -9 mid-rollout, restart: the same step, the same weights, no step applied twice, the pause keeps its start', async (t) => {
  const a = await startShop({ version: 'v1' });
  const b = await startShop({ version: 'v2' });
  t.after(() => { a.server.close(); b.server.close(); });
  const dir = mkdtempSync(join(tmpdir(), 'weir-crash-'));
  writeFileSync(join(dir, 'weir.yaml'), `proxy:\n  listen: 127.0.0.1:0\ncontrol:\n  listen: 127.0.0.1:0\ndataDir: .weir\nservices:\n  shop:\n    match: { pathPrefix: / }\n    versions:\n      stable: ${a.url}\n      canary: ${b.url}\n    rollout:\n      steps:\n        - setWeight: 10\n        - pause: { duration: 300ms }\n        - setWeight: 20\n        - pause: { duration: 1h }\n        - setWeight: 40\n        - pause: {}\n`);
  const first = await up(dir);
  t.after(() => first.child.kill('SIGKILL'));
  await first.api('POST', '/api/v1/services/shop/rollout', { to: 'canary' });
  const before = await waitFor(async () => {
    const s = await first.api<Status>('GET', '/api/v1/services/shop/rollout');
    return s.step === 3 && s;
  }, 'step 3 (the 1h pause)');
  assert.deepEqual(before.weights, { stable: 80, canary: 20 });
  first.child.kill('SIGKILL');
  await once(first.child, 'exit');

  const second = await up(dir);
  t.after(() => second.child.kill('SIGKILL'));
  const after = await second.api<Status & { history: { message: string }[]; startedAt: number }>('GET', '/api/v1/services/shop/rollout');
  assert.equal(after.phase, 'Progressing');
  assert.equal(after.step, 3);
  assert.deepEqual(after.weights, { stable: 80, canary: 20 });
  assert.equal(after.revision, before.revision, 'nothing was re-applied on restart');
  assert.deepEqual(after.history, before.history);
  const svc = await second.api<{ weights: Record<string, number> }>('GET', '/api/v1/services/shop');
  assert.deepEqual(svc.weights, { stable: 80, canary: 20 }, 'the proxy serves the same split from the first request');
  const steps = (await second.api<{ entries: { action: string; after?: { step: number } }[] }>('GET', '/api/v1/audit?target=shop')).entries.filter((e) => e.action === 'rollout.step' || e.action === 'rollout.start');
  const applied = steps.map((e) => e.after?.step);
  assert.equal(new Set(applied).size, applied.length, `each step once in the audit log: ${applied}`);
  const promoted = await second.api<Status>('POST', '/api/v1/services/shop/rollout/promote', {});
  assert.equal(promoted.step, 5);
  assert.deepEqual(promoted.weights, { stable: 60, canary: 40 });
});

test('kill -9 during an analysis step: the step, its weights and its run count survive; runs go on', async (t) => {
  const a = await startShop({ version: 'v1' });
  const b = await startShop({ version: 'v2' });
  t.after(() => { a.server.close(); b.server.close(); });
  const dir = mkdtempSync(join(tmpdir(), 'weir-crash-'));
  writeFileSync(join(dir, 'weir.yaml'), `proxy:\n  listen: 127.0.0.1:0\ncontrol:\n  listen: 127.0.0.1:0\ndataDir: .weir\nservices:\n  shop:\n    match: { pathPrefix: / }\n    versions:\n      stable: ${a.url}\n      canary: ${b.url}\n    rollout:\n      steps:\n        - setWeight: 25\n        - analysis: { interval: 100ms, count: 5 }\n      analysis:\n        inconclusiveLimit: 1000\n`);
  type A = Status & { analysis: { runs: number; successes: number }; runs: { id: string; phase: string }[] };
  const first = await up(dir);
  t.after(() => first.child.kill('SIGKILL'));
  await first.api('POST', '/api/v1/services/shop/rollout', { to: 'canary' });
  const before = await waitFor(async () => {
    const s = await first.api<A>('GET', '/api/v1/services/shop/rollout');
    return s.analysis && s.analysis.runs >= 3 && s;
  }, 'three analysis runs');
  first.child.kill('SIGKILL');
  await once(first.child, 'exit');
  const second = await up(dir);
  t.after(() => second.child.kill('SIGKILL'));
  const after = await waitFor(async () => {
    const s = await second.api<A>('GET', '/api/v1/services/shop/rollout');
    return s.analysis.runs >= before.analysis.runs + 2 && s;
  }, 'runs to go on after the restart');
  assert.equal(after.step, 1);
  assert.deepEqual(after.weights, { stable: 75, canary: 25 });
  assert.equal(after.analysis.successes, 0, 'no traffic: nothing passed, before or after the crash');
  assert.ok(after.runs.every((r) => r.phase === 'Inconclusive'));
  assert.equal(new Set(after.runs.map((r) => r.id)).size, after.runs.length);
});
