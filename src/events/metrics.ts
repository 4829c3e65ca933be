import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ApiRoute } from '../control/route.ts';
import type { EventSink, WideEvent } from './schema.ts';

/** Latency buckets in seconds, from 1 ms to 10 s. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type Labels = 'service' | 'version' | 'status_class' | 'traffic';

export interface ProxyMetrics {
  /** The Registry holding only Weir's proxy metrics (not prom-client's default process metrics). */
  readonly registry: Registry;
  /** Counts one request and observes its latency. Cheap: labelled children are cached per label set. */
  record(event: WideEvent): void;
  /** Events a sink dropped, by sink name; set it yourself or let `watchSink` read it at scrape time. */
  readonly sinkDropped: Gauge<'sink'>;
  /** Events waiting in a sink, by sink name. */
  readonly sinkQueued: Gauge<'sink'>;
  /** Reads `dropped` and `queued` from a sink at every scrape. */
  watchSink(name: string, sink: Pick<EventSink, 'dropped' | 'queued'>): void;
  /** `GET /metrics` (scope public) in the Prometheus text format. */
  readonly route: ApiRoute;
  metrics(): Promise<string>;
}

function statusClass(status: unknown): string {
  return typeof status === 'number' && status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'none';
}

/**
 * Prometheus metrics for the proxy, in their own Registry:
 * `weir_proxy_requests_total` and `weir_proxy_request_duration_seconds` by service, version,
 * status class and traffic kind; `weir_event_sink_dropped` / `weir_event_sink_queued` by sink.
 *
 * @example
 *   const metrics = createProxyMetrics();
 *   metrics.watchSink('store', store);
 *   sink = { push(e) { metrics.record(e); store.push(e); }, ... };
 *   routes.push(metrics.route); // GET /metrics
 */
export function createProxyMetrics(): ProxyMetrics {
  const registry = new Registry();
  const labelNames: Labels[] = ['service', 'version', 'status_class', 'traffic'];
  const requests = new Counter<Labels>({ name: 'weir_proxy_requests_total', help: 'Requests through the proxy.', labelNames, registers: [registry] });
  const latency = new Histogram<Labels>({ name: 'weir_proxy_request_duration_seconds', help: 'Time in the proxy from request start to the last byte written.', labelNames, buckets: LATENCY_BUCKETS, registers: [registry] });
  const watched = new Map<string, Pick<EventSink, 'dropped' | 'queued'>>();
  const sinkDropped = new Gauge<'sink'>({
    name: 'weir_event_sink_dropped', help: 'Events a sink dropped because it was full (since start).', labelNames: ['sink'], registers: [registry],
    collect() {
      for (const [name, sink] of watched) this.set({ sink: name }, sink.dropped);
    },
  });
  const sinkQueued = new Gauge<'sink'>({
    name: 'weir_event_sink_queued', help: 'Events waiting to be written by a sink.', labelNames: ['sink'], registers: [registry],
    collect() {
      for (const [name, sink] of watched) this.set({ sink: name }, sink.queued);
    },
  });
  const children = new Map<string, { count: ReturnType<typeof requests.labels>; latency: ReturnType<typeof latency.labels> }>();

  const metrics: ProxyMetrics = {
    registry,
    sinkDropped,
    sinkQueued,
    record(event) {
      const service = event['service.name'] ?? '';
      const version = event['service.version'] ?? '';
      const cls = statusClass(event['http.response.status_code']);
      const traffic = event['weir.traffic'] ?? 'live';
      const key = `${service}\u0000${version}\u0000${cls}\u0000${traffic}`;
      let child = children.get(key);
      if (!child) {
        const labels = { service: String(service), version: String(version), status_class: cls, traffic: String(traffic) };
        child = { count: requests.labels(labels), latency: latency.labels(labels) };
        children.set(key, child);
      }
      child.count.inc();
      if (typeof event.duration_ms === 'number') child.latency.observe(event.duration_ms / 1000);
    },
    watchSink(name, sink) {
      watched.set(name, sink);
    },
    metrics: () => registry.metrics(),
    route: {
      method: 'GET', path: '/metrics', scope: 'public',
      async handler(_req, res) {
        const text = await registry.metrics();
        res.writeHead(200, { 'content-type': registry.contentType, 'content-length': Buffer.byteLength(text) });
        res.end(text);
      },
    },
  };
  return metrics;
}
