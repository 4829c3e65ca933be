/**
 * Flag evaluation: Weir's compiled evaluator vs @openfeature/flagd-core, same flag sets, same contexts, one
 * process run; then the OFREP server's requests/s under autocannon (server in a child process).
 *
 *   node bench/flags.ts            # ~15 s in total
 *
 * Targets: ≥ 2× flagd-core on targeting rules, ≥ 1× on a static flag. The numbers are noisy on a shared
 * machine, so each side runs in several short interleaved rounds and the best round counts (the least
 * disturbed one); even so, expect ±20 % between runs.
 */
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FlagdCore } from '@openfeature/flagd-core';
import type { Logger } from '@openfeature/core';
import { loadFlagSet } from '../src/flags/load.ts';
import { createFlagRegistry } from '../src/flags/registry.ts';
import { createOfrepRoutes } from '../src/flags/ofrep/routes.ts';

/** The slice of autocannon's programmatic API used here (it ships no types, and @types/autocannon is not installed). */
interface AutocannonResult { requests: { average: number }; latency: { p99: number }; non2xx: number; errors: number }
type Autocannon = (opts: { url: string; method: string; body: string; duration: number; connections: number; headers: Record<string, string> }) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const quiet: Logger = { error() {}, warn() {}, info() {}, debug() {} };

const twenty = {
  and: [
    { '==': [{ var: 'tier' }, 'gold'] }, { '!=': [{ var: 'country' }, 'XX'] }, { '>=': [{ var: 'age' }, 18] },
    { '<': [{ var: 'age' }, 99] }, { in: [{ var: 'country' }, ['DE', 'FR', 'US', 'CA']] }, { starts_with: [{ var: 'email' }, 'user'] },
    { ends_with: [{ var: 'email' }, '@example.com'] }, { in: ['beta', { var: 'groups' }] }, { '!': { var: 'banned' } },
    { '===': [{ var: 'plan.kind' }, 'annual'] }, { '>': [{ var: 'plan.seats' }, 5] }, { '<=': [1, { var: 'plan.seats' }, 500] },
    { '!!': { var: 'targetingKey' } }, { sem_ver: [{ var: 'appVersion' }, '>=', '2.0.0'] }, { in: ['@', { var: 'email' }] },
    { '!==': [{ var: 'tier' }, 'free'] }, { or: [{ '==': [{ var: 'os' }, 'ios'] }, { '==': [{ var: 'os' }, 'android'] }] },
    { '>': [{ var: 'sessions' }, 3] }, { '!': { in: [{ var: 'country' }, ['XX', 'YY']] } }, { '==': [{ var: 'region' }, 'eu'] },
  ],
};

const doc = {
  flags: {
    static: { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'on' },
    split: {
      state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'off',
      targeting: { if: [{ ends_with: [{ var: 'email' }, '@example.com'] }, { fractional: [['on', 50], ['off', 50]] }, 'off'] },
    },
    twenty: { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'off', targeting: { if: [twenty, 'on', 'off'] } },
  },
};

const contexts = Array.from({ length: 1024 }, (_, i) => ({
  targetingKey: `user-${i}`, email: `user${i}@example.com`, tier: 'gold', country: 'DE', age: 20 + (i % 50), groups: ['beta', 'staff'],
  banned: false, plan: { kind: 'annual', seats: 10 + (i % 90) }, appVersion: '2.3.1', os: i % 2 ? 'ios' : 'android', sessions: 4 + (i % 7), region: 'eu',
}));

function opsPerSec(fn: (i: number) => unknown, ms: number): number {
  let n = 0;
  const end = performance.now() + ms;
  let sink = 0;
  while (performance.now() < end) {
    for (let k = 0; k < 1000; k++, n++) if (fn(n) === undefined) sink++;
  }
  if (sink < 0) console.log(sink);
  return n / (ms / 1000);
}

async function evaluators(): Promise<void> {
  const loaded = loadFlagSet(doc, 'bench');
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  const registry = createFlagRegistry({ clock: Date.now, initial: loaded.set });
  const core = new FlagdCore(undefined, quiet);
  core.setConfigurations(JSON.stringify(doc));
  // sanity: both agree on what they are measuring
  for (const key of Object.keys(doc.flags)) {
    for (const ctx of contexts.slice(0, 64)) {
      const a = registry.resolveBoolean(key, false, ctx);
      const b = core.resolveBooleanEvaluation(key, false, ctx);
      if (a.value !== b.value || a.reason !== b.reason) throw new Error(`disagree on ${key}: ${JSON.stringify([a, b])}`);
    }
  }
  const ms = 200;
  const rounds = 7;
  console.log(`flag evaluation: best of ${rounds} interleaved ${ms} ms rounds each (noisy: 2 cores shared with other work)`);
  console.log('case                         weir ops/s   flagd-core ops/s   weir/flagd-core');
  for (const [label, key] of [['static flag', 'static'], ['ends_with + fractional', 'split'], ['20-condition rule', 'twenty']] as const) {
    const w = (i: number) => registry.resolveBoolean(key, false, contexts[i & 1023]).value;
    const f = (i: number) => core.resolveBooleanEvaluation(key, false, contexts[i & 1023]).value;
    for (let i = 0; i < 50_000; i++) { w(i); f(i); } // warm-up
    let weir = 0;
    let flagd = 0;
    for (let r = 0; r < rounds; r++) {
      weir = Math.max(weir, opsPerSec(w, ms));
      flagd = Math.max(flagd, opsPerSec(f, ms));
    }
    console.log(`${label.padEnd(26)} ${fmt(weir).padStart(12)} ${fmt(flagd).padStart(18)} ${(weir / flagd).toFixed(2).padStart(16)}×`);
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** Child process: a node:http server dispatching the OFREP routes (token check included, as in production). */
async function serveOfrep(): Promise<void> {
  const loaded = loadFlagSet(doc, 'bench');
  if (!loaded.ok) throw new Error('bad flags');
  const registry = createFlagRegistry({ initial: loaded.set });
  const routes = createOfrepRoutes({ registry });
  const single = routes[0];
  const bulk = routes[1];
  const server = http.createServer((req, res) => {
    if (req.headers.authorization !== 'Bearer bench') return void res.writeHead(401).end();
    const url = new URL(req.url ?? '/', 'http://x');
    const m = /^\/ofrep\/v1\/evaluate\/flags\/([^/]+)$/.exec(url.pathname);
    const principal = { scope: 'read' as const, name: 'bench' };
    if (m && req.method === 'POST') return void single.handler(req, res, { url, params: { key: decodeURIComponent(m[1]) }, principal });
    if (url.pathname === '/ofrep/v1/evaluate/flags' && req.method === 'POST') return void bulk.handler(req, res, { url, params: {}, principal });
    res.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as AddressInfo).port }));
  process.on('disconnect', () => server.close(() => process.exit(0)));
}

async function ofrep(): Promise<void> {
  const child = fork(import.meta.filename, ['--serve'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve) => child.once('message', (m: { port: number }) => resolve(m.port)));
  const body = JSON.stringify({ context: contexts[7] });
  for (const [label, path, seconds] of [['single flag (split)', '/ofrep/v1/evaluate/flags/split', 5], ['bulk (3 flags)', '/ofrep/v1/evaluate/flags', 3]] as const) {
    const result = await autocannon({
      url: `http://127.0.0.1:${port}${path}`, method: 'POST', body, duration: seconds, connections: 16,
      headers: { 'content-type': 'application/json', authorization: 'Bearer bench' },
    });
    console.log(`OFREP ${label}: ${fmt(result.requests.average)} req/s, p99 ${result.latency.p99} ms, non-2xx ${result.non2xx}, errors ${result.errors} (${seconds} s, 16 connections, server in a child process)`);
  }
  child.disconnect();
}

if (process.argv.includes('--serve')) {
  await serveOfrep();
} else {
  await evaluators();
  await ofrep();
}
