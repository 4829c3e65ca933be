import type { IncomingMessage, ServerResponse } from 'node:http';
import { WeirError } from '../errors.ts';
import type { ApiRoute } from '../control/route.ts';
import { parseDuration } from '../util/duration.ts';
import { parseEventBatch } from './batch.ts';
import { bubbleUp } from './bubbleup.ts';
import { listErrors, newErrorsIn } from './errors-index.ts';
import { parseJson, readBody, sendJson } from './http.ts';
import { decodeRequest, encodeResponse, encodeStatus } from './otlp/decode.ts';
import type { OtlpSignal } from './otlp/decode.ts';
import { logsToEvents, spansToEvents } from './otlp/map.ts';
import type { LogsRequest, TracesRequest } from './otlp/map.ts';
import type { EventStore } from './store.ts';
import type { WideEvent } from './schema.ts';

export interface EventsRoutesOptions {
  /** Largest accepted request body, compressed. Default 16 MiB. */
  maxBodyBytes?: number;
  /** Seconds a client is told to wait when the store's queue is full. Default 1. */
  retryAfterSeconds?: number;
  /**
   * Scope of the ingest routes (`/api/v1/events`, `/v1/traces`, `/v1/logs`). Default `operator`;
   * `public` lets OpenTelemetry SDKs send without a token (e.g. on a port only the apps can reach).
   */
  ingestScope?: ApiRoute['scope'];
}

const PROTOBUF = 'application/x-protobuf';

function isProtobuf(req: IncomingMessage): boolean {
  return String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase() === PROTOBUF;
}

/** When did the caller mean: `15m` (ago), an ISO date, or epoch ms. */
function parseSince(v: string | null, now: number): number | undefined {
  if (v === null || v === '') return undefined;
  const d = parseDuration(v);
  if (d !== undefined && !/^\d{10,}$/.test(v)) return now - d;
  if (/^\d+$/.test(v)) return Number(v);
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new WeirError('BAD_REQUEST', `since: "${v}" is not a duration (15m), an ISO date or epoch ms`);
  return t;
}

/**
 * The event store's control-API routes:
 * - `POST /api/v1/query` (read): a Honeycomb query specification → totals and series.
 * - `POST /api/v1/bubbleup` (read): selection vs baseline, every field ranked.
 * - `GET /api/v1/errors` (read): error fingerprints (`?service=&since=15m&limit=`).
 * - `GET /api/v1/errors/new` (read): `?service=&version=&baseline=&since=` — fingerprints only the candidate has.
 * - `GET /api/v1/fields` (read): the fields a query can name.
 * - `POST /api/v1/events` (operator): a JSON array of events (flat or Honeycomb batch items).
 * - `POST /v1/traces`, `POST /v1/logs` (operator): OTLP/HTTP, protobuf or JSON, gzip or not.
 *
 * @example
 *   const routes = [...createEventsRoutes(store), ...otherRoutes];
 */
export function createEventsRoutes(store: EventStore, opts: EventsRoutesOptions = {}): ApiRoute[] {
  const maxBody = opts.maxBodyBytes ?? 16 * 1024 * 1024;
  const retryAfter = String(opts.retryAfterSeconds ?? 1);
  const ingestScope = opts.ingestScope ?? 'operator';

  const otlp = (signal: OtlpSignal): ApiRoute['handler'] => async (req, res) => {
    const proto = isProtobuf(req);
    const fail = (status: number, code: number, message: string, headers: Record<string, string> = {}) => {
      if (proto) {
        const body = encodeStatus(code, message);
        res.writeHead(status, { 'content-type': PROTOBUF, 'content-length': body.length, ...headers });
        res.end(body);
      } else sendJson(res, status, { code, message }, headers);
    };
    if (store.full) return fail(429, 8, 'the event store queue is full; retry later', { 'retry-after': retryAfter });
    let body: Buffer;
    try {
      body = await readBody(req, maxBody);
    } catch (err) {
      const e = err as WeirError;
      return fail(e.status ?? 400, 3, e.message);
    }
    let events;
    try {
      if (proto) {
        const msg = decodeRequest(signal, body);
        events = signal === 'traces' ? spansToEvents(msg as TracesRequest, 'base64') : logsToEvents(msg as LogsRequest, 'base64');
      } else {
        const msg = body.length === 0 ? {} : parseJson(body);
        if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) throw new Error('body must be an OTLP/JSON Export request object');
        events = signal === 'traces' ? spansToEvents(msg as TracesRequest, 'hex') : logsToEvents(msg as LogsRequest, 'hex');
      }
    } catch (err) {
      return fail(400, 3, `cannot decode the OTLP ${proto ? 'protobuf' : 'JSON'} ${signal} request: ${(err as Error).message}`);
    }
    const accepted = store.ingest(events);
    const rejected = events.length - accepted;
    if (rejected > 0 && accepted === 0) return fail(429, 8, 'the event store queue is full; retry later', { 'retry-after': retryAfter });
    const partial = rejected > 0 ? { rejected, errorMessage: `${rejected} dropped: the event store queue is full` } : undefined;
    if (proto) {
      const out = encodeResponse(signal, partial);
      res.writeHead(200, { 'content-type': PROTOBUF, 'content-length': out.length });
      res.end(out);
    } else {
      const key = signal === 'traces' ? 'rejectedSpans' : 'rejectedLogRecords';
      sendJson(res, 200, partial ? { partialSuccess: { [key]: String(partial.rejected), errorMessage: partial.errorMessage } } : {});
    }
  };

  const jsonBody = async (req: IncomingMessage): Promise<unknown> => parseJson(await readBody(req, maxBody));

  return [
    {
      method: 'POST', path: '/api/v1/query', scope: 'read',
      async handler(req: IncomingMessage, res: ServerResponse) {
        sendJson(res, 200, await store.query(await jsonBody(req)));
      },
    },
    {
      method: 'POST', path: '/api/v1/bubbleup', scope: 'read',
      async handler(req, res) {
        sendJson(res, 200, await bubbleUp(store, await jsonBody(req)));
      },
    },
    {
      method: 'GET', path: '/api/v1/errors', scope: 'read',
      async handler(_req, res, ctx) {
        const q = ctx.url.searchParams;
        const limit = q.get('limit');
        if (limit !== null && !/^[1-9]\d{0,3}$/.test(limit)) throw new WeirError('BAD_REQUEST', `limit: "${limit}" must be an integer from 1 to 1000`);
        sendJson(res, 200, await listErrors(store, {
          service: q.get('service') ?? undefined,
          since: parseSince(q.get('since'), store.clock()),
          limit: limit ? Number(limit) : undefined,
        }));
      },
    },
    {
      method: 'GET', path: '/api/v1/errors/new', scope: 'read',
      async handler(_req, res, ctx) {
        const q = ctx.url.searchParams;
        const missing = ['service', 'version', 'baseline'].filter((k) => !q.get(k));
        if (missing.length > 0) throw new WeirError('BAD_REQUEST', `missing query parameter(s): ${missing.join(', ')}`);
        const since = parseSince(q.get('since'), store.clock()) ?? store.clock() - 3_600_000;
        sendJson(res, 200, { errors: await newErrorsIn(store, { service: q.get('service')!, version: q.get('version')!, baseline: q.get('baseline')!, since }) });
      },
    },
    {
      method: 'GET', path: '/api/v1/fields', scope: 'read',
      handler(_req, res) {
        sendJson(res, 200, { fields: store.fields() });
      },
    },
    eventBatchRoute({ path: '/api/v1/events', scope: ingestScope, full: () => store.full, deliver: (events) => store.ingest(events), maxBodyBytes: maxBody, retryAfterSeconds: opts.retryAfterSeconds }),
    { method: 'POST', path: '/v1/traces', scope: ingestScope, handler: otlp('traces') },
    { method: 'POST', path: '/v1/logs', scope: ingestScope, handler: otlp('logs') },
  ];
}

/**
 * A route taking a JSON array of events (flat objects or Honeycomb batch items), answered with one
 * `{ status }` per event. While `full()` it answers 429 with Retry-After and reads nothing; otherwise
 * `deliver` takes the parsed events and returns how many it accepted, and the rest are marked 429.
 * `POST /api/v1/events` is one; `weir server` mounts `/api/v1/proxy-events` with it too.
 *
 * @example
 *   eventBatchRoute({ path: '/api/v1/events', scope: 'operator', full: () => store.full, deliver: (e) => store.ingest(e) });
 */
export function eventBatchRoute(o: {
  path: string;
  scope: ApiRoute['scope'];
  full: () => boolean;
  deliver: (events: WideEvent[]) => number;
  maxBodyBytes?: number;
  retryAfterSeconds?: number;
}): ApiRoute {
  const maxBody = o.maxBodyBytes ?? 16 * 1024 * 1024;
  return {
    method: 'POST', path: o.path, scope: o.scope,
    async handler(req, res) {
      if (o.full()) {
        sendJson(res, 429, new WeirError('RATE_LIMITED', 'the event store queue is full; retry later').toJSON(), { 'retry-after': String(o.retryAfterSeconds ?? 1) });
        return;
      }
      const parsed = parseEventBatch(parseJson(await readBody(req, maxBody)));
      if ('error' in parsed) throw new WeirError('BAD_REQUEST', parsed.error);
      const accepted = o.deliver(parsed.events);
      let i = 0;
      for (const s of parsed.statuses) {
        if (s.status !== 202) continue;
        if (i++ >= accepted) {
          s.status = 429;
          s.error = 'queue full';
        }
      }
      sendJson(res, 200, parsed.statuses);
    },
  };
}
