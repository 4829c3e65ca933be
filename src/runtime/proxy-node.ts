import type { AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { createProxy } from '../proxy/server.ts';
import type { Proxy, ProxyOptions } from '../proxy/server.ts';
import type { RoutingTable } from '../proxy/table.ts';
import { WeirError } from '../errors.ts';
import { createEventShipper } from './event-shipper.ts';
import type { EventShipper, EventShipperOptions } from './event-shipper.ts';
import { followTableStream } from './table-stream.ts';
import type { TableFeed } from './table-stream.ts';
import { readTableFile, writeTableFile } from './table-file.ts';
import { splitListen } from './listen.ts';

export interface ProxyNodeOptions {
  /** The control API's base URL (a `weir server` or `weir up`), or several replicas' (tried in turn). */
  controlUrl: string | readonly string[];
  /** Scope read is enough for the table stream; shipping events needs operator. */
  token: string;
  /** host:port to serve traffic on. */
  listen: string;
  /** host:port for `GET /healthz` and `GET /readyz` (table version, stream, event counts); none if unset. */
  adminListen?: string;
  /** Where the last table is saved (and read from at start when the control plane is away). */
  stateFile: string;
  /** How long to wait at start for the control plane before serving the saved table. Default 3000 ms. */
  startupWaitMs?: number;
  /** Ends the wait for a first table when there is no saved one. */
  signal?: AbortSignal;
  log?: (line: string) => void;
  now?: () => number;
  random?: () => number;
  proxy?: Pick<ProxyOptions, 'captureHeaders' | 'rawStickyKey' | 'maxHeaderBytes'>;
  events?: Pick<EventShipperOptions, 'capacity' | 'batchSize' | 'flushIntervalMs'>;
}

export interface ProxyNode {
  proxy: Proxy;
  address: AddressInfo;
  /** Where the table it started with came from. */
  source: 'control' | 'file';
  events: EventShipper;
  /** The health listener's address, with `adminListen`. */
  adminAddress?: AddressInfo;
  /** True while the table stream is connected. */
  connected(): boolean;
  close(drainMs?: number): Promise<void>;
}

/**
 * The data plane alone (`weir proxy`): follows the control plane's routing-table stream, saves each
 * new table to `stateFile` (atomically), serves traffic, and ships its events back in batches. If the
 * control plane is unreachable at start it serves the saved table; while the control plane is away
 * it keeps serving the last table it had and keeps reconnecting.
 *
 * @example
 *   const node = await startProxyNode({ controlUrl: 'http://control:8081', token, listen: '0.0.0.0:8080', stateFile: '.weir/proxy-table.json' });
 */
export async function startProxyNode(opts: ProxyNodeOptions): Promise<ProxyNode> {
  const log = opts.log ?? (() => {});
  const saved = readTableFile(opts.stateFile);
  let table: RoutingTable | undefined;
  let proxy: Proxy | undefined;
  let connected = false;
  // Saves are serialised and coalesced: only the newest table is written after the one in progress.
  let saving: Promise<void> = Promise.resolve();
  let toSave: RoutingTable | undefined;
  const save = (t: RoutingTable) => {
    const idle = toSave === undefined;
    toSave = t;
    if (!idle) return;
    saving = saving.then(async () => {
      const next = toSave!;
      toSave = undefined;
      await writeTableFile(opts.stateFile, next).catch((e: Error) => log(`weir proxy: cannot save the table to ${opts.stateFile}: ${e.message}`));
    });
  };
  const feed: TableFeed = followTableStream({
    controlUrl: opts.controlUrl,
    token: opts.token,
    random: opts.random,
    backoff: { baseMs: 250, maxMs: 5000 },
    current: () => table?.version ?? -1,
    onTable(t) {
      try {
        proxy?.setTable(t);
      } catch (e) {
        // A table this proxy cannot use (e.g. from a newer control plane) is refused; the last one keeps serving.
        log(`weir proxy: refused table ${t.version}: ${(e as Error).message}`);
        return;
      }
      table = t;
      log(`weir proxy: table ${t.version} from the control plane`);
      save(t);
    },
    onState(s) {
      if (s.connected !== connected) log(s.connected ? `weir proxy: connected to ${s.url}` : `weir proxy: control plane unreachable (${s.reason}); serving table ${table?.version ?? 'none'}, reconnecting`);
      connected = s.connected;
    },
  });

  let source: ProxyNode['source'] = 'control';
  const aborted = new Promise<'aborted'>((r) => opts.signal?.addEventListener('abort', () => r('aborted'), { once: true }));
  if ('table' in saved) {
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), opts.startupWaitMs ?? 3000).unref());
    const first = await Promise.race([feed.first, timeout, aborted]);
    if (first === 'timeout' || first === 'aborted') {
      if (!table || table.version < saved.table.version) table = saved.table;
      source = 'file';
      log(`weir proxy: the control plane did not answer in time; serving the saved table ${saved.table.version} from ${opts.stateFile}`);
    }
  } else {
    log(`weir proxy: ${saved.problem} at ${opts.stateFile}; waiting for the control plane at ${String(opts.controlUrl)}`);
    const first = await Promise.race([feed.first, aborted]);
    if (first === 'aborted') {
      feed.stop();
      throw new WeirError('SHUTTING_DOWN', 'stopped before the control plane sent a routing table');
    }
  }

  const events = createEventShipper({ controlUrl: opts.controlUrl, token: opts.token, log, now: opts.now, random: opts.random, ...opts.events });
  proxy = createProxy({ table: table!, sink: events, now: opts.now, random: opts.random, ...opts.proxy });
  const l = splitListen(opts.listen);
  let address: AddressInfo;
  try {
    address = await proxy.listen(l.port, l.host);
  } catch (cause) {
    feed.stop();
    await events.close(0);
    throw new WeirError('CONFIG_INVALID', `cannot listen on ${opts.listen}: ${(cause as Error).message}`, { cause });
  }
  // A newer table may have arrived while listening.
  if (table) proxy.setTable(table);
  let admin: Server | undefined;
  let adminAddress: AddressInfo | undefined;
  if (opts.adminListen) {
    const p = proxy;
    // Ready whenever it has a table: a proxy serves its last table with the control plane away.
    admin = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      const body = path === '/healthz' ? { status: 'ok' }
        : path === '/readyz' ? { status: 'ready', tableVersion: p.table.version, source, connected, events: events.stats() } : undefined;
      res.writeHead(body ? 200 : 404, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body ?? { error: { code: 'NOT_FOUND', message: 'GET /healthz or /readyz' } }));
    });
    const a = splitListen(opts.adminListen);
    try {
      adminAddress = await new Promise<AddressInfo>((resolve, reject) => {
        admin!.once('error', reject);
        admin!.listen(a.port, a.host, () => resolve(admin!.address() as AddressInfo));
      });
    } catch (cause) {
      feed.stop();
      await Promise.all([p.close(0), events.close(0)]);
      throw new WeirError('CONFIG_INVALID', `cannot listen on ${opts.adminListen}: ${(cause as Error).message}`, { cause });
    }
  }

  let closing: Promise<void> | undefined;
  return {
    proxy, address, source, events, adminAddress,
    connected: () => connected,
    close(drainMs = 10_000) {
      closing ??= (async () => {
        feed.stop();
        if (admin) await new Promise<void>((r) => { admin!.close(() => r()); admin!.closeAllConnections(); });
        await proxy!.close(drainMs);
        await events.close();
        await saving;
      })();
      return closing;
    },
  };
}
