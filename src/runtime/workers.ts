import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { gcFlags } from './gc.ts';
import { addWorkerInternalErrors } from '../proxy/internal-error.ts';
import type { RoutingTable } from '../proxy/table.ts';
import type { WideEvent } from '../events/schema.ts';
import type { FromWorker, ToWorker } from './proxy-worker.ts';

export interface WorkerPool {
  port: number;
  setTable(table: RoutingTable): void;
  close(drainMs: number): Promise<void>;
}

async function freePort(host: string): Promise<number> {
  const s = net.createServer();
  s.listen(0, host);
  await once(s, 'listening');
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * Forks `n` proxy worker processes that share one port with SO_REUSEPORT. The parent keeps the
 * control plane; each worker gets every routing table and sends its events back in batches.
 */
export async function startWorkers(n: number, table: RoutingTable, host: string, port: number,
  init: Omit<Extract<ToWorker, { type: 'init' }>, 'type' | 'table' | 'host' | 'port'>,
  onEvents: (events: WideEvent[], dropped: number) => void): Promise<WorkerPool> {
  const realPort = port === 0 ? await freePort(host) : port;
  const workers: ChildProcess[] = [];
  const ready: Promise<void>[] = [];
  // As many workers as cores (or more): each collects garbage on its own thread (gc.ts).
  const execArgv = [...process.execArgv, ...gcFlags(n)];
  for (let i = 0; i < n; i++) {
    const w = fork(join(import.meta.dirname, 'proxy-worker.ts'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced', execArgv });
    workers.push(w);
    ready.push(new Promise<void>((resolve, reject) => {
      w.on('message', (m: FromWorker) => {
        if (m.type === 'ready') resolve();
        else if (m.type === 'events') {
          if (m.internalErrors) addWorkerInternalErrors(m.internalErrors);
          onEvents(m.events, m.dropped);
        }
        else if (m.type === 'error') reject(new Error(`proxy worker ${i}: ${m.message}`));
      });
      w.once('exit', (code) => reject(new Error(`proxy worker ${i} exited with ${code}`)));
    }));
    w.send({ type: 'init', table, host, port: realPort, ...init } satisfies ToWorker);
  }
  try {
    await Promise.all(ready);
  } catch (e) {
    for (const w of workers) w.kill('SIGKILL');
    throw e;
  }
  return {
    port: realPort,
    setTable(t) {
      for (const w of workers) if (w.connected) w.send({ type: 'table', table: t } satisfies ToWorker);
    },
    async close(drainMs) {
      await Promise.all(workers.map(async (w) => {
        if (w.exitCode !== null) return;
        const exited = once(w, 'exit');
        if (w.connected) w.send({ type: 'close', drainMs } satisfies ToWorker);
        const timer = setTimeout(() => w.kill('SIGKILL'), drainMs + 5000);
        await exited;
        clearTimeout(timer);
      }));
    },
  };
}
