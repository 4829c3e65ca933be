import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import type { Dispatcher } from 'undici';
import { createParser } from 'eventsource-parser';
import type { RoutingTable } from '../proxy/table.ts';
import { DEFAULT_BACKOFF, backoffDelay } from './backoff.ts';
import type { BackoffPolicy } from './backoff.ts';
import { tableShapeProblem } from './table-file.ts';

export interface TableFeedOptions {
  /** The control API's base URL, e.g. http://control:8081, or several replicas' (tried in turn after a failure). */
  controlUrl: string | readonly string[];
  /** A token with scope read or higher. */
  token: string;
  /** The version the caller has now; older tables from the stream are ignored. */
  current(): number;
  onTable(table: RoutingTable): void;
  /** Connected (a 200 answer) or not, with the reason. */
  onState?(state: { connected: boolean; reason?: string; url: string }): void;
  backoff?: BackoffPolicy;
  random?: () => number;
  /** Longest silence on an open stream before it counts as dead (heartbeats come every 15 s). Default 45 000. */
  idleTimeoutMs?: number;
  dispatcher?: Dispatcher;
}

export interface TableFeed {
  /** Resolves once the first table (newer than `current()`) has arrived. */
  readonly first: Promise<RoutingTable>;
  stop(): void;
}

/**
 * One or several control-plane base URLs (a list, or one string with commas), without trailing slashes.
 *
 * @example
 *   controlUrls('http://a:8081/, http://b:8081') // ['http://a:8081', 'http://b:8081']
 */
export function controlUrls(v: string | readonly string[]): string[] {
  const list = (typeof v === 'string' ? v.split(',') : [...v]).map((u) => u.trim().replace(/\/+$/, '')).filter(Boolean);
  if (list.length === 0) throw new Error('no control-plane URL given');
  return list;
}

/**
 * Turns the text of a routing-table stream into tables: feed it chunks as they arrive; each complete
 * `event: table` calls `onTable` with the parsed table, and anything malformed calls `onProblem`.
 * Pure (no sockets), so it is tested on strings. The SSE framing is eventsource-parser's.
 *
 * @example
 *   const p = tableStreamParser((t) => console.log(t.version), console.error);
 *   p.feed('id: 7\nevent: table\ndata: {"version":7,"services":[]}\n\n');
 */
export function tableStreamParser(onTable: (t: RoutingTable) => void, onProblem: (why: string) => void): { feed(chunk: string): void; reset(): void } {
  const parser = createParser({
    onEvent(ev) {
      if (ev.event !== 'table') return;
      let v: unknown;
      try {
        v = JSON.parse(ev.data);
      } catch (e) {
        return onProblem(`table event ${ev.id ?? '?'} is not JSON: ${(e as Error).message}`);
      }
      const problem = tableShapeProblem(v);
      if (problem) return onProblem(`table event ${ev.id ?? '?'}: ${problem}`);
      onTable(v as RoutingTable);
    },
    onError(e) {
      onProblem(e.message);
    },
  });
  return { feed: (c) => parser.feed(c), reset: () => parser.reset() };
}

/**
 * Follows `GET /api/v1/routing-table/stream`: connects, hands every newer table to `onTable`, and on
 * any failure (refused, 5xx, a dropped or silent stream) reconnects after an exponential delay with
 * jitter — for as long as it runs. It sends `Last-Event-ID` so the control plane skips a table the
 * proxy already has.
 *
 * @example
 *   const feed = followTableStream({ controlUrl, token, current: () => proxy.table.version, onTable: (t) => proxy.setTable(t) });
 *   await feed.first;
 */
export function followTableStream(opts: TableFeedOptions): TableFeed {
  const stop = new AbortController();
  const policy = opts.backoff ?? DEFAULT_BACKOFF;
  const random = opts.random ?? Math.random;
  const urls = controlUrls(opts.controlUrl).map((u) => `${u}/api/v1/routing-table/stream`);
  let which = 0;
  let resolveFirst!: (t: RoutingTable) => void;
  const first = new Promise<RoutingTable>((r) => (resolveFirst = r));
  const state = (connected: boolean, reason?: string) => opts.onState?.({ connected, reason, url: controlUrls(opts.controlUrl)[which % urls.length] });

  const accept = (t: RoutingTable) => {
    if (t.version <= opts.current()) return;
    opts.onTable(t);
    resolveFirst(t);
  };

  // One connection; after a 200 the next failure retries from the shortest delay again.
  let connectedOnce = false;
  const once = async (): Promise<{ connected: boolean; reason: string }> => {
    let problem: string | undefined;
    const parser = tableStreamParser(accept, (why) => (problem = why));
    const current = opts.current();
    const res = await request(urls[which % urls.length], {
      headers: { authorization: `Bearer ${opts.token}`, accept: 'text/event-stream', ...(current > 0 ? { 'last-event-id': String(current) } : {}) },
      signal: stop.signal,
      headersTimeout: 10_000,
      bodyTimeout: opts.idleTimeoutMs ?? 45_000,
      dispatcher: opts.dispatcher,
    });
    if (res.statusCode !== 200) {
      const text = await res.body.text().catch(() => '');
      let msg = text.slice(0, 200);
      try {
        const e = (JSON.parse(text) as { error: { code: string; message: string } }).error;
        msg = `${e.code}: ${e.message}`;
      } catch {
        // not the API's error body
      }
      return { connected: false, reason: `HTTP ${res.statusCode} ${msg}` };
    }
    connectedOnce = true;
    state(true);
    const decoder = new TextDecoder();
    for await (const chunk of res.body) {
      parser.feed(decoder.decode(chunk as Buffer, { stream: true }));
      if (problem) return { connected: true, reason: problem };
    }
    return { connected: true, reason: 'the stream ended' };
  };

  void (async () => {
    let attempt = 0;
    while (!stop.signal.aborted) {
      let reason: string;
      connectedOnce = false;
      try {
        reason = (await once()).reason;
      } catch (e) {
        reason = (e as Error).message;
      }
      if (connectedOnce) attempt = 0;
      else which++; // the next replica, if there are several
      if (stop.signal.aborted) break;
      state(false, reason);
      await sleep(backoffDelay(attempt++, policy, random), undefined, { signal: stop.signal }).catch(() => {});
    }
  })();

  return { first, stop: () => stop.abort() };
}
