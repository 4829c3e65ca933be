/**
 * Evaluation counts for the stale-flag report: per flag, per variant, and the last time evaluated. Kept in
 * memory where evaluations happen (the OFREP single-flag route, reports from providers) and added to the
 * state store periodically. Pure apart from the clock passed in.
 */
import type { FlagUsage } from '../store/types.ts';
import type { CompiledFlagSet } from './types.ts';

export interface FlagUsageCounter {
  /** Counts one evaluation; `variant` undefined (the code default) counts as `''`. */
  record(key: string, variant: string | undefined, n?: number, at?: number): void;
  /** Adds counts reported by someone else (a provider). */
  add(usage: readonly FlagUsage[]): void;
  /** The counts since the last drain, and resets them. */
  drain(): FlagUsage[];
  /** The counts since the last drain, without resetting. */
  peek(): FlagUsage[];
}

/**
 * @example
 *   const usage = createFlagUsageCounter(Date.now);
 *   usage.record('new-checkout', 'on');
 *   await store.addFlagUsage(usage.drain());
 */
export function createFlagUsageCounter(now: () => number): FlagUsageCounter {
  let pending = new Map<string, FlagUsage>();
  const entry = (key: string): FlagUsage => {
    let u = pending.get(key);
    if (!u) pending.set(key, (u = { key, variants: {}, lastEvaluatedAt: 0 }));
    return u;
  };
  const counter: FlagUsageCounter = {
    record(key, variant, n = 1, at = now()) {
      const u = entry(key);
      const v = variant ?? '';
      u.variants[v] = (u.variants[v] ?? 0) + n;
      if (at > u.lastEvaluatedAt) u.lastEvaluatedAt = at;
    },
    add(usage) {
      for (const u of usage) for (const [v, n] of Object.entries(u.variants)) counter.record(u.key, v === '' ? undefined : v, n, u.lastEvaluatedAt);
    },
    drain() {
      const out = [...pending.values()];
      pending = new Map();
      return out;
    },
    peek: () => [...pending.values()].map((u) => ({ ...u, variants: { ...u.variants } })),
  };
  return counter;
}

/** A flag the stale report lists, and why. */
export interface StaleFlag {
  key: string;
  reason: 'not-evaluated' | 'single-variant';
  /** ms since the epoch, or null if never evaluated (since counting began). */
  lastEvaluatedAt: number | null;
  variants: Record<string, number>;
}

/**
 * Flags of the set not evaluated within `days` (or never), or evaluated only ever to one variant.
 *
 * @example
 *   staleFlags(registry.current(), [...stored, ...counter.peek()], 30, Date.now())
 *   // [{ key: 'old-banner', reason: 'not-evaluated', lastEvaluatedAt: null, variants: {} }]
 */
export function staleFlags(set: CompiledFlagSet, usage: readonly FlagUsage[], days: number, now: number): StaleFlag[] {
  const merged = new Map<string, FlagUsage>();
  for (const u of usage) {
    const m = merged.get(u.key) ?? { key: u.key, variants: {}, lastEvaluatedAt: 0 };
    for (const [v, n] of Object.entries(u.variants)) m.variants[v] = (m.variants[v] ?? 0) + n;
    m.lastEvaluatedAt = Math.max(m.lastEvaluatedAt, u.lastEvaluatedAt);
    merged.set(u.key, m);
  }
  const since = now - days * 86_400_000;
  const out: StaleFlag[] = [];
  for (const key of [...set.flags.keys()].sort()) {
    const u = merged.get(key);
    const last = u && u.lastEvaluatedAt > 0 ? u.lastEvaluatedAt : null;
    const variants = u?.variants ?? {};
    if (last === null || last < since) out.push({ key, reason: 'not-evaluated', lastEvaluatedAt: last, variants });
    else if (Object.values(variants).filter((n) => n > 0).length === 1) out.push({ key, reason: 'single-variant', lastEvaluatedAt: last, variants });
  }
  return out;
}
