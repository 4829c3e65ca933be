import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, statSync } from 'node:fs';
import { tmpdir, availableParallelism } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { request } from 'undici';
import { backend, echo, until } from '../proxy/helpers.ts';

const BIN = join(import.meta.dirname, '../../bin/weir.ts');

function run(args: string[], cwd: string, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  return { child, out: () => out, err: () => err };
}

async function exitOf(args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  const p = run(args, cwd, env);
  const [code] = await once(p.child, 'exit');
  return { code: code as number, out: p.out(), err: p.err() };
}

test('weir --help, unknown commands and usage errors use exit codes 0 and 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-cli-'));
  const help = await exitOf(['--help'], dir);
  assert.equal(help.code, 0);
  assert.match(help.out, /Usage: weir <command>/);
  assert.match(help.out, /validate/);
  assert.equal((await exitOf(['up', '--help'], dir)).code, 0);
  const unknown = await exitOf(['nope'], dir);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /unknown command/);
  const bad = await exitOf(['validate', '--wat'], dir);
  assert.equal(bad.code, 2);
});

test('weir validate reports every problem with its path, exit 1; --json for machines', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-cli-'));
  writeFileSync(join(dir, 'weir.yaml'), 'services:\n  shop:\n    match: { pathPrefix: / }\n    versions: { stable: http://127.0.0.1:9001, canary: http://127.0.0.1:9002 }\n    weights: { stable: 95, canry: 5 }\n');
  const r = await exitOf(['validate'], dir);
  assert.equal(r.code, 1);
  assert.match(r.err, /services\.shop\.weights\.canry: no version named "canry" — did you mean "canary"\?/);
  const j = await exitOf(['validate', '--json'], dir);
  assert.equal(j.code, 1);
  assert.equal(JSON.parse(j.out).valid, false);
  writeFileSync(join(dir, 'ok.yaml'), 'services:\n  shop:\n    match: { pathPrefix: / }\n    versions: { stable: http://127.0.0.1:9001 }\n');
  assert.equal((await exitOf(['validate', '-c', 'ok.yaml'], dir)).code, 0);
});

test('weir up: proxy and control API in one process; weights via API and CLI; reload; graceful SIGTERM', async (t) => {
  const a = await backend(t, echo('stable'));
  const b = await backend(t, echo('canary'));
  const dir = mkdtempSync(join(tmpdir(), 'weir-up-'));
  const cfg = (w: number) => `proxy:\n  listen: 127.0.0.1:0\ncontrol:\n  listen: 127.0.0.1:0\ndataDir: .weir\nservices:\n  shop:\n    match: { pathPrefix: / }\n    versions:\n      stable: ${a.url}\n      canary: ${b.url}\n    weights: { stable: ${100 - w}, canary: ${w} }\n    stickyBy: header:x-user-id\n    testTraffic:\n      tokens: ["\${WEIR_TEST_TOKEN}"]\n`;
  writeFileSync(join(dir, 'weir.yaml'), cfg(0));
  const p = run(['up', '--json'], dir, { WEIR_TEST_TOKEN: 'cli-test-token' });
  t.after(() => p.child.kill('SIGKILL'));
  await until(() => p.out().includes('\n'), 'startup line', 20_000);
  const info = JSON.parse(p.out().split('\n')[0]) as { proxy: string; control: string; token: string };
  assert.ok(info.token, 'a generated admin token is printed once');
  const tokenFile = join(dir, '.weir', 'admin-token');
  assert.equal(readFileSync(tokenFile, 'utf8').trim(), info.token);
  assert.equal(statSync(tokenFile).mode & 0o777, 0o600);

  const api = async (method: string, path: string, body?: unknown, token: string | null = info.token) => {
    const res = await request(info.control + path, { method: method as 'GET', headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.statusCode, body: await res.body.json() as Record<string, any> };
  };
  assert.equal((await api('GET', '/healthz', undefined, null)).status, 200);
  assert.equal((await api('GET', '/readyz', undefined, null)).status, 200);
  const unauth = await api('GET', '/api/v1/services', undefined, null);
  assert.equal(unauth.status, 401);
  assert.equal(unauth.body.error.code, 'UNAUTHORIZED');
  assert.equal((await api('GET', '/api/v1/services', undefined, 'wrong')).status, 401);

  const names = async (n: number) => {
    const seen = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const r = await request(info.proxy, { headers: { 'x-user-id': `user-${i}` } });
      const { name } = await r.body.json() as { name: string };
      seen.set(name, (seen.get(name) ?? 0) + 1);
    }
    return seen;
  };
  assert.deepEqual([...(await names(50)).keys()], ['stable']);
  const test = await request(info.proxy, { headers: { 'x-weir-test-token': 'cli-test-token', 'x-weir-version': 'canary' } });
  assert.equal(((await test.body.json()) as { name: string }).name, 'canary');

  const bad = await api('PUT', '/api/v1/services/shop/weights', { stable: 50, canry: 50 });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'VALIDATION_FAILED');
  assert.equal((await api('PUT', '/api/v1/services/nope/weights', { stable: 100 })).body.error.code, 'NOT_FOUND');
  const wrongMethod = await request(info.control + '/api/v1/services/shop/weights', { method: 'PATCH', headers: { authorization: `Bearer ${info.token}` } });
  assert.equal(wrongMethod.statusCode, 405);
  assert.equal(wrongMethod.headers.allow, 'PUT');
  assert.equal(((await wrongMethod.body.json()) as { error: { code: string } }).error.code, 'METHOD_NOT_ALLOWED');
  const badEscape = await api('GET', '/api/v1/services/%zz');
  assert.equal(badEscape.status, 400);
  assert.equal(badEscape.body.error.code, 'BAD_REQUEST');
  const ok = await api('PUT', '/api/v1/services/shop/weights', { weights: { stable: 0, canary: 100 }, reason: 'test' });
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.body.weights, { stable: 0, canary: 100 });
  assert.deepEqual([...(await names(20)).keys()], ['canary'], 'applied to the proxy at once');

  // The CLI talks to the same API.
  const cli = await exitOf(['weights', 'shop', 'stable=100', 'canary=0', '--url', info.control, '--token', info.token], dir);
  assert.equal(cli.code, 0, cli.err);
  assert.match(cli.out, /stable \(stable\)\s+100%/);
  const svc = await api('GET', '/api/v1/services/shop');
  assert.equal(svc.body.versions[0].weight, 100);
  assert.ok(svc.body.versions[0].requests >= 50);
  const audit = await api('GET', '/api/v1/audit?target=shop');
  assert.deepEqual(audit.body.entries.slice(0, 2).map((e: { action: string; actor: string }) => [e.action, e.actor]), [['weights.set', 'admin'], ['weights.set', 'admin']]);

  // An invalid config is refused and the running one stays; a valid edit applies.
  writeFileSync(join(dir, 'weir.yaml'), cfg(0).replace('weights: { stable: 100, canary: 0 }', 'weights: { stable: 100, canry: 0 }'));
  p.child.kill('SIGHUP');
  await until(() => p.err().includes('NOT reloaded'), 'refusal', 10_000);
  assert.match(p.err(), /canry/);
  assert.equal((await api('GET', '/api/v1/services/shop')).body.weights.stable, 100);
  writeFileSync(join(dir, 'weir.yaml'), cfg(100));
  p.child.kill('SIGHUP');
  await until(() => p.err().includes('config reloaded'), 'reload', 10_000);
  assert.deepEqual([...(await names(10)).keys()], ['canary']);

  p.child.kill('SIGTERM');
  const [code] = await once(p.child, 'exit');
  assert.equal(code, 0);
  const log = readFileSync(join(dir, '.weir', 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(log.length >= 81, `access log has ${log.length} events`);
  assert.equal(log[0]['service.name'], 'shop');
});

test('weir up restarts with the weights the API set (state survives a restart)', async (t) => {
  const a = await backend(t, echo('stable'));
  const b = await backend(t, echo('canary'));
  const dir = mkdtempSync(join(tmpdir(), 'weir-up-'));
  writeFileSync(join(dir, 'weir.yaml'), `proxy: { listen: 127.0.0.1:0 }\ncontrol: { listen: 127.0.0.1:0 }\nservices:\n  shop:\n    match: { pathPrefix: / }\n    versions: { stable: ${a.url}, canary: ${b.url} }\n`);
  const start = async () => {
    const p = run(['up', '--json'], dir, { WEIR_ADMIN_TOKEN: 'admin-token-for-test' });
    t.after(() => p.child.kill('SIGKILL'));
    await until(() => p.out().includes('\n'), 'startup', 20_000);
    return { p, info: JSON.parse(p.out().split('\n')[0]) as { proxy: string; control: string } };
  };
  const first = await start();
  const put = await request(`${first.info.control}/api/v1/services/shop/weights`, { method: 'PUT', headers: { authorization: 'Bearer admin-token-for-test' }, body: JSON.stringify({ stable: 10, canary: 90 }) });
  assert.equal(put.statusCode, 200);
  await put.body.dump();
  first.p.child.kill('SIGKILL'); // a crash, not a clean stop
  await once(first.p.child, 'exit');
  const second = await start();
  const svc = await request(`${second.info.control}/api/v1/services/shop`, { headers: { authorization: 'Bearer admin-token-for-test' } });
  assert.deepEqual(((await svc.body.json()) as { weights: object }).weights, { stable: 10, canary: 90 });
  second.p.child.kill('SIGTERM');
  await once(second.p.child, 'exit');
});

test('weir up --workers 2: proxy processes share the port, follow weight changes, ship events, drain on SIGTERM', async (t) => {
  const a = await backend(t, echo('stable'));
  const b = await backend(t, echo('canary'));
  const dir = mkdtempSync(join(tmpdir(), 'weir-workers-'));
  writeFileSync(join(dir, 'weir.yaml'), `proxy: { listen: 127.0.0.1:0 }\ncontrol: { listen: 127.0.0.1:0 }\nservices:\n  shop:\n    match: { pathPrefix: / }\n    versions: { stable: ${a.url}, canary: ${b.url} }\n`);
  const p = run(['up', '--json', '--workers', '2', '--no-watch'], dir, { WEIR_ADMIN_TOKEN: 'admin-token-for-test' });
  t.after(() => p.child.kill('SIGKILL'));
  await until(() => p.out().includes('\n'), 'startup', 20_000);
  const info = JSON.parse(p.out().split('\n')[0]) as { proxy: string; control: string };
  const hit = async () => {
    const r = await request(info.proxy, { reset: true }); // a new connection each time, so both workers serve
    return ((await r.body.json()) as { name: string }).name;
  };
  for (let i = 0; i < 20; i++) assert.equal(await hit(), 'stable');
  const put = await request(`${info.control}/api/v1/services/shop/weights`, { method: 'PUT', headers: { authorization: 'Bearer admin-token-for-test' }, body: JSON.stringify({ stable: 0, canary: 100 }) });
  assert.equal(put.statusCode, 200);
  await put.body.dump();
  // Tables reach workers over IPC: wait until every connection lands on the canary.
  let streak = 0;
  for (let i = 0; i < 500 && streak < 20; i++) streak = (await hit()) === 'canary' ? streak + 1 : 0;
  assert.equal(streak, 20);
  const counted = async () => {
    const s = (await (await request(`${info.control}/api/v1/services/shop`, { headers: { authorization: 'Bearer admin-token-for-test' } })).body.json()) as { versions: Array<{ requests: number }> };
    return s.versions[0].requests + s.versions[1].requests;
  };
  // Workers ship events every 100 ms; poll the API until the live counts include all 40+ requests.
  let n = 0;
  for (let i = 0; i < 200 && n < 40; i++) n = await counted();
  assert.ok(n >= 40, `live counts from worker events: ${n}`);
  p.child.kill('SIGTERM');
  const [code] = await once(p.child, 'exit');
  assert.equal(code, 0);
  const lines = readFileSync(join(dir, '.weir', 'events.jsonl'), 'utf8').trim().split('\n');
  assert.ok(lines.length >= 40, `${lines.length} events in the access log`);
});

test('weir up serves flagd-format flag files over OFREP on the control listener', async (t) => {
  const a = await backend(t, echo('stable'));
  const dir = mkdtempSync(join(tmpdir(), 'weir-flags-'));
  writeFileSync(join(dir, 'flags.yaml'), `flags:\n  new-checkout:\n    state: ENABLED\n    variants: { on: true, off: false }\n    defaultVariant: off\n    targeting:\n      if: [{ ends_with: [{ var: email }, "@example.com"] }, on, off]\n`);
  writeFileSync(join(dir, 'weir.yaml'), `proxy: { listen: 127.0.0.1:0 }\ncontrol: { listen: 127.0.0.1:0 }\nflags: { files: [flags.yaml] }\nservices:\n  shop:\n    match: { pathPrefix: / }\n    versions: { stable: ${a.url} }\n`);
  const p = run(['up', '--json'], dir, { WEIR_ADMIN_TOKEN: 'admin-token-for-test' });
  t.after(() => p.child.kill('SIGKILL'));
  await until(() => p.out().includes('\n'), 'startup', 20_000);
  const info = JSON.parse(p.out().split('\n')[0]) as { control: string };
  const evaluate = async (email: string, auth: Record<string, string>) => {
    const r = await request(`${info.control}/ofrep/v1/evaluate/flags/new-checkout`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify({ context: { targetingKey: 'u1', email } }) });
    return { status: r.statusCode, body: await r.body.json() as { value?: boolean; reason?: string; variant?: string } };
  };
  const on = await evaluate('ann@example.com', { authorization: 'Bearer admin-token-for-test' });
  assert.deepEqual([on.status, on.body.value, on.body.variant, on.body.reason], [200, true, 'on', 'TARGETING_MATCH']);
  const off = await evaluate('bob@other.org', { 'x-api-key': 'admin-token-for-test' });
  assert.deepEqual([off.status, off.body.value], [200, false]);
  assert.equal((await evaluate('x', {})).status, 401);
  p.child.kill('SIGTERM');
  await once(p.child, 'exit');
});

test('weir up on a single core collects garbage on one thread (re-executed in place, same pid) and still serves and stops', async (t) => {
  const a = await backend(t, echo('stable'));
  const dir = mkdtempSync(join(tmpdir(), 'weir-up-'));
  writeFileSync(join(dir, 'weir.yaml'), `proxy: { listen: 127.0.0.1:0 }\ncontrol: { listen: 127.0.0.1:0 }\nservices:\n  shop:\n    match: { pathPrefix: / }\n    versions: { stable: ${a.url} }\n`);
  const start = (cmd: string, args: string[]) => {
    const child = spawn(cmd, args, { cwd: dir, env: { ...process.env, WEIR_ADMIN_TOKEN: 'admin-token-for-test' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    t.after(() => child.kill('SIGKILL'));
    return { child, out: () => out };
  };
  const gcFlag = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('--single-threaded-gc');
  // taskset execs node in its own place, so the child's pid is node's (and weir's after the re-exec).
  const one = start('taskset', ['-c', '0', process.execPath, BIN, 'up', '--json']);
  await until(() => one.out().includes('\n'), 'startup on one core', 20_000);
  assert.ok(gcFlag(one.child.pid!), 'restarted with --single-threaded-gc');
  const info = JSON.parse(one.out().split('\n')[0]) as { proxy: string };
  const r = await request(info.proxy);
  assert.equal(((await r.body.json()) as { name: string }).name, 'stable');
  one.child.kill('SIGTERM');
  assert.equal((await once(one.child, 'exit'))[0], 0, 'signals reach the re-executed process');
  if (availableParallelism() > 1) {
    const many = start(process.execPath, [BIN, 'up', '--json']);
    await until(() => many.out().includes('\n'), 'startup on every core', 20_000);
    assert.ok(!gcFlag(many.child.pid!), 'with cores to spare V8 keeps its parallel collector');
    many.child.kill('SIGTERM');
    await once(many.child, 'exit');
  }
});

test('weir up: a second process on the same data directory is refused with the owner pid; after a kill -9 the next one takes over', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-lock-'));
  writeFileSync(join(dir, 'weir.yaml'), 'proxy:\n  listen: 127.0.0.1:0\ncontrol:\n  listen: 127.0.0.1:0\ndataDir: .weir\nevents: { store: false }\nservices:\n  shop:\n    match: { pathPrefix: / }\n    versions: { stable: http://127.0.0.1:9 }\n');
  const first = run(['up', '--json'], dir);
  t.after(() => first.child.kill('SIGKILL'));
  await until(() => first.out().includes('\n'), 'first startup line', 20_000);
  assert.equal(readFileSync(join(dir, '.weir', 'weir.pid'), 'utf8').trim(), String(first.child.pid));
  const second = await exitOf(['up', '--json'], dir);
  assert.equal(second.code, 1);
  assert.match(second.err, new RegExp(`data directory .*\\.weir is in use by another Weir process \\(pid ${first.child.pid}\\)\\. Stop that process first, or give this one its own data directory`));
  first.child.kill('SIGKILL'); // no clean-up: the pid file stays behind
  await once(first.child, 'exit');
  const third = run(['up', '--json'], dir);
  t.after(() => third.child.kill('SIGKILL'));
  await until(() => third.out().includes('\n'), 'third startup line', 20_000);
  assert.equal(readFileSync(join(dir, '.weir', 'weir.pid'), 'utf8').trim(), String(third.child.pid));
  third.child.kill('SIGTERM');
  const [code] = await once(third.child, 'exit');
  assert.equal(code, 0);
  assert.throws(() => statSync(join(dir, '.weir', 'weir.pid')), /ENOENT/, 'a clean stop removes the pid file');
});
