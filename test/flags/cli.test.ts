// `weir flags …` through the API of a real control plane (main() with captured I/O).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControl } from '../../src/runtime/control.ts';
import { main } from '../../src/cli/main.ts';
import { tempDir } from '../tmpdir.ts';

test('weir flags list|set|get|disable|enable|history|schedule|stale with --json, through the API', async (t) => {
  const dir = tempDir('weir-flags-cli-');
  writeFileSync(join(dir, 'weir.yaml'), 'control: { listen: 127.0.0.1:0 }\nevents: { accessLog: false }\nservices:\n  shop:\n    match: { pathPrefix: / }\n    versions: { stable: http://127.0.0.1:9 }\n');
  writeFileSync(join(dir, 'def.yaml'), 'state: ENABLED\nvariants: { on: true, off: false }\ndefaultVariant: on\n');
  writeFileSync(join(dir, 'bad.json'), '{"state":"ENABLED","variants":{"on":true},"defaultVariant":"nope"}');
  const cp = await startControl({ configPath: join(dir, 'weir.yaml'), cwd: dir, env: { WEIR_ADMIN_TOKEN: 'cli-token' } });
  t.after(() => cp.close());
  const env = { WEIR_URL: `http://127.0.0.1:${cp.controlAddress.port}`, WEIR_TOKEN: 'cli-token' };
  const weir = async (...argv: string[]) => {
    let out = '';
    let err = '';
    const code = await main(['flags', ...argv], { env, cwd: dir, stdout: (s: string) => { out += s; }, stderr: (s: string) => { err += s; }, signal: new AbortController().signal });
    return { code, out, err };
  };
  assert.match((await weir('list')).out, /no flags/);
  const set = await weir('set', 'dark-mode', '--file', 'def.yaml', '--reason', 'launch');
  assert.deepEqual([set.code, set.out], [0, 'flag dark-mode set (revision 1)\n']);
  const bad = await weir('set', 'dark-mode', '--file', 'bad.json');
  assert.equal(bad.code, 1);
  assert.match(bad.err, /defaultVariant/);
  assert.equal(JSON.parse((await weir('get', 'dark-mode', '--json')).out).definition.defaultVariant, 'on');
  assert.match((await weir('disable', 'dark-mode')).out, /DISABLED/);
  assert.match((await weir('list')).out, /dark-mode\s+DISABLED/);
  await weir('enable', 'dark-mode');
  const hist = JSON.parse((await weir('history', 'dark-mode', '--json')).out);
  assert.deepEqual(hist.entries.map((e: { action: string }) => e.action), ['flag.enable', 'flag.disable', 'flag.put']);
  const sch = JSON.parse((await weir('schedule', 'dark-mode', '--at', '2999-01-01T09:00:00Z', '--file', 'def.yaml', '--json')).out);
  assert.match((await weir('schedule', 'dark-mode')).out, /pending/);
  assert.match((await weir('schedule', 'dark-mode', '--cancel', String(sch.id))).out, /cancelled/);
  assert.match((await weir('stale', '--days', '7')).out, /dark-mode\s+not-evaluated/);
  assert.equal((await weir('bogus')).code, 2);
});
