import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Pool } from 'undici';
import { startShop } from '../../../examples/shop/server.ts';
import { startWeir } from '../../runtime/up.ts';
import { WeirError } from '../../errors.ts';
import { parseDuration } from '../../util/duration.ts';
import { parse } from '../args.ts';
import { UsageError } from '../command.ts';
import type { Command, CliIO } from '../command.ts';
import { apiCall } from '../client.ts';
import { adminToken } from '../../control/tokens.ts';
import type { ApiTarget } from '../client.ts';
import { formatRollout, formatRun } from './rollout-format.ts';
import type { RolloutView } from './rollout-format.ts';

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
      --rps N          generated requests per second (default 100)
      --duration D     stop after D (e.g. 30s); default: until Ctrl-C
      (default)        release the canary with a rollout; it has a bug (a slice of 5xx and slower
                       answers on /api/checkout) and Weir's analysis catches it and rolls back
      --good           the same rollout with a clean canary: analysis passes, it is promoted
      --split          no rollout: a fixed 90/10 split, cohorts and test traffic to play with
      --rollout        accepted for compatibility (the rollout is the default)
      --data-dir DIR   where the demo keeps its config (demo.yaml), state, events and admin token
                       (default .weir, where the other commands look for the token)`,
  async run(args, io) {
    const { values } = parse(args, {
      proxy: { type: 'string' }, control: { type: 'string' }, rps: { type: 'string' }, duration: { type: 'string' }, 'data-dir': { type: 'string' },
      rollout: { type: 'boolean' }, good: { type: 'boolean' }, split: { type: 'boolean' },
    });
    if (values.split && (values.good || values.rollout)) throw new UsageError('--split runs no rollout; leave out --good/--rollout');
    const rolloutMode = values.split !== true;
    const rps = Number(values.rps ?? 100);
    if (!(rps > 0 && rps <= 5000)) throw new UsageError('--rps must be a number from 1 to 5000');
    const durationMs = values.duration === undefined ? undefined : parseDuration(values.duration);
    if (values.duration !== undefined && durationMs === undefined) throw new UsageError(`--duration "${values.duration}" is not a duration (e.g. 30s, 2m)`);
    const base = resolve(io.cwd, values['data-dir'] ?? '.weir');
    // The rollout demo starts from a clean state of its own each time (a past run may have promoted the
    // canary), with the admin token of `base`, where the other commands look for it.
    const dir = rolloutMode ? join(base, 'rollout-demo') : base;
    if (rolloutMode) rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true, mode: 0o700 });

    const stable = await startShop({ version: 'v1' });
    // In the rollout demo the canary carries a real bug unless --good.
    const canary = await startShop(rolloutMode && !values.good ? { version: 'v2', errorRate: 0.1, extraLatencyMs: 80 } : { version: 'v2' });
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
${rolloutMode ? '' : '    weights: { stable: 90, canary: 10 }\n'}    stickyBy: header:x-user-id
    testTraffic:
      tokens: ["${testToken}"]
    cohorts:
      - match: { header: x-user-id, prefix: "internal-" }
        version: canary
${rolloutMode ? ROLLOUT_YAML : ''}`);
    let weir;
    try {
      weir = await startWeir({ configPath, env: rolloutMode ? { ...io.env, WEIR_ADMIN_TOKEN: adminToken(base, io.env).token } : io.env, cwd: io.cwd, watchConfig: true, log: (l) => io.stderr(`${l}\n`) });
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

${rolloutMode ? `Two versions of the shop: stable (v1) at 100%, canary (v2) deployed at 0%; a rollout releases it
in steps (10%, 30%, 50%), judging each step on live traffic; ${values.good ? 'a clean canary' : 'the canary has a bug'}.` : `Two versions of the shop: stable (v1) at 90%, canary (v2) at 10%, sticky by x-user-id;`}
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
        // Many users in the rollout demo, so each version's share of requests follows its weight closely.
        const user = seq % 17 === 0 ? `internal-${seq % 5}` : `user-${Math.floor(Math.random() * (rolloutMode ? 50_000 : 500))}`;
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
    const stopWatching = new AbortController();
    if (rolloutMode) void watchRollout({ url: controlUrl, token: weir.token }, io, stopWatching.signal, !values.good);
    await new Promise<void>((resolveStop) => {
      io.signal.addEventListener('abort', () => resolveStop(), { once: true });
      if (durationMs !== undefined) setTimeout(resolveStop, durationMs).unref();
    });
    stopWatching.abort();
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

const ROLLOUT_YAML = `    rollout:
      steps:
        - setWeight: 10
        - analysis: { interval: 10s, count: 3 }
        - setWeight: 30
        - analysis: { interval: 10s, count: 3 }
        - setWeight: 50
        - analysis: { interval: 10s, count: 3 }
      analysis:
        minSamples: 50
        metrics:
          - { name: success-rate, builtin: request-success-rate, thresholdRange: { min: 99 } }
          - { name: latency-p99, builtin: request-duration-p99, thresholdRange: { max: 500 } }
        judge: { compare: baseline, pass: 95, marginal: 75 }
      maxWeight: 50
`;

/** Starts the demo's rollout and narrates it: each step, each analysis run, and the evidence at the end. */
async function watchRollout(target: ApiTarget, io: CliIO, signal: AbortSignal, buggy: boolean): Promise<void> {
  const sleep = (ms: number) => new Promise<void>((r) => { const t = setTimeout(r, ms); signal.addEventListener('abort', () => { clearTimeout(t); r(); }, { once: true }); });
  await sleep(3000);
  if (signal.aborted) return;
  io.stdout(`\n▶ weir rollout start shop --to canary   (${buggy ? 'the canary has a bug: 10% of /api/checkout answer 500, and 80 ms slower' : 'a clean canary'})\n`);
  try {
    let v = await apiCall<RolloutView>(target, 'POST', '/api/v1/services/shop/rollout', { to: 'canary' });
    let message = '';
    const seen = new Set<string>();
    while (!signal.aborted) {
      if (v.message !== message) {
        message = v.message;
        io.stdout(`▶ rollout: ${v.phase}, step ${v.step}/${v.steps}, ${Object.entries(v.weights).map(([k, x]) => `${k}=${x}%`).join(' ')} — ${v.message}\n`);
      }
      for (const r of [...v.runs].reverse()) {
        if (seen.has(r.id)) continue;
        seen.add(r.id);
        io.stdout(`▶ analysis ${r.id}: ${r.phase} — ${r.summary}\n`);
      }
      if (['Succeeded', 'Failed', 'Aborted'].includes(v.phase)) {
        io.stdout(`\n${v.phase === 'Failed' ? 'Weir caught the bad canary and rolled it back. The evidence:' : v.phase === 'Succeeded' ? 'The canary passed every analysis and is now the stable version. The evidence:' : 'The rollout stopped:'}\n`);
        if (v.runs[0]) io.stdout(`${formatRun(v.runs[0])}\n`);
        io.stdout(`\n${formatRollout(v, 0)}See it all with: weir rollout status shop   and   weir audit shop\n\n`);
        return;
      }
      await sleep(1000);
      if (!signal.aborted) v = await apiCall<RolloutView>(target, 'GET', '/api/v1/services/shop/rollout');
    }
  } catch (e) {
    io.stderr(`weir demo: the rollout could not run: ${(e as Error).message}\n`);
  }
}
