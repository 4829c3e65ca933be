import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { Pool, request } from 'undici';
import { backend, echo, until } from '../proxy/helpers.ts';

const BIN = join(import.meta.dirname, '../../bin/weir.ts');

test('weir up under load: file reloads, SIGHUP and API weight changes fail zero requests', async (t) => {
  const a = await backend(t, echo('stable'));
  const b = await backend(t, echo('canary'));
  const dir = mkdtempSync(join(tmpdir(), 'weir-reload-'));
  const file = join(dir, 'weir.yaml');
  const write = (w: number) => {
    // Write-then-rename, as editors do, so the watcher never sees a half-written file.
    writeFileSync(`${file}.tmp`, `proxy: { listen: 127.0.0.1:0 }\ncontrol: { listen: 127.0.0.1:0 }\nservices:\n  shop:\n    match: { pathPrefix: / }\n    versions: { stable: ${a.url}, canary: ${b.url} }\n    weights: { stable: ${100 - w}, canary: ${w} }\n    stickyBy: header:x-user-id\n`);
    renameSync(`${file}.tmp`, file);
  };
  write(0);
  const child = spawn(process.execPath, [BIN, 'up', '--json'], { cwd: dir, env: { ...process.env, WEIR_ADMIN_TOKEN: 'reload-admin-token' }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  await until(() => out.includes('\n'), 'startup', 20_000);
  const info = JSON.parse(out.split('\n')[0]) as { proxy: string; control: string };

  const pool = new Pool(info.proxy, { connections: 8 });
  t.after(() => pool.close());
  let stop = false;
  let ok = 0;
  const failures: string[] = [];
  const load = async (id: number) => {
    for (let i = 0; !stop; i++) {
      try {
        const r = await pool.request({ path: '/', method: 'GET', headers: { 'x-user-id': `u${id}-${i}` } });
        await r.body.dump();
        if (r.statusCode === 200) ok++;
        else failures.push(`status ${r.statusCode}`);
      } catch (e) {
        failures.push((e as Error).message);
      }
    }
  };
  const loaders = Array.from({ length: 8 }, (_, i) => load(i));
  for (let round = 1; round <= 6; round++) {
    const before = ok;
    write(round * 10);
    await until(() => err.split('config reloaded').length > round, `file reload ${round}`, 10_000);
    const put = await request(`${info.control}/api/v1/services/shop/weights`, { method: 'PUT', headers: { authorization: 'Bearer reload-admin-token' }, body: JSON.stringify({ stable: 50, canary: 50 }) });
    assert.equal(put.statusCode, 200);
    await put.body.dump();
    child.kill('SIGHUP');
    await until(() => ok > before + 100, 'traffic between changes', 10_000);
  }
  stop = true;
  await Promise.all(loaders);
  assert.deepEqual(failures, []);
  assert.ok(ok > 600, `${ok} requests`);
  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  assert.equal(code, 0);
});
