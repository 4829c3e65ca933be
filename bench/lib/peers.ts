// Starting peers for benchmarks: nginx, haproxy, wrk; each pinned to a core with taskset.
import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { once } from 'node:events';

export const WORK = mkdtempSync(join(tmpdir(), 'weir-bench-'));

export function need(bin: string, pkg = bin): void {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
  } catch {
    console.error(`bench: ${bin} is not installed. Install the peers first: apt-get update && apt-get install -y nginx haproxy wrk gcc (${pkg})`);
    process.exit(1);
  }
}

export async function freePort(): Promise<number> {
  const s = net.createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export async function waitPort(port: number, limitMs = 15_000): Promise<void> {
  const start = Date.now();
  for (;;) {
    try {
      const s = net.connect(port, '127.0.0.1');
      await once(s, 'connect');
      s.destroy();
      return;
    } catch {
      if (Date.now() - start > limitMs) throw new Error(`nothing listens on ${port}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

const children: ChildProcess[] = [];
process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); });
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

/** Spawns a command pinned to `core`. */
export function pinned(core: number, cmd: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const c = spawn('taskset', ['-c', String(core), cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  c.stderr!.on('data', (d) => { if (process.env.BENCH_DEBUG) process.stderr.write(d); });
  children.push(c);
  return c;
}

export function kill(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null) return Promise.resolve();
  const done = once(c, 'exit').then(() => undefined);
  c.kill('SIGTERM');
  return done;
}

/** nginx serving two tiny JSON backends, one worker. */
export async function nginxBackends(core: number): Promise<{ ports: [number, number]; proc: ChildProcess }> {
  const p1 = await freePort();
  const p2 = await freePort();
  const conf = join(WORK, 'backends.conf');
  writeFileSync(conf, `worker_processes 1; daemon off; pid ${WORK}/backends.pid; error_log stderr crit;
events { worker_connections 8192; }
http { access_log off; keepalive_requests 1000000;
  server { listen 127.0.0.1:${p1}; location / { default_type application/json; return 200 '{"ok":true,"version":"v1","items":[1,2,3]}'; } }
  server { listen 127.0.0.1:${p2}; location / { default_type application/json; return 200 '{"ok":true,"version":"v2","items":[1,2,3]}'; } }
}`);
  const proc = pinned(core, 'nginx', ['-c', conf, '-p', WORK, '-e', 'stderr']);
  await waitPort(p1);
  await waitPort(p2);
  return { ports: [p1, p2], proc };
}

/** nginx as the peer proxy: split_clients 95/5 on the user id, keepalive upstreams, buffered access log. */
export async function nginxProxy(core: number, backends: [number, number]): Promise<{ port: number; proc: ChildProcess }> {
  const port = await freePort();
  const conf = join(WORK, 'proxy.conf');
  writeFileSync(conf, `worker_processes 1; daemon off; pid ${WORK}/proxy.pid; error_log stderr crit;
events { worker_connections 8192; }
http { access_log ${WORK}/nginx-access.log combined buffer=64k flush=1s; keepalive_requests 1000000;
  upstream stable { server 127.0.0.1:${backends[0]}; keepalive 128; }
  upstream canary { server 127.0.0.1:${backends[1]}; keepalive 128; }
  split_clients "\${http_x_user_id}" $pool { 95% stable; * canary; }
  server { listen 127.0.0.1:${port};
    location / { proxy_pass http://$pool; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}`);
  const proc = pinned(core, 'nginx', ['-c', conf, '-p', WORK, '-e', 'stderr']);
  await waitPort(port);
  return { port, proc };
}

/** haproxy as the peer proxy: a weighted 95/5 backend with connection reuse, one thread. */
export async function haproxy(core: number, backends: [number, number]): Promise<{ port: number; proc: ChildProcess }> {
  const port = await freePort();
  const conf = join(WORK, 'haproxy.cfg');
  writeFileSync(conf, `global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  http-reuse always
frontend f
  bind 127.0.0.1:${port}
  default_backend b
backend b
  balance random
  server stable 127.0.0.1:${backends[0]} weight 95
  server canary 127.0.0.1:${backends[1]} weight 5
`);
  const proc = pinned(core, 'haproxy', ['-f', conf, '-db']);
  await waitPort(port);
  return { port, proc };
}

export interface WrkResult { rps: number; p50: number; p99: number; errors: number }

/** Runs wrk pinned to `core` with a random x-user-id per request; latencies in ms. */
export async function wrk(core: number, port: number, seconds: number, connections: number): Promise<WrkResult> {
  const script = join(WORK, 'users.lua');
  writeFileSync(script, `math.randomseed(42)
request = function() return wrk.format("GET", "/api/products", { ["x-user-id"] = "user-" .. math.random(1, 100000) }) end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %f %f %f %d %d\\n", summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, summary.errors.status))
end
`);
  const c = pinned(core, 'wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '-s', script, `http://127.0.0.1:${port}`]);
  let out = '';
  c.stdout!.on('data', (d) => (out += d));
  await once(c, 'exit');
  const m = /RESULT (\S+) (\S+) (\S+) (\d+) (\d+)/.exec(out);
  if (!m) throw new Error(`wrk printed no result:\n${out}`);
  return { rps: Number(m[1]), p50: Number(m[2]), p99: Number(m[3]), errors: Number(m[4]) + Number(m[5]) };
}

/**
 * nginx as the peer for shadow traffic: `mirror` of every request to the second backend. With
 * `shadowKeepalive` (the tuned setup) the mirror subrequests reuse keep-alive connections like the
 * primary's; without it the shadow location is nginx's default `proxy_pass` (HTTP/1.0, a new
 * connection for every copy), the setup the shadow issue describes. The primary keeps alive in both.
 */
export async function nginxMirror(core: number, primary: number, shadow: number, shadowKeepalive = true): Promise<{ port: number; proc: ChildProcess }> {
  const port = await freePort();
  const conf = join(WORK, `mirror-${port}.conf`);
  const mirrorLocation = shadowKeepalive
    ? `location = /mirror { internal; proxy_pass http://shadow$request_uri; proxy_http_version 1.1; proxy_set_header Connection ""; }`
    : `location = /mirror { internal; proxy_pass http://127.0.0.1:${shadow}$request_uri; }`;
  writeFileSync(conf, `worker_processes 1; daemon off; pid ${WORK}/mirror-${port}.pid; error_log stderr crit;
events { worker_connections 8192; }
http { access_log ${WORK}/nginx-mirror-${port}.log combined buffer=64k flush=1s; keepalive_requests 1000000;
  upstream stable { server 127.0.0.1:${primary}; keepalive 128; }
  upstream shadow { server 127.0.0.1:${shadow}; keepalive 128; }
  server { listen 127.0.0.1:${port};
    location / { mirror /mirror; mirror_request_body on; proxy_pass http://stable; proxy_http_version 1.1; proxy_set_header Connection ""; }
    ${mirrorLocation}
  }
}`);
  const proc = pinned(core, 'nginx', ['-c', conf, '-p', WORK, '-e', 'stderr']);
  await waitPort(port);
  return { port, proc };
}

/**
 * A misbehaving upstream for isolation benchmarks: `hang` (never answers), `reset` (closes at once),
 * `late` (answers after 10 s), `slow` (a healthy service that takes `ms` to answer).
 */
export async function badUpstream(core: number, mode: 'hang' | 'reset' | 'late' | 'slow', ms = 20): Promise<{ port: number; proc: ChildProcess }> {
  const port = await freePort();
  const code = `import { createServer } from 'node:http';
createServer((req, res) => {
  if (${JSON.stringify(mode)} === 'hang') return;
  if (${JSON.stringify(mode)} === 'reset') return req.socket.destroy();
  const t = setTimeout(() => res.end('{"ok":true}'), ${mode === 'slow' ? ms : 10000}); res.on('close', () => clearTimeout(t));
}).listen(${port}, '127.0.0.1');`;
  const proc = pinned(core, process.execPath, ['--input-type=module', '-e', code]);
  await waitPort(port);
  return { port, proc };
}

export interface RateResult { p50: number; p90: number; p99: number; p999: number; max: number; sent: number; failed: number; non2xx: number; clientLagMs: number }

let rateBin: string | undefined;

/** A latency round in which the client itself was later than this (ms) is run again (LAG_MS=). */
export const LAG_LIMIT_MS = Number(process.env.LAG_MS ?? 10);

/**
 * Runs one interleaved latency round, again (up to `tries` times in all) while the constant-rate
 * client reports that it was itself more than LAG_LIMIT_MS late: on a shared machine that means some
 * other process held the cores, and the round measures that process, not the targets. Every target
 * of the round is re-run together, so the comparison stays interleaved; repeats are printed.
 */
export async function quietRound<T extends { clientLagMs: number }>(run: () => Promise<T[]>, tries = 3): Promise<T[]> {
  let res = await run();
  for (let t = 1; t < tries; t++) {
    const lag = Math.max(...res.map((x) => x.clientLagMs));
    if (lag <= LAG_LIMIT_MS) break;
    console.log(`  (round run again: the client was ${lag.toFixed(1)} ms late, the machine was busy)`);
    res = await run();
  }
  return res;
}

/**
 * A constant-rate, coordinated-omission-free load (bench/lib/rate.c, built here with the system C
 * compiler; why a C program rather than hey, wrk or Node is said at the top of that file), pinned to
 * `core`: request i is due at i / rate seconds and its latency runs from then, whether or not earlier
 * requests have finished. `failed` counts requests that errored or never completed. Latencies in ms.
 */
export async function rateLoad(core: number, port: number, rate: number, seconds: number, connections = 64): Promise<RateResult> {
  if (rateBin === undefined) {
    rateBin = join(WORK, 'rate');
    execFileSync('cc', ['-O2', '-o', rateBin, join(import.meta.dirname, 'rate.c')]);
  }
  const c = pinned(core, rateBin, ['127.0.0.1', String(port), String(rate), String(seconds), String(connections), '/api/products']);
  let out = '';
  c.stdout!.on('data', (d) => (out += d));
  await once(c, 'exit');
  const m = /^RATE (.*)$/m.exec(out);
  if (!m) throw new Error(`rate printed no result:\n${out}`);
  const [due, , failed, non2xx, p50, p90, p99, p999, max, lag] = m[1].split(' ').map(Number);
  const ms = (us: number) => us / 1000;
  return { sent: due, failed, non2xx, p50: ms(p50), p90: ms(p90), p99: ms(p99), p999: ms(p999), max: ms(max), clientLagMs: ms(lag) };
}
