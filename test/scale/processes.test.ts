// Crash and fail-over over real processes: `weir server`, `weir proxy`, kill -9, restart.
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { backend, echo } from '../proxy/helpers.ts';
import { PG_URL, freshSchema, pgTestOptions } from '../store/pg-helpers.ts';
import { api, configDir, eventually, via } from './helpers.ts';

const BIN = join(import.meta.dirname, '../../bin/weir.ts');
const ADMIN = 'admin-token-for-process-tests';

function weir(t: TestContext, args: string[], cwd: string) {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, WEIR_ADMIN_TOKEN: ADMIN }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  t.after(() => child.kill('SIGKILL'));
  const p = {
    child,
    out: () => out,
    err: () => err,
    /** The JSON startup line. */
    async info<T = Record<string, string>>(): Promise<T> {
      await eventually(() => out.includes('\n') || child.exitCode !== null, `weir ${args[0]} to start`, 20_000);
      assert.ok(out.includes('\n'), `weir ${args[0]} exited: ${err}`);
      return JSON.parse(out.split('\n')[0]) as T;
    },
    async kill9() {
      child.kill('SIGKILL');
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    },
  };
  return p;
}

test('kill -9 weir server: the proxy keeps serving its last table, restarts from the saved table, and follows the restarted server', async (t) => {
  const a = await backend(t, echo('stable'));
  const b = await backend(t, echo('canary'));
  const dir = configDir(t, a.url, b.url);
  const server = weir(t, ['server', '--json', '--no-watch'], dir);
  const { control } = await server.info();
  const port = new URL(control).port;

  const created = weir(t, ['tokens', 'create', 'edge', '--scope', 'operator', '--url', control, '--token', ADMIN, '--json'], dir);
  const [code] = await once(created.child, 'exit');
  assert.equal(code, 0, created.err());
  const token = (JSON.parse(created.out()) as { token: string }).token;

  const proxyArgs = ['proxy', '--control', control, '--token', token, '--listen', '127.0.0.1:0', '--state-file', join(dir, 'proxy', 'table.json'), '--admin', '127.0.0.1:0', '--json'];
  let node = weir(t, proxyArgs, dir);
  type ProxyInfo = { proxy: string; admin: string; source: string };
  let info = await node.info<ProxyInfo>();
  const streamUp = async () => (await api(info.admin, null, 'GET', '/readyz')).body.connected as boolean;
  assert.equal(info.source, 'control');
  assert.equal(await via(info.proxy), 'stable');
  assert.equal((await api(control, token, 'PUT', '/api/v1/services/shop/weights', { stable: 0, canary: 100 })).status, 200);
  await eventually(async () => (await via(info.proxy)) === 'canary', 'the proxy to follow the weights');

  await server.kill9();
  await eventually(async () => !(await streamUp()), 'the proxy to notice');
  assert.match(node.err(), /control plane unreachable/);
  for (let i = 0; i < 10; i++) assert.equal(await via(info.proxy), 'canary', 'serving the last table with the control plane gone');

  // A proxy that starts while the control plane is down serves the table it saved.
  await node.kill9();
  node = weir(t, [...proxyArgs, '--startup-wait', '200'], dir);
  info = await node.info<ProxyInfo>();
  assert.equal(info.source, 'file');
  assert.equal(await via(info.proxy), 'canary');

  const restarted = weir(t, ['server', '--json', '--no-watch', '--control', `127.0.0.1:${port}`], dir);
  await restarted.info();
  await eventually(streamUp, 'the proxy to reconnect');
  assert.equal((await api(control, token, 'PUT', '/api/v1/services/shop/weights', { stable: 100, canary: 0 })).status, 200);
  await eventually(async () => (await via(info.proxy)) === 'stable', 'a new table from the restarted server');

  node.child.kill('SIGTERM');
  restarted.child.kill('SIGTERM');
  const [[pc], [sc]] = await Promise.all([once(node.child, 'exit'), once(restarted.child, 'exit')]);
  assert.deepEqual([pc, sc], [0, 0], 'both stop cleanly');
});

test('two weir server replicas on one PostgreSQL: kill -9 the leader, the other takes over, a proxy given both follows it', await pgTestOptions(), async (t) => {
  const a = await backend(t, echo('stable'));
  const b = await backend(t, echo('canary'));
  const dir = configDir(t, a.url, b.url);
  const schema = await freshSchema(t);
  const store = `${PG_URL}?schema=${schema}`;
  const r1 = weir(t, ['server', '--json', '--no-watch', '--store', store, '--data-dir', 'r1'], dir);
  const r2 = weir(t, ['server', '--json', '--no-watch', '--store', store, '--data-dir', 'r2'], dir);
  const [i1, i2] = await Promise.all([r1.info(), r2.info()]);
  const leaderOf = async (control: string) => (await api(control, null, 'GET', '/readyz')).body.leader as boolean;
  let states: boolean[] = [];
  await eventually(async () => {
    states = [await leaderOf(i1.control), await leaderOf(i2.control)];
    return states[0] !== states[1];
  }, 'exactly one leader');
  const [leader, follower] = states[0] ? [r1, r2] : [r2, r1];
  const followerUrl = states[0] ? i2.control : i1.control;
  assert.equal((await api(followerUrl, ADMIN, 'GET', '/api/v1/services')).status, 200, 'a follower serves the API');
  // The leader's URL first, so the proxy starts on the replica that will die.
  const leaderUrl = states[0] ? i1.control : i2.control;
  const node = weir(t, ['proxy', '--control', `${leaderUrl},${followerUrl}`, '--token', ADMIN, '--listen', '127.0.0.1:0', '--state-file', join(dir, 'pt.json'), '--json'], dir);
  const { proxy } = await node.info<{ proxy: string }>();
  assert.equal(await via(proxy), 'stable');
  await leader.kill9();
  // The follower tries the lock every second; PostgreSQL frees it once it sees the dead session's socket
  // close. The generous limit is for a loaded CI machine, not the expected time (about a second).
  await eventually(() => leaderOf(followerUrl), 'the follower to become leader', 30_000);
  assert.match(follower.err(), /this replica is the leader/);
  assert.equal((await api(followerUrl, ADMIN, 'PUT', '/api/v1/services/shop/weights', { stable: 0, canary: 100 })).status, 200);
  await eventually(async () => (await via(proxy)) === 'canary', 'the proxy to follow the surviving replica', 30_000);
  assert.match(node.err(), new RegExp(`connected to ${followerUrl}`));
});
