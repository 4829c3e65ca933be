/**
 * `createWeirProvider({ url, token })`: an in-process OpenFeature provider that syncs the whole flag set
 * from Weir's `GET /api/v1/flags/stream` (sent on connect and on every change) and evaluates locally with
 * the same compiled evaluator. Through a disconnect it keeps serving the last good set (PROVIDER_STALE),
 * reconnects with exponential backoff and jitter, and is READY again on the next set; a set that does not
 * load is refused (PROVIDER_ERROR) and the last good one stays.
 */
import { createParser } from 'eventsource-parser';
import { ProviderEvents } from '@openfeature/server-sdk';
import { request } from 'undici';
import { backoffDelay, DEFAULT_BACKOFF } from '../runtime/backoff.ts';
import type { BackoffPolicy } from '../runtime/backoff.ts';
import { checkFlagSet, formatFlagIssues, loadFlagSet } from './load.ts';
import { WeirFlagProvider } from './local-provider.ts';
import { createFlagRegistry } from './registry.ts';
import type { FlagRegistry } from './registry.ts';
import type { LoadResult } from './types.ts';
import { createFlagUsageCounter } from './usage.ts';
import type { FlagUsageCounter } from './usage.ts';

/** The registry as the provider sees it: every typed resolution is counted. */
function counting(registry: FlagRegistry, usage: FlagUsageCounter): FlagRegistry {
  const wrap = <R extends { variant?: string; errorCode?: string }>(key: string, r: R): R => {
    if (r.errorCode !== 'FLAG_NOT_FOUND') usage.record(key, r.variant);
    return r;
  };
  return Object.create(registry, {
    resolveBoolean: { value: (k: string, d: boolean, c?: Record<string, unknown>) => wrap(k, registry.resolveBoolean(k, d, c)) },
    resolveString: { value: (k: string, d: string, c?: Record<string, unknown>) => wrap(k, registry.resolveString(k, d, c)) },
    resolveNumber: { value: (k: string, d: number, c?: Record<string, unknown>) => wrap(k, registry.resolveNumber(k, d, c)) },
    resolveObject: { value: (k: string, d: never, c?: Record<string, unknown>) => wrap(k, registry.resolveObject(k, d, c)) },
  });
}

export interface WeirProviderOptions {
  /** The control API, e.g. http://127.0.0.1:8081 */
  url: string;
  /** A token with scope `read`. */
  token?: string;
  backoff?: BackoffPolicy;
  random?: () => number;
  clock?: () => number;
  /** A silent stream (no heartbeat) is dropped after this long. Default 45 000 ms. */
  idleTimeoutMs?: number;
  /**
   * Report evaluation counts (per flag and variant) to `POST /api/v1/flags/usage` this often, for the
   * stale-flag report. Default 60 000 ms; 0 turns reporting off (`flushUsage()` still sends).
   */
  usageIntervalMs?: number;
}

/**
 * Parses one `event: flags` payload into a compiled set (pure).
 *
 * @example
 *   const r = parseFlagSetEvent('{"version":3,"flags":{"a":{"state":"ENABLED","variants":{"on":true},"defaultVariant":"on"}}}');
 */
export function parseFlagSetEvent(data: string): LoadResult {
  let doc: { flags?: unknown; metadata?: unknown };
  try {
    doc = JSON.parse(data);
  } catch (e) {
    return { ok: false, errors: [{ path: '(event)', message: `not JSON: ${(e as Error).message}` }] };
  }
  const r = loadFlagSet({ flags: doc.flags ?? {}, ...(doc.metadata && Object.keys(doc.metadata).length ? { metadata: doc.metadata } : {}) }, 'weir-stream');
  if (!r.ok) return r;
  const issues = checkFlagSet(r.set);
  return issues.length ? { ok: false, errors: issues } : r;
}

/** The provider, with `close()` to stop following the stream (also called by the SDK's onClose). */
export class WeirStreamProvider extends WeirFlagProvider {
  readonly #o: WeirProviderOptions;
  readonly #registry: FlagRegistry;
  readonly #stop = new AbortController();
  readonly #usage: FlagUsageCounter;
  #usageTimer: NodeJS.Timeout | null = null;
  #started = false;
  #stale = false;

  constructor(o: WeirProviderOptions, registry: FlagRegistry = createFlagRegistry({ clock: o.clock ?? Date.now })) {
    const usage = createFlagUsageCounter(o.clock ?? Date.now);
    super(counting(registry, usage));
    this.#usage = usage;
    this.#o = o;
    this.#registry = registry;
  }

  /** Sends the evaluation counts gathered since the last report; on failure they are kept for the next one. */
  async flushUsage(): Promise<void> {
    const batch = this.#usage.drain();
    if (!batch.length) return;
    try {
      const res = await request(`${this.#o.url.replace(/\/+$/, '')}/api/v1/flags/usage`, {
        method: 'POST', body: JSON.stringify(batch),
        headers: { 'content-type': 'application/json', ...(this.#o.token ? { authorization: `Bearer ${this.#o.token}` } : {}) },
      });
      await res.body.dump();
      if (res.statusCode >= 500) throw new Error(`HTTP ${res.statusCode}`);
    } catch {
      this.#usage.add(batch);
    }
  }

  /** Starts following the stream; resolves on the first flag set (the SDK then emits PROVIDER_READY). */
  override initialize(): Promise<void> {
    const ready = super.initialize();
    if (!this.#started) {
      this.#started = true;
      void this.#follow();
      const every = this.#o.usageIntervalMs ?? 60_000;
      if (every > 0) {
        this.#usageTimer = setInterval(() => void this.flushUsage(), every);
        this.#usageTimer.unref();
      }
    }
    return ready;
  }

  override async onClose(): Promise<void> {
    this.#stop.abort();
    if (this.#usageTimer) clearInterval(this.#usageTimer);
    await this.flushUsage();
    await super.onClose();
  }

  #accept(data: string): void {
    const r = parseFlagSetEvent(data);
    if (!r.ok) {
      this.events.emit(ProviderEvents.Error, { message: `flag set refused, keeping the last good one: ${formatFlagIssues(r.errors)}` });
      return;
    }
    this.#registry.replace(r.set);
    if (this.#stale) {
      this.#stale = false;
      this.events.emit(ProviderEvents.Ready, { message: 'reconnected to Weir' });
    }
  }

  async #once(): Promise<boolean> {
    const res = await request(`${this.#o.url.replace(/\/+$/, '')}/api/v1/flags/stream`, {
      headers: { accept: 'text/event-stream', ...(this.#o.token ? { authorization: `Bearer ${this.#o.token}` } : {}) },
      signal: this.#stop.signal, headersTimeout: 10_000, bodyTimeout: this.#o.idleTimeoutMs ?? 45_000,
    });
    if (res.statusCode !== 200) {
      await res.body.dump();
      return false;
    }
    const parser = createParser({ onEvent: (ev) => { if (ev.event === 'flags') this.#accept(ev.data); } });
    const decoder = new TextDecoder();
    for await (const chunk of res.body) parser.feed(decoder.decode(chunk as Buffer, { stream: true }));
    return true;
  }

  async #follow(): Promise<void> {
    let attempt = 0;
    while (!this.#stop.signal.aborted) {
      let connected = false;
      try {
        connected = await this.#once();
      } catch {
        // refused, reset or idle: retried below
      }
      if (this.#stop.signal.aborted) return;
      if (this.#registry.version > 0 && !this.#stale) {
        this.#stale = true;
        this.events.emit(ProviderEvents.Stale, { message: 'lost the Weir flag stream; serving the last flag set while reconnecting' });
      }
      attempt = connected ? 0 : attempt + 1;
      const wait = backoffDelay(attempt, this.#o.backoff ?? DEFAULT_BACKOFF, this.#o.random ?? Math.random);
      await new Promise<void>((r) => {
        const t = setTimeout(r, wait);
        this.#stop.signal.addEventListener('abort', () => { clearTimeout(t); r(); }, { once: true });
      });
    }
  }
}

/**
 * @example
 *   import { OpenFeature } from '@openfeature/server-sdk';
 *   import { createWeirProvider, createFlagEvaluationHook } from 'weir/provider';
 *   await OpenFeature.setProviderAndWait(createWeirProvider({ url: 'http://weir:8081', token: process.env.WEIR_READ_TOKEN }));
 *   OpenFeature.addHooks(createFlagEvaluationHook());
 */
export function createWeirProvider(o: WeirProviderOptions): WeirStreamProvider {
  return new WeirStreamProvider(o);
}
