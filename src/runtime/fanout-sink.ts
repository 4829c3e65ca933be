import type { EventSink, WideEvent } from '../events/schema.ts';

/** An EventSink that hands every event to the sinks attached to it; capabilities attach at start. */
export interface FanoutSink extends EventSink {
  /** Attaches a sink (it is flushed and closed with the fan-out); returns a detach function. */
  add(sink: EventSink): () => void;
  /** Calls `fn` for every event (metrics); returns a detach function. */
  observe(fn: (event: WideEvent) => void): () => void;
}

/**
 * The control plane's event sink: the proxy (or `weir proxy` batches) push once, and the access log,
 * the event store and the metrics each get the event. `push` stays O(sinks) and never blocks.
 *
 * @example
 *   const sink = createFanoutSink([accessLog]);
 *   sink.add(eventStore);
 *   sink.observe((e) => metrics.record(e));
 */
export function createFanoutSink(initial: EventSink[] = []): FanoutSink {
  let sinks = [...initial];
  let observers: Array<(e: WideEvent) => void> = [];
  return {
    get dropped() {
      return sinks.reduce((n, s) => n + s.dropped, 0);
    },
    get queued() {
      return sinks.reduce((n, s) => n + s.queued, 0);
    },
    push(event) {
      for (let i = 0; i < sinks.length; i++) sinks[i].push(event);
      for (let i = 0; i < observers.length; i++) observers[i](event);
    },
    add(sink) {
      sinks = [...sinks, sink];
      return () => { sinks = sinks.filter((s) => s !== sink); };
    },
    observe(fn) {
      observers = [...observers, fn];
      return () => { observers = observers.filter((o) => o !== fn); };
    },
    async flush() {
      await Promise.all(sinks.map((s) => s.flush()));
    },
    async close() {
      const all = sinks;
      sinks = [];
      observers = [];
      await Promise.all(all.map((s) => s.close()));
    },
  };
}
