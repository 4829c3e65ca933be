import type { EventSink, WideEvent } from './schema.ts';

/**
 * One sink that hands every event to several (the JSON-lines log, the store, an OTLP exporter) and
 * optionally to a cheap synchronous observer (e.g. `metrics.record`). `dropped` and `queued` are sums.
 *
 * @example
 *   const sink = teeSinks([accessLog, store, exporter], (e) => metrics.record(e));
 */
export function teeSinks(sinks: readonly EventSink[], observe?: (event: WideEvent) => void): EventSink {
  return {
    push(event) {
      if (observe) {
        try {
          observe(event);
        } catch {
          // An observer must not break the request path; metrics are best effort.
        }
      }
      for (const s of sinks) s.push(event);
    },
    get dropped() {
      return sinks.reduce((a, s) => a + s.dropped, 0);
    },
    get queued() {
      return sinks.reduce((a, s) => a + s.queued, 0);
    },
    async flush() {
      await Promise.all(sinks.map((s) => s.flush()));
    },
    async close() {
      await Promise.all(sinks.map((s) => s.close()));
    },
  };
}
