/**
 * OFREP (OpenFeature Remote Evaluation Protocol) as control-API routes:
 *   POST /ofrep/v1/evaluate/flags/{key}   one flag (server-side providers)
 *   POST /ofrep/v1/evaluate/flags         all flags, ETag / If-None-Match → 304 (client-side providers)
 *   GET  /ofrep/v1/events                 SSE change notifications, advertised as `eventStreams`
 * Every response is OFREP-shaped, including errors (the control server's WeirError body would not be).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiRoute, RouteContext } from '../../control/route.ts';
import type { FlagRegistry } from '../registry.ts';
import { isPlainObject } from '../util.ts';
import { etagMatches, etagOf, ofrepToken, readJsonBody, sendJson } from './http.ts';
import { createRateLimiter } from './rate-limit.ts';
import type { RateLimit } from './rate-limit.ts';
import { toOfrep, toOfrepBulk } from './responses.ts';
import type { OfrepEventStream } from './responses.ts';
import { serveChangeStream } from './sse.ts';

export interface OfrepOptions {
  registry: FlagRegistry;
  /** Largest accepted request body; default 64 KiB. */
  maxBodyBytes?: number;
  /** Per-caller limit (by principal, else token, else address); 429 with Retry-After beyond it. */
  rateLimit?: RateLimit;
  /**
   * The change stream advertised in bulk responses. Default: `{ endpoint: { requestUri: pathPrefix + '/ofrep/v1/events' } }`,
   * which clients resolve against their OFREP base URL. `false` advertises none (clients poll).
   */
  eventStream?: OfrepEventStream | false;
  /** Prefix the control server mounts the API under, used only in the advertised stream path. Default ''. */
  pathPrefix?: string;
  heartbeatMs?: number;
  /** Added to every request's context, overriding it (flagd's `-X key=value`). */
  staticContext?: Record<string, unknown>;
  /** Request header → context key, overriding everything else (flagd's `-H Header=key`). */
  contextFromHeaders?: Record<string, string>;
  /** Aborting ends all open change streams (call it before `server.close()`). */
  signal?: AbortSignal;
}

type ContextResult = { ok: true; context: Record<string, unknown> } | { ok: false; status: number; code: string; details: string };

/** flagd's merge order: request body < static context < header-mapped context. */
function withServerContext(req: IncomingMessage, ctx: Record<string, unknown>, opts: OfrepOptions): Record<string, unknown> {
  if (!opts.staticContext && !opts.contextFromHeaders) return ctx;
  const out = { ...ctx, ...opts.staticContext };
  for (const [header, key] of Object.entries(opts.contextFromHeaders ?? {})) {
    const v = req.headers[header.toLowerCase()];
    if (typeof v === 'string') out[key] = v;
    else if (Array.isArray(v) && v.length) out[key] = v[0];
  }
  return out;
}

async function readContext(req: IncomingMessage, limit: number, opts: OfrepOptions): Promise<ContextResult> {
  const body = await readJsonBody(req, limit);
  if (!body.ok) return { ok: false, status: body.status, code: 'PARSE_ERROR', details: body.details };
  if (body.value === undefined) return { ok: true, context: withServerContext(req, {}, opts) };
  if (!isPlainObject(body.value)) return { ok: false, status: 400, code: 'PARSE_ERROR', details: 'request body must be an object: {"context": {...}}' };
  const ctx = body.value.context ?? {};
  if (!isPlainObject(ctx)) return { ok: false, status: 400, code: 'INVALID_CONTEXT', details: 'context must be an object' };
  if (ctx.targetingKey !== undefined && typeof ctx.targetingKey !== 'string') {
    return { ok: false, status: 400, code: 'INVALID_CONTEXT', details: 'context.targetingKey must be a string' };
  }
  return { ok: true, context: withServerContext(req, ctx, opts) };
}

/**
 * The OFREP routes over a flag registry, for the control server to mount with scope `read`.
 *
 * @example
 *   const registry = createFlagRegistry({ clock: Date.now });
 *   const routes = createOfrepRoutes({ registry, rateLimit: { perSecond: 200 } });
 *   // control server: routes.forEach(mount); accept `X-API-Key` via ofrepToken(req)
 */
export function createOfrepRoutes(opts: OfrepOptions): ApiRoute[] {
  const reg = opts.registry;
  const limit = opts.maxBodyBytes ?? 64 * 1024;
  const limiter = opts.rateLimit ? createRateLimiter(opts.rateLimit, reg.clock) : null;
  const stream: OfrepEventStream | null = opts.eventStream === false
    ? null
    : opts.eventStream ?? { type: 'sse', endpoint: { requestUri: `${opts.pathPrefix ?? ''}/ofrep/v1/events` } };

  /** True when the request may proceed; otherwise a 429 has been sent. */
  function admit(req: IncomingMessage, res: ServerResponse, ctx: RouteContext): boolean {
    if (!limiter) return true;
    const caller = ctx.principal ? `principal:${ctx.principal.name}` : `token:${ofrepToken(req) ?? req.socket.remoteAddress}`;
    const wait = limiter.take(caller);
    if (wait === 0) return true;
    req.resume();
    sendJson(res, 429, { errorDetails: `rate limit exceeded, retry in ${wait}s` }, { 'retry-after': String(wait) });
    return false;
  }

  function guard(fn: (req: IncomingMessage, res: ServerResponse, ctx: RouteContext) => Promise<void>) {
    return async (req: IncomingMessage, res: ServerResponse, ctx: RouteContext) => {
      try {
        if (admit(req, res, ctx)) await fn(req, res, ctx);
      } catch {
        if (!res.headersSent) sendJson(res, 500, { errorDetails: 'internal error while evaluating flags' });
        else res.destroy();
      }
    };
  }

  return [
    {
      method: 'POST',
      path: '/ofrep/v1/evaluate/flags/{key}',
      scope: 'read',
      handler: guard(async (req, res, ctx) => {
        const key = ctx.params.key;
        const read = await readContext(req, limit, opts);
        if (!read.ok) return sendJson(res, read.status, { key, errorCode: read.code, errorDetails: read.details });
        const { status, body } = toOfrep(key, reg.evaluate(key, read.context));
        sendJson(res, status, body);
      }),
    },
    {
      method: 'POST',
      path: '/ofrep/v1/evaluate/flags',
      scope: 'read',
      handler: guard(async (req, res) => {
        const read = await readContext(req, limit, opts);
        if (!read.ok) return sendJson(res, read.status, { errorCode: read.code, errorDetails: read.details });
        const body = toOfrepBulk(reg.evaluateAll(read.context), reg.current().metadata, stream ? [stream] : undefined);
        const text = JSON.stringify(body);
        const etag = etagOf(text);
        if (etagMatches(req.headers['if-none-match'], etag)) {
          res.writeHead(304, { etag, 'cache-control': 'no-cache' });
          res.end();
          return;
        }
        res.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(text),
          'cache-control': 'no-cache',
          etag,
        });
        res.end(text);
      }),
    },
    {
      method: 'GET',
      path: '/ofrep/v1/events',
      scope: 'read',
      handler: guard(async (req, res) => {
        serveChangeStream(req, res, reg, { heartbeatMs: opts.heartbeatMs, signal: opts.signal });
      }),
    },
  ];
}

export { ofrepToken };
