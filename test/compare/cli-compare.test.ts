import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareCommand, EXIT_DIFFERENCES } from '../../src/cli/commands/compare.ts';
import { UsageError, type CliIO } from '../../src/cli/command.ts';
import type { CompareReport } from '../../src/proxy/compare/index.ts';
import { tempDir } from '../tmpdir.ts';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

async function serve(t: TestContext, handler: Handler): Promise<string> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, Buffer.concat(chunks).toString(), res));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  t.after(() => new Promise<void>((done) => server.close(() => done())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * A small user service. Every response carries a per-instance, ever-changing `generatedAt` (so any two
 * instances disagree on it: noise) and an `x-served-by` header; `changePlan` is the candidate's change.
 */
function userService(instance: string, clockStart: number, changePlan: boolean): Handler {
  let clock = clockStart;
  return (req, body, res) => {
    const m = /^\/users\/(\d+)/.exec(req.url ?? '');
    if (!m) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    const id = Number(m[1]);
    const plan = id % 2 === 0 ? (changePlan ? 'premium' : 'pro') : 'free';
    const out = {
      id,
      name: `user ${id}`,
      plan,
      echo: req.method === 'POST' ? JSON.parse(body) : null,
      tags: ['a', 'b'],
      generatedAt: new Date(Date.UTC(2026, 0, 1) + clock++ * 1000).toISOString(),
    };
    res.writeHead(200, { 'content-type': 'application/json', 'x-served-by': instance }).end(JSON.stringify(out));
  };
}

function captureIO(cwd: string): CliIO & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: (s) => void (out += s),
    stderr: (s) => void (err += s),
    env: {},
    cwd,
    signal: new AbortController().signal,
    out: () => out,
    err: () => err,
  };
}

function requestsFile(t: TestContext, lines: string[]): string {
  const dir = tempDir('weir-compare-');
  const file = join(dir, 'requests.jsonl');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

function userRequests(n: number): string[] {
  const lines = ['# users, then a POST with a body'];
  for (let i = 1; i <= n; i++) lines.push(JSON.stringify({ method: 'GET', path: `/users/${i}?q=${i}`, headers: { accept: 'application/json', host: 'ignored' } }));
  lines.push('');
  lines.push(JSON.stringify({ method: 'POST', path: '/users/99', headers: { 'content-type': 'application/json' }, body: { hello: 'world' } }));
  return lines;
}

test('weir compare: noise filtered, real change reported, exit 4', async (t) => {
  const primary = await serve(t, userService('primary', 0, false));
  const secondary = await serve(t, userService('secondary', 100_000, false));
  const candidate = await serve(t, userService('candidate', 200_000, true));
  const file = requestsFile(t, userRequests(40));
  const io = captureIO(tmpdir());
  const code = await compareCommand.run(['--primary', primary, '--secondary', secondary, '--candidate', candidate, '--requests', file, '--concurrency', '4'], io);
  assert.equal(code, EXIT_DIFFERENCES, io.out() + io.err());
  const text = io.out();
  assert.match(text, /^Tap compare: 1 real difference in 41 requests to 2 endpoints \(0 failed\)/);
  assert.match(text, /GET \/users\/\{id\}: 40 requests, 1 real difference/);
  assert.match(text, /DIFFERENCE {2}body\.plan +candidate 20 \(50%\) {2}noise 0 \(0%\)/);
  assert.match(text, /e\.g\. GET \/users\/\d+\?q=\d+ at plan: value: "pro" → "premium"/);
  assert.match(text, /noise {7}body\.generatedAt +candidate 40 \(100%\) {2}noise 40 \(100%\)/);
  assert.match(text, /noise {7}header\.x-served-by/);
  assert.doesNotMatch(text, /header\.date/);
  assert.equal(io.err(), '', 'no progress bar when stderr is not a terminal');
});

test('weir compare draws a progress bar on a terminal, ending at 100%', async (t) => {
  const primary = await serve(t, userService('primary', 0, false));
  const secondary = await serve(t, userService('secondary', 100_000, false));
  const candidate = await serve(t, userService('candidate', 200_000, false));
  const file = requestsFile(t, userRequests(30));
  const io = { ...captureIO(tmpdir()), progress: true };
  let err = '';
  io.stderr = (s: string) => void (err += s);
  const code = await compareCommand.run(['--primary', primary, '--secondary', secondary, '--candidate', candidate, '--requests', file], io);
  assert.equal(code, 0);
  const lines = err.split('\r').filter(Boolean);
  assert.match(lines[lines.length - 1], /^compare \[█{24}\] {2}31\/31 {2}100%.*\n$/);
});

test('weir compare --json: the report as data', async (t) => {
  const primary = await serve(t, userService('primary', 0, false));
  const secondary = await serve(t, userService('secondary', 100_000, false));
  const candidate = await serve(t, userService('candidate', 200_000, true));
  const file = requestsFile(t, userRequests(10));
  const io = captureIO(tmpdir());
  const code = await compareCommand.run(['--primary', primary, '--secondary', secondary, '--candidate', candidate, '--requests', file, '--json'], io);
  assert.equal(code, EXIT_DIFFERENCES);
  const report = JSON.parse(io.out()) as CompareReport;
  assert.equal(report.verdict, 'differences');
  assert.equal(report.requests, 11);
  const users = report.endpoints.find((e) => e.endpoint === 'GET /users/{id}');
  assert.ok(users);
  const plan = users.fields.find((f) => f.field === 'body.plan');
  assert.equal(plan?.verdict, 'difference');
  assert.equal(plan?.examples[0].request.headers.accept, 'application/json');
  assert.equal(users.fields.find((f) => f.field === 'body.generatedAt')?.verdict, 'noise');
  // The POST body reached the services.
  const post = report.endpoints.find((e) => e.endpoint === 'POST /users/{id}');
  assert.equal(post?.requests, 1);
});

test('weir compare: no real differences → exit 0; ignore options drop the noisy fields entirely', async (t) => {
  const primary = await serve(t, userService('primary', 0, false));
  const secondary = await serve(t, userService('secondary', 100_000, false));
  const candidate = await serve(t, userService('candidate', 200_000, false));
  const file = requestsFile(t, userRequests(10));
  const io = captureIO(tmpdir());
  const args = ['--primary', primary, '--secondary', `${secondary}/`, '--candidate', candidate, '--requests', file];
  assert.equal(await compareCommand.run(args, io), 0, io.out());
  assert.match(io.out(), /no real differences in 11 requests/);
  const io2 = captureIO(tmpdir());
  assert.equal(await compareCommand.run([...args, '--ignore-path', 'generatedAt', '--ignore-header', 'x-served-*'], io2), 0);
  assert.doesNotMatch(io2.out(), /generatedAt|x-served-by/);
});

test('weir compare: an unreachable candidate is a failure, exit 1', async (t) => {
  const primary = await serve(t, userService('primary', 0, false));
  const secondary = await serve(t, userService('secondary', 100_000, false));
  // A port that was just free: listen, note it, close.
  const closed = createServer();
  await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((done) => closed.close(() => done()));
  const file = requestsFile(t, userRequests(3));
  const io = captureIO(tmpdir());
  const code = await compareCommand.run(['--primary', primary, '--secondary', secondary, '--candidate', `http://127.0.0.1:${port}`, '--requests', file], io);
  assert.equal(code, 1);
  assert.match(io.out(), /failed ×\d+: candidate: ECONNREFUSED/);
  assert.match(io.err(), /4 of 4 requests could not be compared/);
});

test('weir compare: usage errors', async (t) => {
  const io = captureIO(tmpdir());
  const ok = ['--primary', 'http://127.0.0.1:1', '--secondary', 'http://127.0.0.1:2', '--candidate', 'http://127.0.0.1:3'];
  await assert.rejects(compareCommand.run(['--secondary', 'http://x', '--candidate', 'http://y', '--requests', 'f'], io), UsageError);
  await assert.rejects(compareCommand.run([...ok], io), /--requests FILE is required/);
  await assert.rejects(compareCommand.run([...ok, '--requests', '/nonexistent/requests.jsonl'], io), /cannot read --requests/);
  await assert.rejects(compareCommand.run(['--primary', 'ftp://x', '--secondary', 'http://y', '--candidate', 'http://z', '--requests', 'f'], io), /http:\/\/ or https:\/\//);
  await assert.rejects(compareCommand.run([...ok, '--requests', 'f', '--concurrency', '0'], io), /--concurrency "0" is out of range/);
  await assert.rejects(compareCommand.run([...ok, '--requests', 'f', '--bogus'], io), UsageError);
  const bad = requestsFile(t, ['{"path":"/ok"}', 'not json', '{"path":"no-slash"}', '[1]']);
  await assert.rejects(compareCommand.run([...ok, '--requests', bad], io), /3 invalid lines:\n {2}line 2: not JSON/);
  const empty = requestsFile(t, ['# nothing']);
  await assert.rejects(compareCommand.run([...ok, '--requests', empty], io), /holds no requests/);
  const help = captureIO(tmpdir());
  assert.equal(await compareCommand.run(['--help'], help), 0);
  assert.match(help.out(), /Exit codes: 0 no real differences, 4 real differences found/);
});
