import { join } from 'node:path';
import { createEventStore, createEventsRoutes, createOtlpExporter, createProxyMetrics } from '../events/index.ts';
import { parseEventBatch } from '../events/batch.ts';
import type { EventSink, WideEvent } from '../events/schema.ts';
import type { ApiRoute } from '../control/route.ts';
import { readJson, sendJson } from '../control/http.ts';
import { WeirError } from '../errors.ts';
import type { ControlExtension } from './extensions.ts';

const DAY = 86_400_000;

/**
 * The event store as a control-plane capability: every event the proxy records goes (through the
 * control plane's fan-out sink) into the embedded DuckDB store, the Prometheus counters and, when
 * configured, an OTLP exporter. Serves queries, BubbleUp, errors, ingest (app events, OTLP) and
 * `/metrics`. Later capabilities (rollout analysis) reach the store with `ctx.get('events')`.
 */
export const eventsExtension: ControlExtension = {
  name: 'events',
  async start(ctx) {
    const ev = ctx.config().events ?? {};
    const metrics = createProxyMetrics();
    const unobserve = ctx.sink.observe((e) => metrics.record(e));
    metrics.watchSink('proxy', ctx.sink);
    let routes = [metrics.route];
    let store;
    if (ev.store !== false) {
      store = await createEventStore({
        path: join(ctx.dataDir, 'events.duckdb'),
        clock: ctx.now,
        flushIntervalMs: ev.flushInterval ?? 1000,
        retention: { maxAgeMs: ev.retention?.maxAge ?? 7 * DAY, maxBytes: ev.retention?.maxSize ?? 5 * 1024 ** 3 },
      });
      metrics.watchSink('store', store);
      ctx.sink.add(store);
      routes = [...createEventsRoutes(store), ...routes];
    }
    let exporter: EventSink | undefined;
    if (ev.export) {
      exporter = createOtlpExporter({ url: ev.export.otlp, headers: ev.export.headers });
      metrics.watchSink('otlp-export', exporter);
      ctx.sink.add(exporter);
    }
    const stored = store;
    routes = [...routes, proxyEventsRoute(stored, (events) => {
      // Into the store with its backpressure, then counted and exported; without a store, the
      // control plane's fan-out (access log, exporter) with the counters observing it.
      if (!stored) {
        for (const e of events) ctx.sink.push(e);
        return events.length;
      }
      const accepted = stored.ingest(events);
      for (let i = 0; i < accepted; i++) {
        metrics.record(events[i]);
        exporter?.push(events[i]);
      }
      return accepted;
    })];
    return {
      value: store,
      routes,
      async stop() {
        // The store and exporter stay attached: the fan-out closes (and so flushes) them after the
        // proxy has drained, so the last flush window is not lost.
        unobserve();
      },
    };
  },
};

/**
 * `POST /api/v1/proxy-events` (operator): the batches `weir proxy` nodes ship. Like `POST /api/v1/events`
 * (a JSON array; 429 with Retry-After while the store's queue is full, per-event 429 past its room),
 * and each accepted event is also counted in `/metrics` and passed to the OTLP exporter, as the
 * in-process proxy's events are. Apps' own events (`/api/v1/events`) are not proxy requests and are
 * counted nowhere but the store.
 */
function proxyEventsRoute(store: { full: boolean } | undefined, deliver: (events: WideEvent[]) => number): ApiRoute {
  return {
    method: 'POST', path: '/api/v1/proxy-events', scope: 'operator',
    async handler(req, res) {
      if (store?.full) {
        sendJson(res, 429, new WeirError('RATE_LIMITED', 'the event store queue is full; retry later').toJSON(), { 'retry-after': '1' });
        return;
      }
      const parsed = parseEventBatch(await readJson(req, 16 * 1024 * 1024));
      if ('error' in parsed) throw new WeirError('BAD_REQUEST', parsed.error);
      const accepted = deliver(parsed.events);
      let i = 0;
      for (const st of parsed.statuses) {
        if (st.status !== 202) continue;
        if (i++ >= accepted) {
          st.status = 429;
          st.error = 'queue full';
        }
      }
      sendJson(res, 200, parsed.statuses);
    },
  };
}
