import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Pool } from 'undici';
import { startShop } from '../../../examples/shop/server.ts';
import { startWeir } from '../../runtime/up.ts';
import { WeirError } from '../../errors.ts';
import { parseDuration } from '../../util/duration.ts';
import { parse } from '../args.ts';
import { UsageError } from '../command.ts';
import type { Command } from '../command.ts';

const PATHS = ['/api/products', '/api/products/3', '/api/cart', '/api/checkout'];

export const demoCommand: Command = {
  name: 'demo',
  summary: 'Start two versions of a sample shop, Weir in front, and live traffic',
  help: `Usage: weir demo [options]

Starts two versions of a small JSON shop (examples/shop), Weir in front of them (proxy on :8080,
control API on :8081 by default), and a traffic generator of simulated users. Prints the live split
per version, and how to send test traffic to the canary and change the weights.

Options:
      --proxy ADDR     proxy address (default 127.0.0.1:8080)
      --control ADDR   control API address (default 127.0.0.1:8081)
      --rps N          generated requests per second (default 40)
      --duration D     stop after D (e.g. 30s); default: until Ctrl-C
      --data-dir DIR   where the demo keeps its config (demo.yaml), state, events and admin token
                       (default .weir, where the other commands look for the token)`,
  async run(args, io) {
    const { values } = parse(args, {
      proxy: { type: 'string' }, control: { type: 'string' }, rps: { type: 'string' }, duration: { type: 'string' }, 'data-dir': { type: 'string' },
    });
    const rps = Number(values.rps ?? 40);
    if (!(rps > 0 && rps <= 5000)) throw new UsageError('--rps must be a number from 1 to 5000');
    const durationMs = values.duration === undefined ? undefined : parseDuration(values.duration);
    if (values.duration !== undefined && durationMs === undefined) throw new UsageError(`--duration "${values.duration}" is not a duration (e.g. 30s, 2m)`);
    const dir = resolve(io.cwd, values['data-dir'] ?? '.weir');
    mkdirSync(dir, { recursive: true, mode: 0o700 });

    const stable = await startShop({ version: 'v1' });
    const canary = await startShop({ version: 'v2' });
    const testToken = io.env.WEIR_TEST_TOKEN ?? 'demo-test-token';
    const configPath = join(dir, 'demo.yaml');
    writeFileSync(configPath, `# Written by \`weir demo\`. Edit it while the demo runs: Weir reloads it.
proxy:
  listen: ${values.proxy ?? '127.0.0.1:8080'}
control:
  listen: ${values.control ?? '127.0.0.1:8081'}
dataDir: .
events:
  captureHeaders: [x-plan]
services:
  shop:
    match: { pathPrefix: / }
    versions:
      stable: ${stable.url}
      canary: ${canary.url}
    weights: { stable: 90, canary: 10 }
    stickyBy: header:x-user-id
    testTraffic:
      tokens: ["${testToken}"]
    cohorts:
      - match: { header: x-user-id, prefix: "internal-" }
        version: canary
`);
    let weir;
    try {
      weir = await startWeir({ configPath, env: io.env, cwd: io.cwd, watchConfig: true, log: (l) => io.stderr(`${l}\n`) });
    } catch (e) {
      stable.server.close();
      canary.server.close();
      throw e instanceof WeirError ? e : new WeirError('INTERNAL', (e as Error).message);
    }
    const proxyUrl = `http://127.0.0.1:${weir.proxyAddress.port}`;
    const controlUrl = `http://127.0.0.1:${weir.controlAddress.port}`;
    io.stdout(`
Weir demo is running.
  proxy        ${proxyUrl}      (the shop, through Weir)
  control API  ${controlUrl}
  config       ${configPath}  (edit it: Weir reloads)
  events       ${join(weir.dataDir, 'events.jsonl')}  (one JSON line per request)

Two versions of the shop: stable (v1) at 90%, canary (v2) at 10%, sticky by x-user-id;
users named internal-* always get the canary. Simulated users send ${rps} requests/s.

Try, in another terminal:
  curl -s ${proxyUrl}/api/products -H 'x-user-id: alice'              # sticky: alice always gets the same version
  curl -s ${proxyUrl}/api/products -H 'x-user-id: internal-bob'       # a cohort: the canary
  curl -s ${proxyUrl}/ -H 'x-weir-test-token: ${testToken}' -H 'x-weir-version: canary'   # test traffic
  export WEIR_URL=${controlUrl} WEIR_TOKEN=${weir.token}
  npm run --silent weir -- weights shop stable=50 canary=50   # shift traffic
  npm run --silent weir -- services shop                       # versions, weights, live counts

Live split (every 2 s; Ctrl-C stops):
`);
    const pool = new Pool(proxyUrl, { connections: 8 });
    const counts = new Map<string, number>();
    const statuses = new Map<string, number>();
    let sent = 0;
    let seq = 0;
    const tick = setInterval(() => {
      for (let i = 0; i < Math.max(1, Math.round(rps / 10)); i++) {
        const user = seq % 17 === 0 ? `internal-${seq % 5}` : `user-${Math.floor(Math.random() * 500)}`;
        const path = PATHS[seq++ % PATHS.length];
        sent++;
        pool.request({ path, method: 'GET', headers: { 'x-user-id': user, 'x-plan': seq % 3 ? 'free' : 'pro' } }).then(async (r) => {
          const version = String(r.headers['x-shop-version'] ?? 'weir');
          await r.body.dump();
          counts.set(version, (counts.get(version) ?? 0) + 1);
          const cls = `${Math.floor(r.statusCode / 100)}xx`;
          statuses.set(cls, (statuses.get(cls) ?? 0) + 1);
        }, () => statuses.set('failed', (statuses.get('failed') ?? 0) + 1));
      }
    }, 100);
    const report = setInterval(() => {
      const total = [...counts.values()].reduce((a, b) => a + b, 0) || 1;
      const split = [...counts.entries()].sort().map(([v, n]) => `${v} ${(100 * n / total).toFixed(1)}%`).join('  ');
      const st = [...statuses.entries()].sort().map(([k, n]) => `${k}:${n}`).join(' ');
      const w = weir.plane.table.services[0].weights;
      io.stdout(`  sent ${sent}  answered by: ${split}  (${st})  weights: ${Object.entries(w).map(([k, v]) => `${k}=${v}%`).join(' ')}\n`);
    }, 2000);
    await new Promise<void>((resolveStop) => {
      io.signal.addEventListener('abort', () => resolveStop(), { once: true });
      if (durationMs !== undefined) setTimeout(resolveStop, durationMs).unref();
    });
    clearInterval(tick);
    clearInterval(report);
    await pool.close().catch(() => {});
    await weir.close(2000);
    stable.server.close();
    canary.server.close();
    stable.server.closeAllConnections();
    canary.server.closeAllConnections();
    io.stdout(`demo stopped after ${sent} requests\n`);
    return 0;
  },
};
