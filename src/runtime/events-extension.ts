import { join } from 'node:path';
import { createEventStore, createEventsRoutes, createOtlpExporter, createProxyMetrics } from '../events/index.ts';
import { eventBatchRoute } from '../events/routes.ts';
import type { EventSink } from '../events/schema.ts';
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
    // `POST /api/v1/proxy-events`: what `weir proxy` nodes ship. Stored like `/api/v1/events` (the same
    // backpressure), and also counted in /metrics and exported, as the in-process proxy's events are;
    // apps' own events are counted nowhere but the store. Without a store: the control plane's fan-out
    // (access log, exporter), which the counters observe.
    const stored = store;
    routes = [...routes, eventBatchRoute({
      path: '/api/v1/proxy-events', scope: 'operator', full: () => stored?.full ?? false,
      deliver(events) {
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
      },
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

