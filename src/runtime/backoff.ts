/** How retries space out: doubling from `baseMs` up to `maxMs`, with jitter. */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffPolicy> = { baseMs: 250, maxMs: 10_000 };

/**
 * The delay before retry number `attempt` (0 for the first retry): exponential, capped, with "equal
 * jitter" — half the step fixed, half random — so a fleet of proxies that lost the control plane
 * together does not reconnect in lockstep, yet none retries in a tight loop.
 *
 * @example
 *   backoffDelay(0, { baseMs: 250, maxMs: 10_000 }, () => 0.5) // 187.5
 *   backoffDelay(10, { baseMs: 250, maxMs: 10_000 }, () => 0)  // 5000 (half the 10 s cap)
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const step = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(Math.max(0, attempt), 30));
  return step / 2 + random() * (step / 2);
}

/**
 * A `Retry-After` header (seconds or an HTTP date) as ms from `now`, or undefined.
 *
 * @example
 *   retryAfterMs('2', 0) // 2000
 */
export function retryAfterMs(header: string | string[] | undefined, now: number): number | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  if (v === undefined || v === '') return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}
