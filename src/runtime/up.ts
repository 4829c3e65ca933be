import { mkdirSync, watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { resolve, join, dirname, basename } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { WeirConfig } from '../config/schema.ts';
import { loadConfigFile } from '../config/load.ts';
import { ControlPlane } from '../control/plane.ts';
import { createControlServer, listenOn } from '../control/server.ts';
import { createServicesRoutes } from '../control/services-routes.ts';
import type { ApiRoute } from '../control/route.ts';
import { adminToken } from '../control/tokens.ts';
import { sendJson } from '../control/http.ts';
import { createJsonlSink, createNullSink, teeSink } from '../events/jsonl-sink.ts';
import type { EventSink } from '../events/schema.ts';
import { createProxy } from '../proxy/server.ts';
import type { Proxy } from '../proxy/server.ts';
import { openSqliteStore } from '../store/sqlite.ts';
import { WeirError } from '../errors.ts';
import { startWorkers } from './workers.ts';
import { CONTROL_EXTENSIONS } from './control-extensions.ts';
import type { ControlContext, StartedExtension } from './extensions.ts';
import { createFlagRegistry, createOfrepRoutes, formatFlagIssues, watchFlagFiles } from '../flags/index.ts';
import type { FlagRegistry } from '../flags/index.ts';
import type { WorkerPool } from './workers.ts';

export interface UpOptions {
  configPath: string;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Override proxy/control listen addresses (tests use port 0). */
  proxyListen?: string;
  controlListen?: string;
  dataDir?: string;
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

export function splitListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  let host = listen.slice(0, i);
  if (host.startsWith('[')) host = host.slice(1, -1);
  return { host, port: Number(listen.slice(i + 1)) };
}

/**
 * Starts everything in one process on embedded defaults: the control plane (SQLite state in dataDir),
 * the control API, the proxy, and the event sink.
 *
 * @example
 *   const weir = await startWeir({ configPath: 'weir.yaml', env: process.env, cwd: process.cwd() });
 *   console.log(`proxy on ${weir.proxyAddress.port}`);
 */
export async function startWeir(opts: UpOptions): Promise<Weir> {
  const log = opts.log ?? (() => {});
  const now = opts.now ?? Date.now;
  const configPath = resolve(opts.cwd, opts.configPath);
  let config = loadConfigFile(configPath, opts.env);
  const dataDir = resolve(dirname(configPath), opts.dataDir ?? config.dataDir ?? '.weir');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const store = openSqliteStore(join(dataDir, 'state.db'), now);
  const plane = await ControlPlane.create(config, store, now);
  const ev = config.events ?? {};
  const sinks: EventSink[] = [];
  if (ev.accessLog !== false) {
    sinks.push(await createJsonlSink({ path: join(dataDir, 'events.jsonl'), capacity: ev.bufferSize, flushIntervalMs: ev.flushInterval }));
  }
  const sink = sinks.length === 1 ? sinks[0] : sinks.length ? teeSink(...sinks) : createNullSink();
  const proxy = createProxy({
    table: plane.table,
    sink,
    now,
    captureHeaders: ev.captureHeaders,
    rawStickyKey: ev.rawStickyKey,
    maxHeaderBytes: config.proxy?.maxHeaderBytes,
  });
  const workerCount = opts.workers ?? config.proxy?.workers ?? 1;
  // Flags: flagd-format files, watched; an invalid file at startup is an error, later the last good set stays.
  const flags: FlagRegistry = createFlagRegistry({ clock: now });
  const flagFiles = (config.flags?.files ?? []).map((f) => resolve(dirname(configPath), f));
  const flagWatcher = flagFiles.length ? watchFlagFiles(flagFiles, flags, { onError: (e) => log(`weir: flags NOT reloaded, keeping the last good set:\n${formatFlagIssues(e)}`) }) : undefined;
  if (flagWatcher) {
    const r = await flagWatcher.reload();
    if (!r.ok) {
      flagWatcher.close();
      await store.close();
      throw new WeirError('CONFIG_INVALID', `flag files are invalid:\n${formatFlagIssues(r.errors)}`, { details: { issues: r.errors } });
    }
  }
  const streams = new AbortController();
  const { token, created } = adminToken(dataDir, opts.env);
  let ready = false;
  const started: Array<{ name: string; ext: StartedExtension }> = [];
  const ctx: ControlContext = {
    plane, store, config: () => config, dataDir, now, log, sink, isLeader: () => true,
    get: <T,>(name: string) => started.find((s) => s.name === name)?.ext.value as T | undefined,
  };
  for (const ext of CONTROL_EXTENSIONS) started.push({ name: ext.name, ext: await ext.start(ctx) });
  const routes: ApiRoute[] = [
    { method: 'GET', path: '/healthz', scope: 'public', handler: (_q, res) => sendJson(res, 200, { status: 'ok' }) },
    {
      method: 'GET', path: '/readyz', scope: 'public',
      handler: (_q, res) => sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'starting', tableVersion: plane.table.version }),
    },
    ...createServicesRoutes(plane, () => proxy, now),
    ...createOfrepRoutes({ registry: flags, signal: streams.signal }),
    ...started.flatMap((s) => s.ext.routes ?? []),
  ];
  const control = createControlServer({ routes, tokens: () => [{ token, principal: { scope: 'admin', name: 'admin' } }], tokenHeaders: ['x-api-key'] });
  const pl = splitListen(opts.proxyListen ?? config.proxy?.listen ?? '127.0.0.1:8080');
  const cl = splitListen(opts.controlListen ?? config.control?.listen ?? '127.0.0.1:8081');
  let proxyAddress: AddressInfo;
  let controlAddress: AddressInfo;
  let pool: WorkerPool | undefined;
  try {
    controlAddress = await listenOn(control, cl.port, cl.host);
    if (workerCount > 1) {
      // The in-process proxy does not listen; it keeps the compiled table and live counts for the API.
      const counts = proxy.stats().versions;
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
      proxyAddress = await proxy.listen(pl.port, pl.host);
    }
    plane.subscribe((t) => {
      proxy.setTable(t);
      pool?.setTable(t);
    });
  } catch (cause) {
    control.close();
    await store.close();
    const e = cause as NodeJS.ErrnoException;
    throw new WeirError('CONFIG_INVALID', e.code === 'EADDRINUSE' ? `address in use: ${e.message.replace(/^listen EADDRINUSE: address already in use /, '')} — stop what runs there or change proxy.listen / control.listen` : e.message, { cause });
  }
  ready = true;

  const reload = async (actor = 'config'): Promise<{ ok: true } | { ok: false; error: WeirError }> => {
    try {
      const next = loadConfigFile(configPath, opts.env);
      config = next;
      await plane.applyConfig(next, actor);
      for (const s of started) await s.ext.reconfigure?.(next);
      log(`weir: config reloaded (table ${plane.table.version})`);
      return { ok: true };
    } catch (err) {
      const error = err instanceof WeirError ? err : new WeirError('CONFIG_INVALID', (err as Error).message);
      log(`weir: config NOT reloaded, keeping the running one:\n${error.message}`);
      return { ok: false, error };
    }
  };

  let watcher: FSWatcher | undefined;
  if (opts.watchConfig) {
    let timer: NodeJS.Timeout | undefined;
    // Watch the directory: editors replace files by rename, which a file watch would lose.
    watcher = watch(dirname(configPath), (_evt, name) => {
      if (name !== basename(configPath)) return;
      clearTimeout(timer);
      timer = setTimeout(() => void reload('config-watch'), 100);
    });
    watcher.unref();
  }

  let closing: Promise<void> | undefined;
  return {
    get config() { return config; },
    plane, proxy, control, proxyAddress, controlAddress, dataDir, token, tokenCreated: created, sink, flags, reload,
    close(drainMs = config.proxy?.drainTimeout ?? 10_000) {
      closing ??= (async () => {
        ready = false;
        watcher?.close();
        flagWatcher?.close();
        streams.abort();
        await Promise.all([proxy.close(drainMs), pool?.close(drainMs)]);
        await new Promise<void>((r) => { control.close(() => r()); control.closeAllConnections(); });
        for (const s of [...started].reverse()) await s.ext.stop?.();
        await sink.close();
        await store.close();
      })();
      return closing;
    },
  };
}
