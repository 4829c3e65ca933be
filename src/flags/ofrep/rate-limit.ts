/** A token bucket per caller, with the clock passed in, for OFREP's 429 + Retry-After. */

export interface RateLimit {
  /** Sustained requests per second per caller. */
  perSecond: number;
  /** Burst size; defaults to `perSecond`. */
  burst?: number;
}

export interface RateLimiter {
  /** 0 when allowed (and a token is taken), else the whole seconds to wait. */
  take(caller: string): number;
}

const MAX_CALLERS = 10_000;

/**
 * @example
 *   const limiter = createRateLimiter({ perSecond: 100, burst: 200 }, Date.now);
 *   const wait = limiter.take('principal:web'); // 0, or seconds for Retry-After
 */
export function createRateLimiter(limit: RateLimit, clock: () => number): RateLimiter {
  const burst = limit.burst ?? limit.perSecond;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(caller) {
      const now = clock();
      let b = buckets.get(caller);
      if (!b) {
        if (buckets.size >= MAX_CALLERS) buckets.delete(buckets.keys().next().value as string);
        b = { tokens: burst, at: now };
        buckets.set(caller, b);
      }
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * limit.perSecond);
      b.at = now;
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return 0;
      }
      return Math.max(1, Math.ceil((1 - b.tokens) / limit.perSecond));
    },
  };
}
