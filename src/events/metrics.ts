import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LabelValues } from 'prom-client';
import type { ApiRoute } from '../control/route.ts';
import type { EventSink, WideEvent } from './schema.ts';
import { internalErrorCount } from '../proxy/internal-error.ts';

/** Latency buckets in seconds, from 1 ms to 10 s. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type Labels = 'service' | 'version' | 'status_class' | 'traffic';

interface Accumulator {
  labels: Record<Labels, string>;
  count: number;
  /** Count already handed to the prom-client counter. */
  reported: number;
  /** Observations (requests with a duration), their sum in seconds, and per-bucket (non-cumulative) counts. */
  observed: number;
  sum: number;
  buckets: Float64Array;
}

type HistogramValues = Awaited<ReturnType<Histogram<Labels>['get']>>;

/**
 * A prom-client Histogram whose values come from the accumulators `record` fills, rather than from
 * `observe` calls: the exposition is prom-client's own (same names, labels and `le` buckets).
 */
class AccumulatedHistogram extends Histogram<Labels> {
  readonly #series: Map<string, Accumulator>;
  /** An empty twin, unregistered: supplies name, help, type and aggregator in prom-client's own shape. */
  readonly #template: Histogram<Labels>;

  constructor(series: Map<string, Accumulator>, config: ConstructorParameters<typeof Histogram<Labels>>[0]) {
    super(config);
    this.#series = series;
    this.#template = new Histogram<Labels>({ ...config, registers: [] });
  }

  override async get(): Promise<HistogramValues> {
    return this.getForPromString();
  }

  /** What the Registry calls to render the text format. */
  async getForPromString(): Promise<HistogramValues> {
    const base = await this.#template.get();
    const name = base.name;
    const values: HistogramValues['values'] = [];
    for (const a of this.#series.values()) {
      let acc = 0;
      LATENCY_BUCKETS.forEach((le, i) => {
        acc += a.buckets[i];
        values.push({ labels: { le, ...a.labels } as LabelValues<Labels>, value: acc, metricName: `${name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', ...a.labels } as LabelValues<Labels>, value: a.observed, metricName: `${name}_bucket` });
      values.push({ labels: a.labels, value: a.sum, metricName: `${name}_sum` });
      values.push({ labels: a.labels, value: a.observed, metricName: `${name}_count` });
    }
    return { ...base, values };
  }
}

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

const CLASSES = ['none', '1xx', '2xx', '3xx', '4xx', '5xx'];

/** `2xx` and so on, as constant strings (no string is built per request). */
function statusClass(status: unknown): string {
  return typeof status === 'number' && status >= 100 && status < 600 ? CLASSES[Math.floor(status / 100)] : 'none';
}

/**
 * Prometheus metrics for the proxy, in their own Registry:
 * `weir_proxy_requests_total` and `weir_proxy_request_duration_seconds` by service, version,
 * status class and traffic kind; `weir_proxy_internal_errors_total`; `weir_event_sink_dropped` / `weir_event_sink_queued` by sink.
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
  // record() only touches plain numbers in a per-label-set accumulator (a Map lookup, a bucket search,
  // four increments); prom-client's metrics read the accumulators at scrape time. Calling
  // counter.inc / histogram.observe per request cost ~1.5 µs (label validation and hashing each time).
  const series = new Map<string, Accumulator>();
  /** The same accumulators by service, version, status class and traffic kind (record's lookup path). */
  const index = new Map<string, Map<string, Map<string, Map<string, Accumulator>>>>();
  new Counter<Labels>({
    name: 'weir_proxy_requests_total', help: 'Requests through the proxy.', labelNames, registers: [registry],
    collect() {
      for (const a of series.values()) {
        if (a.count > a.reported) this.inc(a.labels, a.count - a.reported);
        a.reported = a.count;
      }
    },
  });
  registry.registerMetric(new AccumulatedHistogram(series, {
    name: 'weir_proxy_request_duration_seconds', help: 'Time in the proxy from request start to the last byte written.', labelNames, buckets: LATENCY_BUCKETS, registers: [],
  }));
  let internalReported = 0;
  new Counter({
    name: 'weir_proxy_internal_errors_total', help: 'Exceptions in Weir\'s own request handling, contained (the request answered 500 or closed; the log has the trace).', registers: [registry],
    collect() {
      const n = internalErrorCount();
      if (n > internalReported) this.inc(n - internalReported);
      internalReported = n;
    },
  });
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
  const metrics: ProxyMetrics = {
    registry,
    sinkDropped,
    sinkQueued,
    record(event) {
      // Label values as strings (String() of a string is that string: no copy).
      const service = String(event['service.name'] ?? '');
      const version = String(event['service.version'] ?? '');
      const cls = statusClass(event['http.response.status_code']);
      const traffic = String(event['weir.traffic'] ?? 'live');
      // Nested maps on the label values themselves: the strings come from the routing table and the
      // constants above, so their hashes are cached; a joined key was a new string to hash per request.
      let byVersion = index.get(service);
      if (byVersion === undefined) index.set(service, (byVersion = new Map()));
      let byClass = byVersion.get(version);
      if (byClass === undefined) byVersion.set(version, (byClass = new Map()));
      let byTraffic = byClass.get(cls);
      if (byTraffic === undefined) byClass.set(cls, (byTraffic = new Map()));
      let a = byTraffic.get(traffic);
      if (a === undefined) {
        a = { labels: { service, version, status_class: cls, traffic }, count: 0, reported: 0, observed: 0, sum: 0, buckets: new Float64Array(LATENCY_BUCKETS.length) };
        series.set(`${service}\u0000${version}\u0000${cls}\u0000${traffic}`, a);
        byTraffic.set(traffic, a);
      }
      a.count++;
      const d = event.duration_ms;
      if (typeof d === 'number') {
        const seconds = d / 1000;
        a.sum += seconds;
        let i = 0;
        while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]) i++;
        if (i < LATENCY_BUCKETS.length) a.buckets[i]++;
        a.observed++;
      }
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
