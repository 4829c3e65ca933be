import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { WeirConfig } from '../config/schema.ts';
import type { ControlPlane } from '../control/plane.ts';
import type { EventSink } from '../events/schema.ts';
import { createProxy } from '../proxy/server.ts';
import type { Proxy } from '../proxy/server.ts';
import type { WeirError } from '../errors.ts';
import type { FlagRegistry } from '../flags/index.ts';
import { startWorkers } from './workers.ts';
import type { WorkerPool } from './workers.ts';
import { addressError, startControl } from './control.ts';
import { splitListen } from './listen.ts';

export { splitListen } from './listen.ts';

export interface UpOptions {
  configPath: string;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Override proxy/control listen addresses (tests use port 0). */
  proxyListen?: string;
  controlListen?: string;
  dataDir?: string;
  /** The state store: a `postgres://…` URL or a SQLite path. Default: `<dataDir>/state.db`. */
  store?: string;
  /** Watch the config file and reload on change (SIGHUP always reloads). */
  watchConfig?: boolean;
  log?: (line: string) => void;
  now?: () => number;
  /** Proxy worker processes sharing the port (SO_REUSEPORT); 1 = the proxy runs in this process. */
  workers?: number;
}

export interface Weir {
  config: WeirConfig;
  plane: ControlPlane;
  proxy: Proxy;
  control: Server;
  proxyAddress: AddressInfo;
  controlAddress: AddressInfo;
  dataDir: string;
  token: string;
  tokenCreated: boolean;
  sink: EventSink;
  /** The live flag set (from `flags.files`), served over OFREP. */
  flags: FlagRegistry;
  /** Re-reads the config file; an invalid file is refused with its errors and the old config stays. */
  reload(actor?: string): Promise<{ ok: true } | { ok: false; error: WeirError }>;
  /** Graceful stop: drain the proxy, flush events, close stores. */
  close(drainMs?: number): Promise<void>;
}

/**
 * Starts everything in one process on embedded defaults: the control plane (SQLite state in dataDir;
 * the same startup as `weir server`, see startControl), the control API, the proxy, and the event sink.
 *
 * @example
 *   const weir = await startWeir({ configPath: 'weir.yaml', env: process.env, cwd: process.cwd() });
 *   console.log(`proxy on ${weir.proxyAddress.port}`);
 */
export async function startWeir(opts: UpOptions): Promise<Weir> {
  const now = opts.now ?? Date.now;
  let proxy: Proxy | undefined;
  const cp = await startControl({
    configPath: opts.configPath, env: opts.env, cwd: opts.cwd, dataDir: opts.dataDir, store: opts.store,
    controlListen: opts.controlListen, watchConfig: opts.watchConfig, log: opts.log, now, proxy: () => proxy,
  });
  const { plane, sink } = cp;
  const config = cp.config;
  const ev = config.events ?? {};
  const inProcess = createProxy({
    table: plane.table,
    sink,
    now,
    captureHeaders: ev.captureHeaders,
    rawStickyKey: ev.rawStickyKey,
    maxHeaderBytes: config.proxy?.maxHeaderBytes,
  });
  proxy = inProcess;
  const workerCount = opts.workers ?? config.proxy?.workers ?? 1;
  const pl = splitListen(opts.proxyListen ?? config.proxy?.listen ?? '127.0.0.1:8080');
  let proxyAddress: AddressInfo;
  let pool: WorkerPool | undefined;
  try {
    if (workerCount > 1) {
      // The in-process proxy does not listen; it keeps the compiled table and live counts for the API.
      const counts = inProcess.stats().versions;
      pool = await startWorkers(workerCount, plane.table, pl.host, pl.port, {
        options: { captureHeaders: ev.captureHeaders, rawStickyKey: ev.rawStickyKey, maxHeaderBytes: config.proxy?.maxHeaderBytes },
        capacity: ev.bufferSize ?? 10_000, flushMs: 100,
      }, (events) => {
        for (const e of events) {
          sink.push(e);
          const c = counts.get(`${e['service.name']}\u0000${e['service.version']}`);
          if (c) {
            c.requests++;
            if (e['http.response.status_code'] >= 500) c.errors++;
          }
        }
      });
      proxyAddress = { address: pl.host, family: pl.host.includes(':') ? 'IPv6' : 'IPv4', port: pool.port };
    } else {
      proxyAddress = await inProcess.listen(pl.port, pl.host);
    }
    plane.subscribe((t) => {
      inProcess.setTable(t);
      pool?.setTable(t);
    });
  } catch (cause) {
    await cp.close();
    throw addressError(cause);
  }
  cp.setReady(true);

  return {
    get config() { return cp.config; },
    plane, proxy: inProcess, control: cp.control, proxyAddress, controlAddress: cp.controlAddress, dataDir: cp.dataDir,
    token: cp.token, tokenCreated: cp.tokenCreated, sink, flags: cp.flags, reload: cp.reload,
    close(drainMs = cp.config.proxy?.drainTimeout ?? 10_000) {
      return cp.close(async () => {
        await Promise.all([inProcess.close(drainMs), pool?.close(drainMs)]);
      });
    },
  };
}
