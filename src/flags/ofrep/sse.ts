/**
 * The OFREP change stream (ADR-0008): Server-Sent Events that tell clients to re-fetch the bulk evaluation.
 * Each event's `id` is the registry version, so a reconnecting client that sends `Last-Event-ID` of an
 * older version is told to re-fetch at once.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FlagRegistry } from '../registry.ts';
import { refetchEvent } from './responses.ts';

export interface SseOptions {
  /** Comment line sent this often to keep proxies from closing idle streams; 0 disables. Default 15 000 ms. */
  heartbeatMs?: number;
  /** Ends every open stream when aborted (server shutdown). */
  signal?: AbortSignal;
}

function event(reg: FlagRegistry): string {
  return `id: ${reg.version}\nevent: message\ndata: ${refetchEvent(reg.etag, Math.floor(reg.updatedAt / 1000))}\n\n`;
}

export function serveChangeStream(req: IncomingMessage, res: ServerResponse, reg: FlagRegistry, opts: SseOptions): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write('retry: 5000\n\n');
  const last = req.headers['last-event-id'];
  if (typeof last === 'string' && last !== String(reg.version)) res.write(event(reg));
  res.flushHeaders();

  const off = reg.onChange(() => {
    res.write(event(reg));
  });
  const hb = opts.heartbeatMs ?? 15_000;
  const timer = hb > 0 ? setInterval(() => res.write(': keep-alive\n\n'), hb) : null;
  timer?.unref();
  const end = () => {
    off();
    if (timer) clearInterval(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  };
  const onAbort = () => {
    end();
    res.end();
  };
  if (opts.signal?.aborted) return onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  res.on('close', end);
}
