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
import { adminToken, createTokenRegistry, createTokensRoutes } from '../control/tokens.ts';
import type { TokenRegistry } from '../control/tokens.ts';
import { createTableStreamRoutes } from '../control/stream.ts';
import { sendJson } from '../control/http.ts';
import { createJsonlSink } from '../events/jsonl-sink.ts';
import { createFanoutSink } from './fanout-sink.ts';
import type { FanoutSink } from './fanout-sink.ts';
import { eventBatchRoute } from '../events/routes.ts';
import type { EventSink } from '../events/schema.ts';
import type { Proxy } from '../proxy/server.ts';
import { isPostgresUrl, openStore } from '../store/index.ts';
import type { StateStore } from '../store/types.ts';
import { WeirError } from '../errors.ts';
import { CONTROL_EXTENSIONS } from './control-extensions.ts';
import type { ControlContext, StartedExtension } from './extensions.ts';
import { createFlagRegistry, createOfrepRoutes } from '../flags/index.ts';
import type { FlagRegistry } from '../flags/index.ts';
import { startFlags } from '../flags/control.ts';
import type { StartedFlags } from '../flags/control.ts';
import { splitListen } from './listen.ts';
import { createCompareRoutes } from '../proxy/compare/routes.ts';
import { createFaultRoutes } from '../proxy/faults/routes.ts';
import { createShadowRoutes } from '../proxy/shadow/routes.ts';
import { lockDataDir } from './data-dir-lock.ts';

export interface ControlOptions {
  configPath: string;
  env: Record<string, string | undefined>;
  cwd: string;
  dataDir?: string;
  /** The state store: a `postgres://…` URL, or a SQLite file path. Default: `store:` in the config, else `<dataDir>/state.db`. */
  store?: string;
  /** Overrides control.listen (tests use port 0). */
  controlListen?: string;
  /** Watch the config file and reload on change (SIGHUP always reloads). */
  watchConfig?: boolean;
  log?: (line: string) => void;
  now?: () => number;
  /** Whether this process runs the controllers now. Default: always (`weir up`). */
  isLeader?: () => boolean;
  /** Leader details for `/readyz` and `GET /api/v1/leader`. */
  leaderStatus?: () => Record<string, unknown>;
  /** The in-process proxy, for live counts in the services API (`weir up`). */
  proxy?: () => Proxy | undefined;
}

/** A started control plane: state, API, controllers. `weir up` adds a proxy; `weir server` adds leader election. */
export interface RunningControl {
  readonly config: WeirConfig;
  configPath: string;
  dataDir: string;
  store: StateStore;
  plane: ControlPlane;
  /** Where events go: the proxy's in `weir up`, batches posted by `weir proxy` nodes in `weir server`. */
  sink: EventSink;
  flags: FlagRegistry;
  tokens: TokenRegistry;
  /** The bootstrap admin token and whether it was generated just now (print it once). */
  token: string;
  tokenCreated: boolean;
  control: Server;
  controlAddress: AddressInfo;
  setReady(ready: boolean): void;
  /** Re-reads live state written by other replicas (weights, tokens); `weir server` calls it every second. */
  refresh(): Promise<void>;
  /** Re-reads the config file; an invalid file is refused with its errors and the old config stays. */
  reload(actor?: string): Promise<{ ok: true } | { ok: false; error: WeirError }>;
  /** Stops: not ready, streams end, then `drain` (the proxy), then the API, controllers, sink and store. */
  close(drain?: () => Promise<void>): Promise<void>;
}

/**
 * Starts the control plane shared by `weir up` and `weir server`: config, state store, routing table,
 * event sink, flags, tokens, every capability in CONTROL_EXTENSIONS, and the control API (services,
 * weights, audit, tokens, routing-table stream, OFREP, the capabilities' routes). Not ready until
 * the caller says so (`setReady(true)`), so `weir up` can start its proxy first.
 *
 * @example
 *   const cp = await startControl({ configPath: 'weir.yaml', env: process.env, cwd: process.cwd() });
 *   cp.setReady(true);
 */
export async function startControl(opts: ControlOptions): Promise<RunningControl> {
  const log = opts.log ?? (() => {});
  const now = opts.now ?? Date.now;
  const configPath = resolve(opts.cwd, opts.configPath);
  let config = loadConfigFile(configPath, opts.env);
  const dataDir = resolve(dirname(configPath), opts.dataDir ?? config.dataDir ?? '.weir');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const lock = lockDataDir(dataDir);
  let store: Awaited<ReturnType<typeof openStore>>;
  try {
    store = await openStore(storeLocation(opts.store, config, configPath, dataDir), now);
  } catch (e) {
    lock.release();
    throw e;
  }
  const cleanup: Array<() => unknown> = [() => lock.release(), () => store.close()];
  const fail = async (e: unknown): Promise<never> => {
    for (const f of cleanup.reverse()) await f();
    throw e;
  };
  let plane: ControlPlane;
  let sink: FanoutSink;
  let flagsRt: StartedFlags | undefined;
  const flags: FlagRegistry = createFlagRegistry({ clock: now });
  try {
    plane = await ControlPlane.create(config, store, now);
    const ev = config.events ?? {};
    const sinks: EventSink[] = [];
    if (ev.accessLog !== false) {
      sinks.push(await createJsonlSink({ path: join(dataDir, 'events.jsonl'), capacity: ev.bufferSize, flushIntervalMs: ev.flushInterval }));
    }
    // Capabilities attach their own sinks (the event store, metrics) through ctx.sink.add/observe.
    sink = createFanoutSink(sinks);
    cleanup.push(() => sink.close());
    // Flags: files < API-defined (store) < local overrides; an invalid set at startup is an error, later the last good set stays.
    flagsRt = await startFlags({ registry: flags, store, now, log, env: opts.env, configDir: dirname(configPath), config: config.flags, isLeader: () => (opts.isLeader ?? (() => true))() });
    cleanup.push(() => flagsRt?.close());
    // Flags at the edge: the definitions services route by travel in the routing table.
    const toPlane = () => plane.setFlagDefinitions(Object.fromEntries([...flags.current().flags].map(([k, f]) => [k, f.definition])));
    toPlane();
    flags.onChange(toPlane);
  } catch (e) {
    return fail(e);
  }
  const streams = new AbortController();
  const { token, created } = adminToken(dataDir, opts.env);
  let tokens: TokenRegistry;
  try {
    tokens = await createTokenRegistry(store, token, now);
  } catch (e) {
    return fail(e);
  }
  const isLeader = opts.isLeader ?? (() => true);
  const leaderStatus = opts.leaderStatus ?? (() => ({ leader: isLeader() }));
  let ready = false;
  const started: Array<{ name: string; ext: StartedExtension }> = [];
  const ctx: ControlContext = {
    plane, store, config: () => config, dataDir, now, log, sink, isLeader,
    get: <T,>(name: string) => started.find((s) => s.name === name)?.ext.value as T | undefined,
  };
  const stopExtensions = async () => {
    for (const s of [...started].reverse()) await s.ext.stop?.();
  };
  try {
    for (const ext of CONTROL_EXTENSIONS) started.push({ name: ext.name, ext: await ext.start(ctx) });
  } catch (e) {
    await stopExtensions();
    return fail(e);
  }
  const extRoutes = started.flatMap((s) => s.ext.routes ?? []);
  const routes: ApiRoute[] = [
    { method: 'GET', path: '/healthz', scope: 'public', handler: (_q, res) => sendJson(res, 200, { status: 'ok' }) },
    {
      method: 'GET', path: '/readyz', scope: 'public',
      handler: (_q, res) => sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'starting', tableVersion: plane.table.version, leader: isLeader() }),
    },
    { method: 'GET', path: '/api/v1/leader', scope: 'read', handler: (_q, res) => sendJson(res, 200, leaderStatus()) },
    ...createServicesRoutes(plane, opts.proxy ?? (() => undefined), now),
    ...createCompareRoutes(opts.proxy ?? (() => undefined)),
    ...createFaultRoutes(plane, opts.proxy ?? (() => undefined), now),
    ...createShadowRoutes(opts.proxy ?? (() => undefined)),
    ...createOfrepRoutes({ registry: flagsRt!.counted, signal: streams.signal }),
    ...flagsRt!.routes(streams.signal),
    ...createTokensRoutes(tokens),
    ...createTableStreamRoutes(plane, { signal: streams.signal }),
    ...extRoutes,
    // While no capability (the event store) serves them: events straight into the control plane's sink.
    ...['/api/v1/events', '/api/v1/proxy-events'].filter((p) => !extRoutes.some((r) => r.method === 'POST' && r.path === p))
      .map((path) => eventBatchRoute({ path, scope: 'operator', full: () => false, deliver: (events) => { for (const e of events) sink.push(e); return events.length; } })),
  ];
  const control = createControlServer({ routes, tokens: tokens.grants, tokenHeaders: ['x-api-key'] });
  const cl = splitListen(opts.controlListen ?? config.control?.listen ?? '127.0.0.1:8081');
  let controlAddress: AddressInfo;
  try {
    controlAddress = await listenOn(control, cl.port, cl.host);
  } catch (cause) {
    await stopExtensions();
    return fail(addressError(cause));
  }

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
    configPath, dataDir, store, plane, sink, flags, tokens, token, tokenCreated: created, control, controlAddress, reload,
    setReady: (r) => { ready = r; },
    async refresh() {
      await plane.refresh();
      await tokens.reload();
      await flagsRt?.service.refresh();
    },
    close(drain) {
      closing ??= (async () => {
        ready = false;
        watcher?.close();
        await flagsRt?.close();
        streams.abort();
        await drain?.();
        await new Promise<void>((r) => { control.close(() => r()); control.closeAllConnections(); });
        await stopExtensions();
        await sink.close();
        await store.close();
        lock.release();
      })();
      return closing;
    },
  };
}

/**
 * Where the state lives: the option (`--store`, `WEIR_STORE`), else `store:` in the config (a SQLite
 * path relative to the config file), else `<dataDir>/state.db`.
 *
 * @example
 *   storeLocation(undefined, { services: {} }, '/etc/weir/weir.yaml', '/var/lib/weir') // '/var/lib/weir/state.db'
 */
export function storeLocation(option: string | undefined, config: WeirConfig, configPath: string, dataDir: string): string {
  const s = option ?? config.store;
  if (s === undefined) return join(dataDir, 'state.db');
  return isPostgresUrl(s) ? s : resolve(dirname(configPath), s);
}

/**
 * A listen failure as a WeirError that says what to do.
 *
 * @example
 *   try { await listenOn(server, 8081, '127.0.0.1'); } catch (e) { throw addressError(e); }
 */
export function addressError(cause: unknown): WeirError {
  const e = cause as NodeJS.ErrnoException;
  return new WeirError('CONFIG_INVALID', e.code === 'EADDRINUSE' ? `address in use: ${e.message.replace(/^listen EADDRINUSE: address already in use /, '')} — stop what runs there or change proxy.listen / control.listen` : e.message, { cause });
}
