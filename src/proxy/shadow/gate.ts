/**
 * The pure core of copying traffic (shadow and tap compare): which requests are copied, and the caps
 * that bound the copies — a concurrency limit and a token bucket — with every refusal counted by reason.
 * Clock and randomness are passed in.
 */

/** Why a copy was not made. */
/**
 * Why a copy was not made: over a cap (`concurrency`, `rate`, `body`), abandoned at its timeout
 * (`slow`), an unsafe method not opted in, the copy target's breaker open (`unhealthy`), or the proxy
 * itself busier than `maxLoad` (`overload`).
 */
export type DropReason = 'concurrency' | 'rate' | 'body' | 'slow' | 'unsafe-method' | 'unhealthy' | 'overload';

/** Counters of one copy stream (a service's shadow, or its compare), outliving routing tables. */
export interface CopyCounters {
  /** Requests sampled for a copy. */
  sampled: number;
  /** Copies sent. */
  sent: number;
  /** Copies that completed with a response. */
  completed: number;
  /** Copies that failed (connect error, reset, timeout). */
  failed: number;
  /** Copies in flight now. */
  inflight: number;
  /** Copies not made or abandoned, by reason. */
  dropped: Record<DropReason, number>;
}

export function newCounters(): CopyCounters {
  return { sampled: 0, sent: 0, completed: 0, failed: 0, inflight: 0, dropped: { concurrency: 0, rate: 0, body: 0, slow: 0, 'unsafe-method': 0, unhealthy: 0, overload: 0 } };
}

/** A token bucket: `rate` tokens per second, at most `burst` saved. Mutable state, pure transitions. */
export interface TokenBucket {
  tokens: number;
  at: number;
}

/**
 * Takes one token if there is one, refilling by the time passed since the last call.
 * @example
 *   const b = { tokens: 1, at: 0 };
 *   takeToken(b, 0, 1, 1)    // → true
 *   takeToken(b, 10, 1, 1)   // → false (only 0.01 of a token refilled)
 *   takeToken(b, 1000, 1, 1) // → true
 */
export function takeToken(b: TokenBucket, nowMs: number, ratePerSec: number, burst: number): boolean {
  if (nowMs > b.at) {
    b.tokens = Math.min(burst, b.tokens + ((nowMs - b.at) / 1000) * ratePerSec);
    b.at = nowMs;
  }
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return true;
  }
  return false;
}

/** The caps one copy stream enforces. */
export interface CopyCaps {
  maxConcurrent: number;
  /** 0 = no rate limit. */
  maxRps: number;
}

/**
 * Admits one copy or says why not; on admission `inflight` is counted (call {@link releaseCopy} when the
 * copy ends). Pure apart from the state it is given.
 * @example
 *   const c = newCounters(); const b = { tokens: 1, at: 0 };
 *   admitCopy(c, b, { maxConcurrent: 1, maxRps: 0 }, 0) // → null (admitted)
 *   admitCopy(c, b, { maxConcurrent: 1, maxRps: 0 }, 0) // → 'concurrency'
 */
export function admitCopy(c: CopyCounters, bucket: TokenBucket, caps: CopyCaps, nowMs: number): DropReason | null {
  c.sampled++;
  let reason: DropReason | null = null;
  if (c.inflight >= caps.maxConcurrent) reason = 'concurrency';
  else if (caps.maxRps > 0 && !takeToken(bucket, nowMs, caps.maxRps, Math.max(1, caps.maxRps))) reason = 'rate';
  if (reason !== null) {
    c.dropped[reason]++;
    return reason;
  }
  c.inflight++;
  c.sent++;
  return null;
}

export function releaseCopy(c: CopyCounters, ok: boolean): void {
  c.inflight--;
  if (ok) c.completed++;
  else c.failed++;
}

/**
 * True for a sampled request: `random()` below `percent`/100. 100 takes every request without calling random.
 * @example sampled(100, Math.random) // → true
 */
export function sampled(percent: number, random: () => number): boolean {
  return percent >= 100 || (percent > 0 && random() * 100 < percent);
}

/**
 * Passive health of a copy target, a circuit breaker: after `threshold` failed copies in a row
 * (refused, reset, or not answered within the copy timeout), copies pause for the cool-down (dropped
 * as `unhealthy`). When the pause ends one probe copy goes out alone; its failure pauses again for
 * twice as long (up to `maxCooldownMs`), its success closes the breaker. So a shadow that resets or
 * hangs on every request costs a copy now and then, not a connection and an error (or a connection
 * held until the timeout) per user request. Mutable state, pure transitions.
 */
export interface CopyHealth {
  failures: number;
  until: number;
  /** Pauses since the last success; the n-th lasts cooldownMs × 2^(n−1). */
  strikes?: number;
  /** A probe copy is out after a pause; other copies wait for its outcome. */
  probing?: boolean;
}

export const COPY_HEALTH = { threshold: 5, cooldownMs: 1_000, maxCooldownMs: 30_000 } as const;

/**
 * True while copies are paused (or a probe after a pause has not come back yet).
 * @example const h = { failures: 0, until: 0 }; for (let i = 0; i < 5; i++) copyOutcome(h, false, 0); copyPaused(h, 500) // → true
 */
export function copyPaused(h: CopyHealth, nowMs: number): boolean {
  return h.until > nowMs || h.probing === true;
}

/** Called when a copy is admitted: after a pause, that copy is the probe. */
export function copyAdmitted(h: CopyHealth): void {
  if ((h.strikes ?? 0) > 0) h.probing = true;
}

/**
 * Records a copy's outcome; the threshold-th failure in a row (or a failed probe) pauses copies.
 * Failures of copies that were already out when the pause began do not lengthen it.
 */
export function copyOutcome(h: CopyHealth, ok: boolean, nowMs: number, threshold: number = COPY_HEALTH.threshold, cooldownMs: number = COPY_HEALTH.cooldownMs): void {
  if (ok) {
    h.failures = 0;
    h.strikes = 0;
    h.probing = false;
    return;
  }
  if (h.until > nowMs) return;
  if (h.probing === true || ++h.failures >= threshold) {
    h.failures = 0;
    h.probing = false;
    h.strikes = (h.strikes ?? 0) + 1;
    h.until = nowMs + Math.min(COPY_HEALTH.maxCooldownMs, cooldownMs * 2 ** (h.strikes - 1));
  }
}
