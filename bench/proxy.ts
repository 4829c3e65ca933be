// Proxy throughput and latency next to peers, in one run:
//   direct (no proxy), nginx (split_clients + keepalive), haproxy (weighted backend), a naive
//   node:http + undici proxy, and Weir (`weir up`) twice: `weir` with events on as the access log
//   (JSON lines, like nginx's access log) and `weir+store` also feeding the embedded DuckDB event store
//   and the Prometheus counters on the same core (the `weir up` default).
// wrk runs pinned to core 0; proxies and the nginx backends share core 1. Rounds are interleaved
// so drift on the machine hits every target alike. Then, at half of Weir's measured max rate, a
// constant-rate client (bench/lib/rate.c, coordinated-omission-free) measures the p99 latency Weir adds
// over going direct.
//
//   npm run bench:proxy                     # defaults: 3 rounds × 8 s per target
//   ROUNDS=5 SECONDS=10 npm run bench:proxy
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { WORK, freePort, haproxy, kill, need, nginxBackends, nginxProxy, pinned, quietRound, rateLoad, waitPort, wrk } from './lib/peers.ts';
import type { WrkResult } from './lib/peers.ts';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const SECONDS = Number(process.env.SECONDS ?? 8);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 64);
const ROOT = join(import.meta.dirname, '..');

for (const b of ['nginx', 'haproxy', 'wrk', 'cc', 'taskset']) need(b);
execFileSync('taskset', ['-pc', '0', String(process.pid)], { stdio: 'ignore' });

const backends = await nginxBackends(1);
const [b1, b2] = backends.ports;
const targets: Array<{ name: string; port: number }> = [{ name: 'direct', port: b1 }];
const ng = await nginxProxy(1, backends.ports);
targets.push({ name: 'nginx', port: ng.port });
const hp = await haproxy(1, backends.ports);
targets.push({ name: 'haproxy', port: hp.port });

const naivePort = await freePort();
const naive = pinned(1, process.execPath, [join(ROOT, 'bench/naive-proxy.ts'), String(naivePort), `http://127.0.0.1:${b1}`]);
await waitPort(naivePort);
targets.push({ name: 'naive-node', port: naivePort });

async function startWeir(name: string, store: boolean): Promise<{ port: number; proc: ReturnType<typeof pinned> }> {
  const port = await freePort();
  const controlPort = await freePort();
  const file = join(WORK, `${name}.yaml`);
  writeFileSync(file, `proxy: { listen: 127.0.0.1:${port} }
control: { listen: 127.0.0.1:${controlPort} }
dataDir: ${WORK}/${name}-data
events: { store: ${store} }
services:
  shop:
    match: { pathPrefix: / }
    versions: { stable: http://127.0.0.1:${b1}, canary: http://127.0.0.1:${b2} }
    weights: { stable: 95, canary: 5 }
    stickyBy: header:x-user-id
`);
  const proc = pinned(1, process.execPath, [join(ROOT, 'bin/weir.ts'), 'up', '-c', file, '--no-watch'], { WEIR_ADMIN_TOKEN: 'bench-token' });
  await waitPort(port);
  return { port, proc };
}
const weir = await startWeir('weir', false);
const weirPort = weir.port;
targets.push({ name: 'weir', port: weirPort });
const weirStore = await startWeir('weir-store', true);
targets.push({ name: 'weir+store', port: weirStore.port });

console.log(`proxy benchmark: ${ROUNDS} rounds × ${SECONDS}s per target, wrk -c${CONNECTIONS} on core 0, proxies + backends on core 1, Node ${process.version}`);
for (const t of targets) await wrk(0, t.port, 2, CONNECTIONS); // warm-up
const results = new Map<string, WrkResult[]>(targets.map((t) => [t.name, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const t of targets) {
    const res = await wrk(0, t.port, SECONDS, CONNECTIONS);
    results.get(t.name)!.push(res);
    process.stdout.write(`  round ${r + 1} ${t.name.padEnd(10)} ${Math.round(res.rps)} rps  p50 ${res.p50.toFixed(2)} ms  p99 ${res.p99.toFixed(2)} ms${res.errors ? `  errors ${res.errors}` : ''}\n`);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const summary = new Map(targets.map((t) => {
  const rs = results.get(t.name)!;
  return [t.name, { rps: median(rs.map((x) => x.rps)), p50: median(rs.map((x) => x.p50)), p99: median(rs.map((x) => x.p99)), errors: rs.reduce((a, x) => a + x.errors, 0) }];
}));
const direct = summary.get('direct')!;
console.log('\nmedian of rounds');
console.log(`  ${'target'.padEnd(11)} ${'rps'.padStart(8)} ${'÷direct'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}  errors`);
for (const [name, s] of summary) {
  console.log(`  ${name.padEnd(11)} ${Math.round(s.rps).toString().padStart(8)} ${(s.rps / direct.rps).toFixed(2).padStart(8)} ${s.p50.toFixed(2).padStart(8)} ${s.p99.toFixed(2).padStart(8)}  ${s.errors}`);
}
const w = summary.get('weir')!;
console.log(`\n  weir ÷ nginx      ${(w.rps / summary.get('nginx')!.rps).toFixed(2)}×   (target ≥ 0.6)`);
console.log(`  weir ÷ haproxy    ${(w.rps / summary.get('haproxy')!.rps).toFixed(2)}×`);
console.log(`  weir ÷ naive-node ${(w.rps / summary.get('naive-node')!.rps).toFixed(2)}×   (target ≥ 2)`);
const ws = summary.get('weir+store')!;
console.log(`  weir+store ÷ nginx ${(ws.rps / summary.get('nginx')!.rps).toFixed(2)}×, ÷ naive-node ${(ws.rps / summary.get('naive-node')!.rps).toFixed(2)}×`);

// Added latency at half of Weir's max load: a constant-rate client (bench/lib/rate.c) on core 0, each
// request due at a fixed time and its latency counted from then; direct, nginx and Weir interleaved,
// after a warm-up at the same rate (the JIT and the pools settle). nginx at the same rate is the
// reference for what this machine lets a proxy add. The machine is shared, so the client's own
// lateness is printed too, and a round where it passed LAG_MS (10 ms) is run again (quietRound).
const rate = Math.round(w.rps / 2);
console.log(`\nadded latency at half of Weir's max (${rate} req/s, constant rate, ${SECONDS}s each, interleaved ${ROUNDS}×)`);
const latTargets = [['direct', b1], ['nginx', ng.port], ['weir', weirPort]] as const;
for (const [, port] of latTargets) await rateLoad(0, port, rate, 2);
const added = { nginx: [] as number[], weir: [] as number[] };
const added50 = { nginx: [] as number[], weir: [] as number[] };
for (let r = 0; r < ROUNDS; r++) {
  const [d, n, x] = await quietRound(async () => [await rateLoad(0, b1, rate, SECONDS), await rateLoad(0, ng.port, rate, SECONDS), await rateLoad(0, weirPort, rate, SECONDS)]);
  for (const [name, res] of [['nginx', n], ['weir', x]] as const) {
    added[name].push(res.p99 - d.p99);
    added50[name].push(res.p50 - d.p50);
  }
  const bad = d.failed + x.failed + n.failed + d.non2xx + x.non2xx + n.non2xx;
  const f = (x: { p50: number; p99: number }) => `p50 ${x.p50.toFixed(3)} p99 ${x.p99.toFixed(3)}`;
  console.log(`  round ${r + 1}: direct ${f(d)} | nginx ${f(n)} | weir ${f(x)} ms | weir adds p50 ${(x.p50 - d.p50).toFixed(3)} p99 ${(x.p99 - d.p99).toFixed(3)} ms | client lag ≤ ${Math.max(d.clientLagMs, n.clientLagMs, x.clientLagMs).toFixed(1)} ms${bad ? ` | failed or non-2xx ${bad}` : ''}`);
}
console.log(`  median added by nginx: p50 ${median(added50.nginx).toFixed(3)} ms, p99 ${median(added.nginx).toFixed(3)} ms`);
console.log(`  median added by weir:  p50 ${median(added50.weir).toFixed(3)} ms, p99 ${median(added.weir).toFixed(3)} ms   (target p99 ≤ 1 ms)`);

await Promise.all([kill(weir.proc), kill(weirStore.proc), kill(naive), kill(ng.proc), kill(hp.proc), kill(backends.proc)]);
process.exit(0);
