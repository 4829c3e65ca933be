import type { ServerResponse } from 'node:http';
import type { RoutingTable } from '../proxy/table.ts';
import { sendJson } from './http.ts';
import type { ControlPlane } from './plane.ts';
import type { ApiRoute } from './route.ts';

export interface TableStreamOptions {
  /** A comment line this often keeps idle streams open through proxies and lets clients spot a dead peer. Default 15 000 ms; 0 disables. */
  heartbeatMs?: number;
  /** Ends every open stream when aborted (server shutdown). */
  signal?: AbortSignal;
  /** The reconnection delay suggested to clients (`retry:`), ms. Default 1000. */
  retryMs?: number;
}

/**
 * One Server-Sent Event carrying a whole routing table: `id` is its version (so `Last-Event-ID`
 * works), `event: table`, `data` the table's JSON on one line.
 *
 * @example
 *   tableEvent({ version: 7, services: [] }) // 'id: 7\nevent: table\ndata: {"version":7,"services":[]}\n\n'
 */
export function tableEvent(table: RoutingTable): string {
  return `id: ${table.version}\nevent: table\ndata: ${JSON.stringify(table)}\n\n`;
}

/**
 * Streams the routing table to one client (the route's handler; see createTableStreamRoutes). Each
 * event is the full table, so a slow client is sent only the newest one when its socket drains (older
 * ones are skipped, never queued without bound).
 *
 * @example
 *   serveTableStream(res, plane, req.headers['last-event-id'] as string | undefined, { heartbeatMs: 15_000 });
 */
export function serveTableStream(res: ServerResponse, plane: ControlPlane, lastEventId: string | undefined, opts: TableStreamOptions = {}): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write(`retry: ${opts.retryMs ?? 1000}\n\n`);
  let sent = lastEventId !== undefined && /^\d+$/.test(lastEventId) ? Number(lastEventId) : -1;
  let pending: RoutingTable | undefined;
  let waiting = false;
  const send = (t: RoutingTable) => {
    if (t.version <= sent) return;
    if (waiting) {
      pending = t;
      return;
    }
    sent = t.version;
    if (!res.write(tableEvent(t))) waiting = true;
  };
  res.on('drain', () => {
    waiting = false;
    const t = pending;
    pending = undefined;
    if (t) send(t);
  });
  const off = plane.subscribe(send);
  const hb = opts.heartbeatMs ?? 15_000;
  const timer = hb > 0 ? setInterval(() => { if (!waiting) res.write(': heartbeat\n\n'); }, hb) : undefined;
  const end = () => {
    off();
    clearInterval(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  };
  const onAbort = () => {
    end();
    res.end();
  };
  res.on('close', end);
  if (opts.signal?.aborted) onAbort();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });
}

/**
 * `GET /api/v1/routing-table/stream` (read): the routing table as Server-Sent Events, the current one
 * first (unless `Last-Event-ID` already names it), then every new version, with a heartbeat comment.
 * `GET /api/v1/routing-table` (read): the current table once, as JSON.
 *
 * @example
 *   const routes = [...createTableStreamRoutes(plane, { signal: shutdown.signal })];
 */
export function createTableStreamRoutes(plane: ControlPlane, opts: TableStreamOptions = {}): ApiRoute[] {
  return [
    {
      method: 'GET', path: '/api/v1/routing-table/stream', scope: 'operator',
      handler(req, res) {
        const last = req.headers['last-event-id'];
        serveTableStream(res, plane, typeof last === 'string' ? last : undefined, opts);
      },
    },
    {
      method: 'GET', path: '/api/v1/routing-table', scope: 'operator',
      handler: (_req, res) => sendJson(res, 200, plane.table),
    },
  ];
}
