import { join } from 'node:path';
import { createEventStore } from '../events/index.ts';
import type { EventStore } from '../events/index.ts';
import type { EventSink, WideEvent } from '../events/schema.ts';

/**
 * A stand-in until the event store runs as its own control extension (`ctx.get('events')`): taps the
 * proxy's sink and opens an embedded event store in dataDir the first time a rollout needs data.
 * Events before that are not seen (analysis windows start with the rollout's steps, so nothing is
 * lost for judging). Removed once `weir up` starts the event store itself.
 */
export function tapSinkIntoEventStore(sink: EventSink, dataDir: string, clock: () => number): { open(): Promise<EventStore>; current(): EventStore | undefined; close(): Promise<void> } {
  let store: EventStore | undefined;
  let opening: Promise<EventStore> | undefined;
  const target = sink as { push(e: WideEvent): void };
  const original = target.push;
  target.push = function (this: unknown, e: WideEvent) {
    original.call(sink, e);
    store?.push(e);
  };
  return {
    open() {
      opening ??= createEventStore({ path: join(dataDir, 'rollout-events.duckdb'), clock, flushIntervalMs: 250, retention: { maxAgeMs: 7 * 86_400_000 } }).then((s) => (store = s));
      return opening;
    },
    current: () => store,
    async close() {
      target.push = original;
      if (opening) await (await opening).close();
    },
  };
}
