/**
 * The flags API: list, read, define, delete, enable/disable (the kill switch), history, scheduled changes,
 * the stale-flag report, evaluation-count reports from providers, and the flag-set stream that in-process
 * providers sync from. Reads need scope `read`, writes `operator`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiRoute } from '../control/route.ts';
import { readJson, sendJson } from '../control/http.ts';
import { WeirError } from '../errors.ts';
import type { FlagUsage, StateStore } from '../store/types.ts';
import type { FlagRegistry } from './registry.ts';
import type { FlagService } from './service.ts';
import { staleFlags } from './usage.ts';
import type { FlagUsageCounter } from './usage.ts';
import { isPlainObject } from './util.ts';

export interface FlagRoutesOptions {
  service: FlagService;
  registry: FlagRegistry;
  store: StateStore;
  usage: FlagUsageCounter;
  now: () => number;
  /** Ends every open flag-set stream (shutdown). */
  signal?: AbortSignal;
  heartbeatMs?: number;
}

/** The whole flag set as the stream and `GET /api/v1/flags` send it: self-contained flagd definitions. */
export function flagSetDocument(registry: FlagRegistry): { version: number; flags: Record<string, unknown>; metadata: Record<string, unknown> } {
  const set = registry.current();
  return { version: registry.version, flags: Object.fromEntries([...set.flags].map(([k, f]) => [k, f.definition])), metadata: set.metadata };
}

function parseAt(v: unknown): number {
  const t = typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : NaN;
  if (!Number.isFinite(t)) throw new WeirError('BAD_REQUEST', 'at: must be an ISO 8601 time (e.g. "2026-11-24T09:00:00Z") or ms since the epoch');
  return t;
}

function serveStream(req: IncomingMessage, res: ServerResponse, o: FlagRoutesOptions): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  const send = () => res.write(`id: ${o.registry.version}\nevent: flags\ndata: ${JSON.stringify(flagSetDocument(o.registry))}\n\n`);
  res.write('retry: 2000\n\n');
  send();
  const off = o.registry.onChange(send);
  const timer = setInterval(() => res.write(': keep-alive\n\n'), o.heartbeatMs ?? 15_000);
  timer.unref();
  const end = () => {
    off();
    clearInterval(timer);
    o.signal?.removeEventListener('abort', onAbort);
  };
  const onAbort = () => { end(); res.end(); };
  if (o.signal?.aborted) return onAbort();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  req.on('close', end);
}

/**
 * @example
 *   const routes = createFlagRoutes({ service, registry, store, usage, now: Date.now, signal });
 */
export function createFlagRoutes(o: FlagRoutesOptions): ApiRoute[] {
  const { service, registry } = o;
  const actor = (p: { name: string } | null) => p?.name ?? 'anonymous';
  const reasonOf = (b: unknown) => (isPlainObject(b) && typeof b.reason === 'string' ? b.reason : undefined);
  const body = async (req: IncomingMessage) => (req.headers['content-length'] === '0' || (!req.headers['content-length'] && !req.headers['transfer-encoding']) ? undefined : readJson(req));
  const one = (key: string) => {
    const f = registry.current().flags.get(key);
    if (!f) throw new WeirError('NOT_FOUND', `no flag "${key}" — weir flags list shows the flags`);
    return { key, layer: service.layerOf(key), source: f.source, definition: f.definition };
  };
  return [
    { method: 'GET', path: '/api/v1/flags/stream', scope: 'read', handler: (req, res) => serveStream(req, res, o) },
    {
      method: 'GET', path: '/api/v1/flags/stale', scope: 'read',
      async handler(_req, res, ctx) {
        const days = Number(ctx.url.searchParams.get('days') ?? 30);
        if (!Number.isFinite(days) || days < 0) throw new WeirError('BAD_REQUEST', 'days: must be a non-negative number');
        const usage = [...(await o.store.listFlagUsage()), ...o.usage.peek()];
        sendJson(res, 200, { days, flags: staleFlags(registry.current(), usage, days, o.now()) });
      },
    },
    {
      method: 'POST', path: '/api/v1/flags/usage', scope: 'read',
      async handler(req, res) {
        const b = await readJson(req);
        const list = Array.isArray(b) ? b : [];
        const ok: FlagUsage[] = list.filter((u): u is FlagUsage => isPlainObject(u) && typeof u.key === 'string' && isPlainObject(u.variants)
          && Object.values(u.variants).every((n) => Number.isInteger(n) && (n as number) >= 0) && typeof u.lastEvaluatedAt === 'number');
        if (!Array.isArray(b) || ok.length !== list.length) throw new WeirError('BAD_REQUEST', 'expected [{ "key", "variants": { "<variant>": count }, "lastEvaluatedAt": ms }]');
        // Reported times in the future are clamped to now: a skewed client clock cannot keep a flag "fresh".
        o.usage.add(ok.map((u) => ({ ...u, lastEvaluatedAt: Math.min(u.lastEvaluatedAt, o.now()) })));
        sendJson(res, 200, { accepted: ok.length });
      },
    },
    { method: 'GET', path: '/api/v1/flags', scope: 'read', handler: (_q, res) => sendJson(res, 200, { version: registry.version, flags: [...registry.current().flags.keys()].sort().map(one) }) },
    { method: 'GET', path: '/api/v1/flags/{key}', scope: 'read', handler: (_q, res, ctx) => sendJson(res, 200, one(ctx.params.key)) },
    {
      method: 'PUT', path: '/api/v1/flags/{key}', scope: 'operator',
      async handler(req, res, ctx) {
        const b = await readJson(req);
        // `{ definition, reason }` or the bare definition.
        const def = isPlainObject(b) && isPlainObject(b.definition) ? b.definition : b;
        const r = await service.put(ctx.params.key, def, actor(ctx.principal), isPlainObject(b) && isPlainObject(b.definition) ? reasonOf(b) : undefined);
        sendJson(res, 200, { ...one(ctx.params.key), revision: r.revision });
      },
    },
    {
      method: 'DELETE', path: '/api/v1/flags/{key}', scope: 'operator',
      async handler(req, res, ctx) {
        await service.remove(ctx.params.key, actor(ctx.principal), reasonOf(await body(req)));
        sendJson(res, 200, { key: ctx.params.key, deleted: true, stillDefined: registry.current().flags.has(ctx.params.key) });
      },
    },
    ...(['enable', 'disable'] as const).map((verb): ApiRoute => ({
      method: 'POST', path: `/api/v1/flags/{key}/${verb}`, scope: 'operator',
      async handler(req, res, ctx) {
        await service.setState(ctx.params.key, verb === 'enable' ? 'ENABLED' : 'DISABLED', actor(ctx.principal), reasonOf(await body(req)));
        sendJson(res, 200, one(ctx.params.key));
      },
    })),
    {
      method: 'GET', path: '/api/v1/flags/{key}/history', scope: 'read',
      async handler(_q, res, ctx) {
        const limit = Number(ctx.url.searchParams.get('limit') ?? 100);
        sendJson(res, 200, { key: ctx.params.key, entries: await o.store.listAudit({ target: `flag:${ctx.params.key}`, limit }) });
      },
    },
    {
      method: 'GET', path: '/api/v1/flags/{key}/schedule', scope: 'read',
      async handler(_q, res, ctx) {
        sendJson(res, 200, { key: ctx.params.key, schedules: await o.store.listFlagSchedules({ key: ctx.params.key }) });
      },
    },
    {
      method: 'POST', path: '/api/v1/flags/{key}/schedule', scope: 'operator',
      async handler(req, res, ctx) {
        const b = await readJson(req);
        if (!isPlainObject(b) || !isPlainObject(b.definition)) throw new WeirError('BAD_REQUEST', 'expected { "at": "2026-11-24T09:00:00Z", "definition": { …flagd flag… } }');
        const at = parseAt(b.at);
        if (at <= o.now()) throw new WeirError('BAD_REQUEST', 'at: is in the past — use PUT /api/v1/flags/{key} to change the flag now');
        sendJson(res, 201, await service.schedule(ctx.params.key, at, b.definition, actor(ctx.principal)));
      },
    },
    {
      method: 'DELETE', path: '/api/v1/flags/{key}/schedule/{id}', scope: 'operator',
      async handler(_q, res, ctx) {
        const ok = await service.cancelSchedule(ctx.params.key, Number(ctx.params.id), actor(ctx.principal));
        if (!ok) throw new WeirError('CONFLICT', `scheduled change ${ctx.params.id} was already applied or cancelled`);
        sendJson(res, 200, { id: Number(ctx.params.id), status: 'cancelled' });
      },
    },
  ];
}
