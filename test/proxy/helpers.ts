import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import net from 'node:net';
import type { TestContext } from 'node:test';
import { once } from 'node:events';
import { validateConfig, formatIssues } from '../../src/config/validate.ts';
import { buildTable } from '../../src/proxy/table.ts';
import type { RoutingTable } from '../../src/proxy/table.ts';
import { createProxy } from '../../src/proxy/server.ts';
import type { Proxy, ProxyOptions } from '../../src/proxy/server.ts';
import { createMemorySink } from '../../src/events/jsonl-sink.ts';
import type { WideEvent } from '../../src/events/schema.ts';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A real HTTP upstream on an ephemeral port, closed after the test. */
export async function backend(t: TestContext, handler: Handler): Promise<{ url: string; port: number; server: Server }> {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, port, server };
}

/** An upstream that answers with its own name and the request it saw, as JSON. */
export function echo(name: string): Handler {
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.stringify({ name, method: req.method, url: req.url, headers: req.headers, rawHeaders: req.rawHeaders, bodyBytes: Buffer.concat(chunks).length });
      res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': name });
      res.end(body);
    });
  };
}

/** A port where nothing listens (connection refused). */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * A port whose listener never accepts and whose accept queue is full, so a new connection hangs in
 * SYN-SENT: a real connect timeout on loopback. (A Python socket that listens with backlog 0 and
 * never calls accept(); one filler connection fills the queue.)
 */
export async function blackholePort(t: TestContext): Promise<number> {
  const py = spawn('python3', ['-c', 'import socket,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(600)'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => py.kill('SIGKILL'));
  const [data] = await once(py.stdout!, 'data');
  const port = Number(String(data).trim());
  const filler = net.connect(port, '127.0.0.1');
  filler.on('error', () => {});
  await once(filler, 'connect');
  t.after(() => filler.destroy());
  return port;
}

export function config(yaml: object): ReturnType<typeof validateConfig> & { ok: true } {
  const r = validateConfig(yaml, {});
  if (!r.ok) throw new Error(formatIssues(r.issues));
  return r;
}

export function table(yaml: object, version = 1, overrides?: Record<string, Record<string, number>>): RoutingTable {
  return buildTable(config(yaml).config, version, overrides);
}

/**
 * A proxy on an ephemeral port in front of `services`, with an in-memory event sink. Its load gauge
 * reads 0 unless a test passes `load`: the test process's own busy bursts must not shed copies
 * (`maxLoad`) in tests that count them.
 */
export async function proxyFor(t: TestContext, services: object, opts: Partial<ProxyOptions> = {}, extra: object = {}): Promise<{ url: string; port: number; proxy: Proxy; events: WideEvent[] }> {
  const sink = createMemorySink();
  const proxy = createProxy({ table: table({ services, ...extra }), sink, load: () => 0, ...opts });
  const { port } = await proxy.listen(0, '127.0.0.1');
  t.after(() => proxy.close(0));
  return { url: `http://127.0.0.1:${port}`, port, proxy, events: sink.events };
}

/** Resolves when `predicate` holds, checking on every event-loop turn (no fixed sleeps). */
export async function until(predicate: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A request with node:http, for headers undici refuses to send (hop-by-hop ones). */
export async function rawRequest(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}
