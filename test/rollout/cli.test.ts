import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../src/cli/main.ts';
import type { CliIO } from '../../src/cli/command.ts';
import { startStack } from './helpers.ts';

function io(url: string, token: string): CliIO & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { stdout: (s) => { out += s; }, stderr: (s) => { err += s; }, env: { WEIR_URL: url, WEIR_TOKEN: token }, cwd: '/', signal: new AbortController().signal, out: () => out, err: () => err };
}

test('weir rollout start/status/promote/abort/retry, weir halt/unhalt and weir audit against a running Weir', async (t) => {
  const s = await startStack(t, { rollout: 'steps:\n  - setWeight: 20\n  - pause: {}\n  - setWeight: 40\n  - pause: {}' });
  const url = `http://127.0.0.1:${s.weir.controlAddress.port}`;
  const cli = async (...args: string[]) => {
    const x = io(url, s.weir.token);
    const code = await main(args, x);
    return { code, out: x.out(), err: x.err() };
  };
  assert.equal((await cli('rollout', 'start', 'shop')).code, 2, '--to is required');
  const started = await cli('rollout', 'start', 'shop', '--to', 'canary');
  assert.equal(started.code, 0, started.err);
  assert.match(started.out, /shop: canary over stable — Paused \(step\), step 1\/4, stable=80% canary=20%/);
  assert.match(started.out, /▶ 1 pause \(until promoted\)/);
  const json = JSON.parse((await cli('rollout', 'status', 'shop', '--json')).out);
  assert.equal(json.phase, 'Paused');
  assert.deepEqual(json.weights, { stable: 80, canary: 20 });
  const promoted = await cli('rollout', 'promote', 'shop');
  assert.match(promoted.out, /stable=60% canary=40%/);
  const dup = await cli('rollout', 'start', 'shop', '--to', 'canary');
  assert.equal(dup.code, 1);
  assert.match(dup.err, /CONFLICT: shop already has a rollout in progress/);
  const aborted = await cli('rollout', 'abort', 'shop', '--reason', 'not today');
  assert.match(aborted.out, /Aborted.*stable=100% canary=0%/);
  assert.match(aborted.out, /not today/);
  const watched = await cli('rollout', 'status', 'shop', '--watch');
  assert.equal(watched.code, 1, 'watch exits 1 for a rollout that did not succeed');
  assert.match(watched.out, /Aborted/);
  const late = await cli('rollout', 'promote', 'shop');
  assert.match(late.err, /CONFLICT: the rollout of shop already ended \(Aborted\); weir rollout retry shop starts it again/);
  assert.match((await cli('rollout', 'retry', 'shop')).out, /Paused \(step\), step 1\/4, stable=80% canary=20%/);
  assert.match((await cli('halt', '--reason', 'incident')).out, /halted: shop back on their stable versions/);
  assert.match((await cli('rollout', 'list')).out, /^HALTED/);
  const refused = await cli('rollout', 'retry', 'shop');
  assert.match(refused.err, /HALTED/);
  assert.equal((await cli('unhalt')).code, 0);
  const audit = await cli('audit', 'shop');
  assert.equal(audit.code, 0);
  for (const a of ['rollout.start', 'rollout.promote', 'rollout.abort', 'rollout.retry']) assert.match(audit.out, new RegExp(a));
  assert.match((await cli('audit', '*')).out, /halt/);
  assert.equal((await cli('rollout', 'status', 'nope')).code, 1);
});
