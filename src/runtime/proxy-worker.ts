// Entry point of a proxy worker process (`weir up --workers N`). The parent sends the routing table
// and every new one; the worker listens with SO_REUSEPORT (the kernel spreads connections across
// workers, no hop through the parent) and ships its events back in batches over IPC.
import { createProxy } from '../proxy/server.ts';
import type { Proxy, ProxyOptions } from '../proxy/server.ts';
import type { RoutingTable } from '../proxy/table.ts';
import type { EventSink, WideEvent } from '../events/schema.ts';
import { internalErrorCount } from '../proxy/internal-error.ts';

export type ToWorker =
  | { type: 'init'; table: RoutingTable; host: string; port: number; options: Pick<ProxyOptions, 'captureHeaders' | 'rawStickyKey' | 'maxHeaderBytes'>; capacity: number; flushMs: number }
  | { type: 'table'; table: RoutingTable }
  | { type: 'close'; drainMs: number };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'events'; events: WideEvent[]; dropped: number; internalErrors?: number }
  | { type: 'error'; message: string };

/** Batches events to the parent; bounded, drops and counts when the parent cannot keep up. */
function ipcSink(capacity: number, flushMs: number): EventSink {
  let queue: WideEvent[] = [];
  let dropped = 0;
  let reported = 0;
  let internalReported = 0;
  const send = () => {
    const internal = internalErrorCount();
    if (queue.length === 0 && dropped === reported && internal === internalReported) return;
    const events = queue;
    queue = [];
    const msg: FromWorker = { type: 'events', events, dropped: dropped - reported, internalErrors: internal - internalReported };
    reported = dropped;
    internalReported = internal;
    process.send!(msg);
  };
  const timer = setInterval(send, flushMs);
  timer.unref();
  return {
    get dropped() { return dropped; },
    get queued() { return queue.length; },
    push(e) {
      if (queue.length >= capacity) dropped++;
      else queue.push(e);
      if (queue.length >= 512) send();
    },
    async flush() { send(); },
    async close() { clearInterval(timer); send(); },
  };
}

let proxy: Proxy | undefined;
let sink: EventSink | undefined;

process.on('message', async (msg: ToWorker) => {
  try {
    if (msg.type === 'init') {
      sink = ipcSink(msg.capacity, msg.flushMs);
      proxy = createProxy({ table: msg.table, sink, ...msg.options });
      await proxy.listen(msg.port, msg.host, true);
      process.send!({ type: 'ready' } satisfies FromWorker);
    } else if (msg.type === 'table') {
      proxy?.setTable(msg.table);
    } else if (msg.type === 'close') {
      await proxy?.close(msg.drainMs);
      await sink?.close();
      process.disconnect();
    }
  } catch (e) {
    process.send!({ type: 'error', message: (e as Error).message } satisfies FromWorker);
  }
});
process.on('disconnect', () => process.exit(0));
// The parent handles signals and tells workers to drain.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
