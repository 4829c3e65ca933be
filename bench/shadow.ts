// Shadow traffic and tap compare, measured in one run:
//   1. throughput with 100% of requests mirrored: Weir (`shadow:`) next to nginx (`mirror`), wrk, closed loop;
//   2. the user's latency at a constant rate (bench/lib/rate.c, coordinated-omission-free) with shadow + tap compare on versus off;
//   3. the same with the shadow upstream hanging, resetting, or answering 10 s late: user errors and p99.
// wrk and the constant-rate client run on core 0; proxies, nginx backends and the bad upstreams share core 1.
// Rounds are interleaved so drift on the machine hits every target alike.
//
//   node bench/shadow.ts                      # defaults: 3 rounds × 5 s
//   ROUNDS=5 SECONDS=8 node bench/shadow.ts
//   ONLY=latency RATE=400 node bench/shadow.ts  # the user-latency part alone, at a chosen rate
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { WORK, badUpstream, freePort, kill, need, nginxBackends, nginxMirror, pinned, quietRound, rateLoad, waitPort, wrk } from './lib/peers.ts';
import type { RateResult, WrkResult } from './lib/peers.ts';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const ONLY = process.env.ONLY ?? '';
const SECONDS = Number(process.env.SECONDS ?? 5);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 64);
const ROOT = join(import.meta.dirname, '..');

for (const b of ['nginx', 'wrk', 'cc', 'taskset']) need(b);
execFileSync('taskset', ['-pc', '0', String(process.pid)], { stdio: 'ignore' });

const backends = await nginxBackends(1);
const [b1, b2] = backends.ports;
const procs: ChildProcess[] = [backends.proc];
const mirror = await nginxMirror(1, b1, b2);
procs.push(mirror.proc);
// The setup the issue has in mind: nginx's default proxy_pass in the mirror location, a new connection per copy.
const mirrorNoKa = await nginxMirror(1, b1, b2, false);
procs.push(mirrorNoKa.proc);
const bad = { hang: await badUpstream(1, 'hang'), reset: await badUpstream(1, 'reset'), late: await badUpstream(1, 'late'), slow: await badUpstream(1, 'slow', 20) };
procs.push(bad.hang.proc, bad.reset.proc, bad.late.proc, bad.slow.proc);
// A shadow that is healthy but takes 20 ms to answer, as a real service does: nginx's mirror holds the
// client connection's next request until the mirror subrequest is done; Weir's copies are fire-and-forget.
const mirrorSlow = await nginxMirror(1, b1, bad.slow.port);
procs.push(mirrorSlow.proc);

/**
 * Starts `weir up` with one service; `shadowTo` and `compare` switch the capabilities on. Events go to
 * the JSON-lines access log (like nginx's access log), not the embedded DuckDB store: the same setup
 * as `weir` in bench/proxy.ts, which also measures what the store adds. Seven processes each with
 * their own store on the proxies' core would measure DuckDB's background work, not shadowing.
 */
const controls = new Map<number, number>();
async function weir(name: string, shadowTo: number | null, compare: boolean, maxLoad?: number): Promise<number> {
  const port = await freePort();
  const control = await freePort();
  const next = shadowTo ?? b2;
  const yaml = `proxy: { listen: 127.0.0.1:${port} }
control: { listen: 127.0.0.1:${control} }
dataDir: ${WORK}/weir-${name}
events: { store: false }
services:
  shop:
    match: { pathPrefix: / }
    versions: { stable: http://127.0.0.1:${b1}, stable2: http://127.0.0.1:${b1}, next: http://127.0.0.1:${next} }
    weights: { stable: 100 }
${shadowTo === null ? '' : `    shadow: { version: next, percent: 100, maxConcurrent: 256, timeout: 2s${maxLoad === undefined ? '' : `, maxLoad: ${maxLoad}`} }\n`}${compare ? `    compare: { candidate: next, secondary: stable2, sampleRate: 0.05, maxConcurrent: 16, timeout: 2s }\n` : ''}`;
  const file = join(WORK, `weir-${name}.yaml`);
  writeFileSync(file, yaml);
  procs.push(pinned(1, process.execPath, [join(ROOT, 'bin/weir.ts'), 'up', '-c', file, '--no-watch'], { WEIR_ADMIN_TOKEN: 'bench-token' }));
  await waitPort(port);
  controls.set(port, control);
  return port;
}

/** The shadow's copy counters of the Weir listening on `port` (its control API). */
async function shadowCounters(port: number): Promise<{ sent: number; sampled: number; dropped: Record<string, number> }> {
  const res = await fetch(`http://127.0.0.1:${controls.get(port)}/api/v1/services/shop/shadow`, { headers: { authorization: 'Bearer bench-token' } });
  return ((await res.json()) as { counters: { sent: number; sampled: number; dropped: Record<string, number> } }).counters;
}

const ports = {
  'weir (no shadow)': await weir('off', null, false),
  // Every request copied, as nginx's mirror does (maxLoad: 1 never sheds copies)…
  'weir shadow 100%': await weir('shadow', b2, false, 1),
  'weir shadow 100% (20 ms)': await weir('shadow-slow', bad.slow.port, false, 1),
  // …and with the default maxLoad (0.8): at saturation copies give way to users' requests.
  'weir shadow 100% (maxLoad 0.8)': await weir('shadow-shed', b2, false),
  'weir shadow+compare': await weir('both', b2, true),
  'shadow hangs': await weir('hang', bad.hang.port, true),
  'shadow resets': await weir('reset', bad.reset.port, true),
  'shadow 10 s late': await weir('late', bad.late.port, true),
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log(`shadow benchmark: ${ROUNDS} rounds × ${SECONDS}s, wrk -c${CONNECTIONS} and the constant-rate client on core 0, proxies + upstreams on core 1, Node ${process.version}`);
// 1. Throughput with every request mirrored.
const tput: Array<[string, number]> = [
  ['nginx mirror 100%', mirror.port], ['nginx mirror 100% (no ka)', mirrorNoKa.port], ['weir shadow 100%', ports['weir shadow 100%']],
  ['nginx mirror 100% (20 ms)', mirrorSlow.port], ['weir shadow 100% (20 ms)', ports['weir shadow 100% (20 ms)']],
  ['weir (no shadow)', ports['weir (no shadow)']], ['weir shadow 100% (maxLoad 0.8)', ports['weir shadow 100% (maxLoad 0.8)']],
];
if (ONLY !== 'latency') for (const [, port] of tput) await wrk(0, port, 2, CONNECTIONS);
const rps = new Map<string, WrkResult[]>(tput.map(([n]) => [n, []]));
const sentShare = new Map<string, number[]>(tput.map(([n]) => [n, []]));
for (let r = 0; r < (ONLY === 'latency' ? 0 : ROUNDS); r++) {
  for (const [n, port] of tput) {
    const before = n.startsWith('weir shadow') ? await shadowCounters(port) : undefined;
    const res = await wrk(0, port, SECONDS, CONNECTIONS);
    rps.get(n)!.push(res);
    let copies = '';
    if (before !== undefined) {
      const after = await shadowCounters(port);
      const sampled = after.sampled - before.sampled;
      sentShare.get(n)!.push((after.sent - before.sent) / Math.max(1, sampled));
      copies = `  copies sent ${(100 * (after.sent - before.sent) / Math.max(1, sampled)).toFixed(0)}% (overload ${after.dropped.overload - before.dropped.overload}, concurrency ${after.dropped.concurrency - before.dropped.concurrency})`;
    }
    console.log(`  round ${r + 1} ${n.padEnd(30)} ${Math.round(res.rps)} rps  p99 ${res.p99.toFixed(2)} ms${res.errors ? `  errors ${res.errors}` : ''}${copies}`);
  }
}
const rpsOf = (n: string) => (rps.get(n)!.length ? median(rps.get(n)!.map((x) => x.rps)) : NaN);

// 2 and 3. User latency at a fixed rate: a quarter of Weir's unshadowed maximum (RATE= to choose).
const rate = Math.round(Number(process.env.RATE ?? (ONLY === 'latency' ? 400 : rpsOf('weir (no shadow)') / 4)));
const latNames = ['weir (no shadow)', 'weir shadow+compare', 'shadow hangs', 'shadow resets', 'shadow 10 s late'] as const;
const lat = new Map<string, RateResult[]>(latNames.map((n) => [n, []]));
console.log(`\nuser latency at ${rate} req/s (constant rate, ${SECONDS}s each, interleaved ${ROUNDS}×)`);
for (const n of latNames) await rateLoad(0, ports[n], rate, 2); // warm-up
for (let r = 0; r < ROUNDS; r++) {
  const round = await quietRound(async () => {
    const xs: RateResult[] = [];
    for (const n of latNames) xs.push(await rateLoad(0, ports[n], rate, SECONDS));
    return xs;
  });
  for (let i = 0; i < latNames.length; i++) {
    const n = latNames[i];
    const x = round[i];
    lat.get(n)!.push(x);
    console.log(`  round ${r + 1} ${n.padEnd(20)} p50 ${x.p50.toFixed(3)} p99 ${x.p99.toFixed(3)} ms  client lag ≤ ${x.clientLagMs.toFixed(1)} ms${x.failed + x.non2xx ? `  user errors ${x.failed + x.non2xx}` : ''}`);
  }
}

{
  const c = await shadowCounters(ports['weir shadow+compare']);
  console.log(`  weir shadow+compare, over the latency rounds: ${c.sent} copies sent, ${c.dropped.overload} dropped as overload (maxLoad 0.8)`);
}
const off = lat.get('weir (no shadow)')!;
const offP99 = median(off.map((x) => x.p99));
console.log('\nsummary (medians of rounds)');
console.log(`  ${'target'.padEnd(30)} ${'rps'.padStart(8)} ${'user p50'.padStart(9)} ${'user p99'.padStart(9)} ${'p99 ÷ off'.padStart(10)} ${'user errors'.padStart(12)}`);
for (const [n] of tput) console.log(`  ${n.padEnd(30)} ${Math.round(rpsOf(n)).toString().padStart(8)}`);
for (const n of latNames) {
  const xs = lat.get(n)!;
  const p99 = median(xs.map((x) => x.p99));
  const errs = xs.reduce((a, x) => a + x.failed + x.non2xx, 0);
  console.log(`  ${n.padEnd(30)} ${''.padStart(8)} ${median(xs.map((x) => x.p50)).toFixed(3).padStart(9)} ${p99.toFixed(3).padStart(9)} ${(p99 / offP99).toFixed(2).padStart(10)} ${String(errs).padStart(12)}`);
}
console.log(`\n  weir shadow 100% ÷ nginx mirror 100%, shadow as fast as primary   ${(rpsOf('weir shadow 100%') / rpsOf('nginx mirror 100%')).toFixed(2)}×   (target ≥ 2)`);
console.log(`  the same, nginx's mirror opening a connection per copy (no ka)  ${(rpsOf('weir shadow 100%') / rpsOf('nginx mirror 100% (no ka)')).toFixed(2)}×   (target ≥ 2)`);
console.log(`  weir shadow 100% ÷ nginx mirror 100%, shadow answers in 20 ms    ${(rpsOf('weir shadow 100% (20 ms)') / rpsOf('nginx mirror 100% (20 ms)')).toFixed(2)}×   (target ≥ 2)`);
const shed = 'weir shadow 100% (maxLoad 0.8)';
console.log(`  ${shed}: ${(rpsOf(shed) / rpsOf('weir (no shadow)')).toFixed(2)}× the unshadowed rps with ${(100 * median(sentShare.get(shed)!)).toFixed(0)}% of requests copied (maxLoad 1: ${(rpsOf('weir shadow 100%') / rpsOf('weir (no shadow)')).toFixed(2)}× with ${(100 * median(sentShare.get('weir shadow 100%')!)).toFixed(0)}%)`);
console.log(`  user p99, shadow+compare ÷ off          ${(median(lat.get('weir shadow+compare')!.map((x) => x.p99)) / offP99).toFixed(2)}×   (target ≤ 1.1)`);
for (const n of ['shadow hangs', 'shadow resets', 'shadow 10 s late'] as const) {
  const xs = lat.get(n)!;
  console.log(`  ${`user p99, ${n} ÷ off`.padEnd(40)} ${(median(xs.map((x) => x.p99)) / offP99).toFixed(2)}×   user errors ${xs.reduce((a, x) => a + x.failed + x.non2xx, 0)}   (targets ≤ 1.1, 0)`);
}
await Promise.all(procs.map((p) => kill(p)));
process.exit(0);
