import { compileMatch, matches } from '../zod-units.ts';
import type { CompiledMatch } from '../zod-units.ts';
import { FAULT_DEFAULTS } from './config.ts';
import type { FaultDelay, FaultRule } from './config.ts';

/**
 * The pure core of fault injection: which fault (if any) a request gets, drawn with the randomness
 * passed in; the header-driven faults of test traffic; and the error-budget window that stops faults
 * on its own. No clock or randomness of its own.
 */

/** What to do to one request. */
export interface FaultDecision {
  source: 'rule' | 'header';
  rule?: string;
  delayMs?: number;
  abortStatus?: number;
  reset?: boolean;
  throttleBps?: number;
}

/** What the choice reads of a request. */
export interface FaultInput {
  method: string;
  path: string;
  view: Readonly<Record<string, string>>;
  version: string;
  traffic: 'live' | 'test';
  /** How the version was chosen: `cohort` for requests routed by a cohort rule. */
  reason: string;
  /** Wall clock, ms: rules past their `until` are skipped. */
  now: number;
}

export interface CompiledFault {
  rule: FaultRule;
  match: CompiledMatch;
}

export function compileFaults(rules: readonly FaultRule[]): CompiledFault[] {
  return rules.map((rule) => ({ rule, match: compileMatch(rule.match) }));
}

/**
 * A delay drawn from a rule's distribution, whole ms.
 * @example drawDelay({ uniform: { min: 100, max: 200 } }, () => 0.5) // → 150
 */
export function drawDelay(d: FaultDelay, random: () => number): number {
  if ('fixed' in d) return d.fixed;
  if ('uniform' in d) return Math.round(d.uniform.min + (d.uniform.max - d.uniform.min) * random());
  const max = d.exponential.max ?? d.exponential.mean * 10;
  return Math.round(Math.min(max, -d.exponential.mean * Math.log(1 - random())));
}

function inScope(rule: FaultRule, input: FaultInput): boolean {
  const s = rule.scope;
  if (s === 'everyone') return true;
  if (s === 'test') return input.traffic === 'test';
  if (s === 'cohort') return input.reason === 'cohort';
  const v = input.view[s.header.toLowerCase()];
  return v !== undefined && (s.value === undefined || v === s.value);
}

/**
 * The first rule that applies to a request and whose percent draw hits, as a decision.
 * @example
 *   const rules = compileFaults([{ name: 'f', match: {}, scope: 'everyone', percent: 100, abort: { status: 503 } }]);
 *   chooseFault(rules, { method: 'GET', path: '/', view: {}, version: 'v1', traffic: 'live', reason: 'weight', now: 0 }, Math.random)
 *   // → { source: 'rule', rule: 'f', abortStatus: 503 }
 */
export function chooseFault(rules: readonly CompiledFault[], input: FaultInput, random: () => number): FaultDecision | undefined {
  for (const { rule, match } of rules) {
    if (rule.version !== undefined && rule.version !== input.version) continue;
    if (rule.until !== undefined && input.now > rule.until) continue;
    if (!inScope(rule, input)) continue;
    if (!matches(match, input.method, input.path, input.view)) continue;
    if (rule.percent < 100 && !(random() * 100 < rule.percent)) continue;
    const d: FaultDecision = { source: 'rule', rule: rule.name };
    if (rule.delay) d.delayMs = drawDelay(rule.delay, random);
    if (rule.abort) {
      if ('status' in rule.abort) d.abortStatus = rule.abort.status;
      else d.reset = true;
    }
    if (rule.throttle) d.throttleBps = rule.throttle.bytesPerSecond;
    return d;
  }
  return undefined;
}

/** The request headers that ask for a fault (test traffic only). Always stripped before forwarding. */
export const FAULT_HEADERS = ['x-weir-fault-delay-ms', 'x-weir-fault-abort-status'] as const;

/**
 * The fault test traffic asks for by header; undefined when none or when the values are not valid.
 * Only call it for requests that carried a valid test token.
 * @example headerFault({ 'x-weir-fault-abort-status': '503' }) // → { source: 'header', abortStatus: 503 }
 */
export function headerFault(view: Readonly<Record<string, string>>, maxDelayMs: number = FAULT_DEFAULTS.maxHeaderDelayMs): FaultDecision | undefined {
  const delay = view['x-weir-fault-delay-ms'];
  const abort = view['x-weir-fault-abort-status'];
  if (delay === undefined && abort === undefined) return undefined;
  const d: FaultDecision = { source: 'header' };
  if (delay !== undefined && /^\d{1,9}$/.test(delay)) d.delayMs = Math.min(Number(delay), maxDelayMs);
  if (abort !== undefined && /^[45]\d\d$/.test(abort)) d.abortStatus = Number(abort);
  return d.delayMs === undefined && d.abortStatus === undefined ? undefined : d;
}

/**
 * Live outcomes over a sliding window in one-second buckets, for the error-budget stop. Mutable state,
 * pure transitions: the time is passed in.
 */
export interface OutcomeWindow {
  /** Bucket start (ms) per slot, and its counts. */
  at: number[];
  total: number[];
  errors: number[];
}

export function newWindow(windowMs: number): OutcomeWindow {
  const n = Math.max(1, Math.ceil(windowMs / 1000));
  return { at: new Array(n).fill(-1), total: new Array(n).fill(0), errors: new Array(n).fill(0) };
}

/** Records one live outcome at `nowMs`. */
export function recordOutcome(w: OutcomeWindow, nowMs: number, error: boolean): void {
  const sec = Math.floor(nowMs / 1000);
  const i = sec % w.at.length;
  if (w.at[i] !== sec) {
    w.at[i] = sec;
    w.total[i] = 0;
    w.errors[i] = 0;
  }
  w.total[i]++;
  if (error) w.errors[i]++;
}

/**
 * Requests and errors within the window ending at `nowMs`.
 * @example const w = newWindow(60_000); recordOutcome(w, 0, true); windowCounts(w, 1000) // → { total: 1, errors: 1 }
 */
export function windowCounts(w: OutcomeWindow, nowMs: number): { total: number; errors: number } {
  const sec = Math.floor(nowMs / 1000);
  let total = 0;
  let errors = 0;
  for (let i = 0; i < w.at.length; i++) {
    if (w.at[i] >= 0 && sec - w.at[i] < w.at.length) {
      total += w.total[i];
      errors += w.errors[i];
    }
  }
  return { total, errors };
}

/** The verdict of the error budget: data, with its numbers. */
export interface BudgetVerdict {
  exceeded: boolean;
  errorRate: number;
  requests: number;
  reason: string;
}

/**
 * Whether the live error rate passed the budget (at least `minRequests` in the window).
 * @example budgetVerdict({ total: 100, errors: 10 }, { maxErrorRate: 0.05, minRequests: 20 }).exceeded // → true
 */
export function budgetVerdict(c: { total: number; errors: number }, b: { maxErrorRate: number; minRequests: number }): BudgetVerdict {
  const rate = c.total > 0 ? c.errors / c.total : 0;
  if (c.total < b.minRequests) return { exceeded: false, errorRate: rate, requests: c.total, reason: `${c.total} live requests in the window, fewer than minRequests ${b.minRequests}` };
  const exceeded = rate > b.maxErrorRate;
  return {
    exceeded,
    errorRate: rate,
    requests: c.total,
    reason: `live error rate ${(rate * 100).toFixed(2)}% ${exceeded ? 'is above' : 'is within'} the budget of ${(b.maxErrorRate * 100).toFixed(2)}% over ${c.total} requests`,
  };
}
