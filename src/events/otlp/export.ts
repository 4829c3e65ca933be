import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import type { EventSink, WideEvent } from '../schema.ts';
import { decodeResponse, encodeRequest } from './decode.ts';
import type { AnyValue, KeyValue } from './map.ts';

export interface OtlpExporterOptions {
  /** The collector's traces endpoint, e.g. `http://otel-collector:4318/v1/traces`. */
  url: string;
  headers?: Record<string, string>;
  /** Events held while the collector is slow or down; past it they are dropped and counted. Default 10 000. */
  maxQueue?: number;
  /** Spans per request. Default 512. */
  batchSize?: number;
  /** How often a batch is sent. Default 1000 ms. */
  intervalMs?: number;
  /** Attempts per batch before it is dropped. Default 5. */
  maxAttempts?: number;
  /** First retry delay, doubled per attempt up to `maxBackoffMs`, with full jitter. Defaults 200 / 10 000 ms. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Per-request timeout. Default 10 000 ms. */
  timeoutMs?: number;
  /** [0, 1) — jitter; injectable for tests. */
  random?: () => number;
}

export interface OtlpExporterStats {
  sent: number;
  dropped: number;
  /** Batches given up on after their attempts, or refused by the collector (4xx). */
  failedBatches: number;
  retries: number;
  /** Spans the collector reported as rejected in a partial success. */
  rejected: number;
}

const RESOURCE_KEYS = new Set(['service.name', 'service.version', 'deployment.environment.name']);
const SPAN_FIELDS = new Set(['timestamp', 'duration_ms', 'name', 'trace.trace_id', 'trace.span_id', 'trace.parent_id', 'span.kind', 'meta.signal_type']);
const KINDS: Record<string, number> = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };

function value(v: string | number | boolean): AnyValue {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
}

function hexBytes(hex: unknown, length: number): Buffer {
  return typeof hex === 'string' && new RegExp(`^[0-9a-f]{${length * 2}}$`).test(hex) ? Buffer.from(hex, 'hex') : randomBytes(length);
}

/**
 * Wide events → an OTLP ExportTraceServiceRequest (protobufjs object form): one span per event,
 * grouped by resource (`service.name`, `service.version`, `deployment.environment.name`). The span is
 * named `name`, or `METHOD route`; it starts at `timestamp` and lasts `duration_ms`; every other
 * field is an attribute. Events without trace ids get fresh random ones.
 */
export function eventsToTraces(events: readonly WideEvent[]): Record<string, unknown> {
  const byResource = new Map<string, { attrs: KeyValue[]; spans: unknown[] }>();
  for (const e of events) {
    const resAttrs: KeyValue[] = [];
    for (const k of RESOURCE_KEYS) if (e[k] !== undefined && e[k] !== null) resAttrs.push({ key: k, value: value(e[k] as string) });
    const key = JSON.stringify(resAttrs);
    let group = byResource.get(key);
    if (!group) byResource.set(key, (group = { attrs: resAttrs, spans: [] }));
    const attributes: KeyValue[] = [];
    for (const [k, v] of Object.entries(e)) {
      if (v === undefined || v === null || RESOURCE_KEYS.has(k) || SPAN_FIELDS.has(k)) continue;
      attributes.push({ key: k, value: value(v) });
    }
    const startNs = BigInt(Math.round(e.timestamp)) * 1_000_000n;
    const durNs = BigInt(Math.max(0, Math.round((Number(e.duration_ms) || 0) * 1e6)));
    group.spans.push({
      traceId: hexBytes(e['trace.trace_id'], 16),
      spanId: hexBytes(e['trace.span_id'], 8),
      ...(typeof e['trace.parent_id'] === 'string' ? { parentSpanId: hexBytes(e['trace.parent_id'], 8) } : {}),
      name: String(e.name ?? `${e['http.request.method'] ?? ''} ${e['http.route'] ?? e['url.path'] ?? ''}`.trim()),
      kind: KINDS[String(e['span.kind'])] ?? 2,
      startTimeUnixNano: String(startNs),
      endTimeUnixNano: String(startNs + durNs),
      attributes,
      ...(typeof e['http.response.status_code'] === 'number' && e['http.response.status_code'] >= 500 ? { status: { code: 2 } } : {}),
    });
  }
  return {
    resourceSpans: [...byResource.values()].map((g) => ({
      resource: { attributes: g.attrs },
      scopeSpans: [{ scope: { name: 'weir' }, spans: g.spans }],
    })),
  };
}

const RETRYABLE = new Set([429, 502, 503, 504]);

/**
 * Exports wide events to an OpenTelemetry collector over OTLP/HTTP protobuf, as spans. An EventSink:
 * `push` never blocks or throws; a bounded queue drops and counts when the collector is down for
 * long; batches are retried with exponential backoff and full jitter (honouring `Retry-After` on
 * 429/503) and dropped after `maxAttempts`.
 *
 * @example
 *   const exporter = createOtlpExporter({ url: 'http://collector:4318/v1/traces' });
 *   const sink = teeSinks([store, exporter]); // the proxy's events go to both
 */
export function createOtlpExporter(opts: OtlpExporterOptions): EventSink & { stats(): OtlpExporterStats } {
  const maxQueue = opts.maxQueue ?? 10_000;
  const batchSize = opts.batchSize ?? 512;
  const maxAttempts = opts.maxAttempts ?? 5;
  const initial = opts.initialBackoffMs ?? 200;
  const maxBackoff = opts.maxBackoffMs ?? 10_000;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const random = opts.random ?? Math.random;
  const stats: OtlpExporterStats = { sent: 0, dropped: 0, failedBatches: 0, retries: 0, rejected: 0 };
  let queue: WideEvent[] = [];
  let closed = false;
  let chain: Promise<void> = Promise.resolve();
  const waits = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();

  const sleep = (ms: number) => new Promise<void>((resolve) => {
    const w = { timer: setTimeout(() => { waits.delete(w); resolve(); }, ms), resolve };
    waits.add(w);
  });

  /** One attempt: 'ok', 'retry' (with the server's wish in ms, if any) or 'fail'. */
  const attempt = async (body: Uint8Array): Promise<{ outcome: 'ok' | 'retry' | 'fail'; retryAfterMs?: number; rejected?: number }> => {
    try {
      const res = await request(opts.url, {
        method: 'POST', body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs,
        headers: { 'content-type': 'application/x-protobuf', ...opts.headers },
      });
      const text = Buffer.from(await res.body.arrayBuffer());
      if (res.statusCode >= 200 && res.statusCode < 300) {
        let rejected = 0;
        try {
          rejected = decodeResponse('traces', text);
        } catch {
          // A 2xx whose body is not a response message (some proxies answer JSON or nothing): accepted.
        }
        return { outcome: 'ok', rejected };
      }
      if (RETRYABLE.has(res.statusCode)) {
        const ra = Number(res.headers['retry-after']);
        return { outcome: 'retry', retryAfterMs: Number.isFinite(ra) ? ra * 1000 : undefined };
      }
      return { outcome: 'fail' };
    } catch {
      return { outcome: 'retry' };
    }
  };

  const sendBatch = async (batch: WideEvent[]): Promise<void> => {
    const body = encodeRequest('traces', eventsToTraces(batch));
    for (let n = 1; ; n++) {
      const r = await attempt(body);
      if (r.outcome === 'ok') {
        stats.sent += batch.length - (r.rejected ?? 0);
        stats.rejected += r.rejected ?? 0;
        return;
      }
      if (r.outcome === 'fail' || n >= maxAttempts || closed) {
        stats.failedBatches++;
        stats.dropped += batch.length;
        return;
      }
      stats.retries++;
      const backoff = Math.min(maxBackoff, initial * 2 ** (n - 1)) * random();
      await sleep(Math.min(maxBackoff, r.retryAfterMs ?? backoff));
    }
  };

  const drain = async (): Promise<void> => {
    while (queue.length > 0) {
      const batch = queue.slice(0, batchSize);
      queue = queue.slice(batch.length);
      await sendBatch(batch);
    }
  };
  const flush = (): Promise<void> => (chain = chain.then(drain));
  const timer = setInterval(() => void flush(), opts.intervalMs ?? 1000);
  timer.unref();

  return {
    push(event) {
      if (closed || queue.length >= maxQueue) {
        stats.dropped++;
        return;
      }
      queue.push(event);
    },
    get dropped() {
      return stats.dropped;
    },
    get queued() {
      return queue.length;
    },
    flush,
    async close() {
      clearInterval(timer);
      const done = flush();
      closed = true; // no more retries: one last attempt per batch
      for (const w of waits) {
        clearTimeout(w.timer);
        w.resolve();
      }
      await done;
    },
    stats: () => ({ ...stats }),
  };
}
