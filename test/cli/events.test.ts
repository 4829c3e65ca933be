import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { request } from 'undici';
import { backend, echo, until } from '../proxy/helpers.ts';

const BIN = join(import.meta.dirname, '../../bin/weir.ts');
const TOKEN = 'events-admin-token';

test('weir up keeps every request queryable: /api/v1/query, weir query, /metrics, fault routes mounted', async (t) => {
  const a = await backend(t, echo('stable'));
  const b = await backend(t, (_req, res) => { res.writeHead(500); res.end('boom'); });
  const dir = mkdtempSync(join(tmpdir(), 'weir-events-'));
  writeFileSync(join(dir, 'weir.yaml'), `proxy: { listen: 127.0.0.1:0 }\ncontrol: { listen: 127.0.0.1:0 }\nevents: { flushInterval: 100ms }\nservices:\n  shop:\n    match: { pathPrefix: / }\n    versions: { stable: ${a.url}, canary: ${b.url} }\n    weights: { stable: 80, canary: 20 }\n    stickyBy: header:x-user-id\n`);
  const child = spawn(process.execPath, [BIN, 'up', '--json'], { cwd: dir, env: { ...process.env, WEIR_ADMIN_TOKEN: TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  await until(() => out.includes('\n'), 'startup', 20_000);
  const info = JSON.parse(out.split('\n')[0]) as { proxy: string; control: string };
  const served = new Map<string, number>();
  for (let i = 0; i < 200; i++) {
    const r = await request(`${info.proxy}/api/items/${i % 7}`, { headers: { 'x-user-id': `user-${i}` } });
    await r.body.dump();
    const v = r.statusCode === 500 ? 'canary' : 'stable';
    served.set(v, (served.get(v) ?? 0) + 1);
  }
  const api = async (method: string, path: string, body?: unknown) => {
    const r = await request(info.control + path, { method: method as 'GET', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: r.statusCode, body: await r.body.json() as any };
  };
  const spec = { calculations: [{ op: 'COUNT' }], breakdowns: ['service.version'], time_range: 3600 };
  let rows: Array<Record<string, unknown>> = [];
  // The store flushes every 100 ms: query until all 200 requests are in.
  for (let i = 0; i < 400; i++) {
    const q = await api('POST', '/api/v1/query', spec);
    assert.equal(q.status, 200, JSON.stringify(q.body));
    rows = (q.body.data.results as Array<{ data: Record<string, unknown> }>).map((r) => r.data);
    const total = rows.reduce((n, r) => n + Number(r.COUNT ?? 0), 0);
    if (total >= 200) break;
  }
  const counts = Object.fromEntries(rows.map((r) => [r['service.version'], Number(r.COUNT)]));
  assert.deepEqual(counts, Object.fromEntries([...served].sort()), 'every request is in the store, by version');

  const cli = spawn(process.execPath, [BIN, 'query', '--calc', 'COUNT', '--where', 'status>=500', '--by', 'version', '--url', info.control, '--token', TOKEN, '--json'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let cliOut = '';
  cli.stdout.on('data', (d) => (cliOut += d));
  cli.stderr.on('data', (d) => (cliOut += d));
  const [code] = await once(cli, 'exit');
  assert.equal(code, 0, cliOut);
  assert.ok(cliOut.includes(String(served.get('canary'))), cliOut);

  const metrics = await request(`${info.control}/metrics`);
  const text = await metrics.body.text();
  assert.match(text, /weir_proxy_requests_total\{[^}]*version="canary"[^}]*\} \d+/);

  const faults = await api('GET', '/api/v1/services/shop/faults');
  assert.equal(faults.status, 200);
  child.kill('SIGTERM');
  const [exit] = await once(child, 'exit');
  assert.equal(exit, 0);
});
