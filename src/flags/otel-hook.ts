/**
 * An OpenFeature hook that records every evaluation as an OpenTelemetry `feature_flag.evaluation` event
 * on the active span (if any) and, optionally, as Weir events posted in batches to `POST /api/v1/events`
 * — the exposures experiments analyse. Field names are exactly the OpenTelemetry ones.
 */
import { trace } from '@opentelemetry/api';
import type { EvaluationDetails, FlagValue, Hook, HookContext } from '@openfeature/server-sdk';
import { request } from 'undici';

/** One evaluation as an event: the OpenTelemetry feature-flag attributes plus a timestamp. */
export interface FlagEvaluationEvent {
  timestamp: number;
  'event.name': 'feature_flag.evaluation';
  'feature_flag.key': string;
  'feature_flag.result.variant'?: string;
  'feature_flag.result.reason'?: string;
  'feature_flag.provider.name': string;
  /** The targeting key of the evaluation context. */
  'feature_flag.context.id'?: string;
  'error.type'?: string;
}

/**
 * The event for one evaluation (pure).
 *
 * @example
 *   evaluationEvent('new-checkout', { variant: 'on', reason: 'TARGETING_MATCH' }, 'u-1', 'weir', 1_700_000_000_000)
 */
export function evaluationEvent(key: string, d: { variant?: string; reason?: string; errorCode?: string }, targetingKey: string | undefined, provider: string, at: number): FlagEvaluationEvent {
  const e: FlagEvaluationEvent = { timestamp: at, 'event.name': 'feature_flag.evaluation', 'feature_flag.key': key, 'feature_flag.provider.name': provider };
  if (d.variant !== undefined) e['feature_flag.result.variant'] = d.variant;
  if (d.reason !== undefined) e['feature_flag.result.reason'] = d.reason;
  if (targetingKey !== undefined) e['feature_flag.context.id'] = targetingKey;
  if (d.errorCode !== undefined) e['error.type'] = d.errorCode;
  return e;
}

export interface ExposureShipperOptions {
  /** The control API, e.g. http://weir:8081 */
  url: string;
  token?: string;
  /** Send when this many are waiting. Default 100. */
  batchSize?: number;
  /** Most events kept while the API is away; older ones are dropped (and counted). Default 10 000. */
  maxQueue?: number;
}

/** Batches evaluation events to `POST /api/v1/events`. */
export interface ExposureShipper {
  push(e: FlagEvaluationEvent): void;
  /** Sends what is waiting; resolves when the API answered (or failed: the batch is put back). */
  flush(): Promise<void>;
  readonly dropped: number;
}

/**
 * @example
 *   const shipper = createExposureShipper({ url: 'http://127.0.0.1:8081', token });
 *   setInterval(() => void shipper.flush(), 5000).unref();
 */
export function createExposureShipper(o: ExposureShipperOptions): ExposureShipper {
  let queue: FlagEvaluationEvent[] = [];
  let dropped = 0;
  let sending: Promise<void> | null = null;
  const max = o.maxQueue ?? 10_000;
  const send = async (): Promise<void> => {
    while (queue.length) {
      const batch = queue;
      queue = [];
      try {
        const res = await request(`${o.url.replace(/\/$/, '')}/api/v1/events`, {
          method: 'POST', body: JSON.stringify(batch),
          headers: { 'content-type': 'application/json', ...(o.token ? { authorization: `Bearer ${o.token}` } : {}) },
        });
        await res.body.dump();
        if (res.statusCode >= 500) throw new Error(`HTTP ${res.statusCode}`);
      } catch {
        queue = [...batch, ...queue].slice(-max);
        return;
      }
    }
  };
  const shipper: ExposureShipper = {
    push(e) {
      queue.push(e);
      if (queue.length > max) {
        queue.shift();
        dropped++;
      }
      if (queue.length >= (o.batchSize ?? 100)) void shipper.flush();
    },
    flush() {
      sending ??= send().finally(() => { sending = null; });
      return sending;
    },
    get dropped() { return dropped; },
  };
  return shipper;
}

/**
 * The hook: adds `feature_flag.evaluation` to the active span, and pushes the same event to `exposures`.
 *
 * @example
 *   OpenFeature.addHooks(createFlagEvaluationHook({ exposures: createExposureShipper({ url, token }) }));
 */
export function createFlagEvaluationHook(o: { exposures?: ExposureShipper; clock?: () => number } = {}): Hook {
  const clock = o.clock ?? Date.now;
  return {
    finally(ctx: Readonly<HookContext<FlagValue>>, d: EvaluationDetails<FlagValue>) {
      const tk = typeof ctx.context.targetingKey === 'string' ? ctx.context.targetingKey : undefined;
      const e = evaluationEvent(ctx.flagKey, { variant: d.variant, reason: d.reason, errorCode: d.errorCode }, tk, ctx.providerMetadata.name, clock());
      const span = trace.getActiveSpan();
      if (span) {
        const { timestamp: _t, 'event.name': name, ...attrs } = e;
        span.addEvent(name, attrs as Record<string, string>);
      }
      o.exposures?.push(e);
    },
  };
}
