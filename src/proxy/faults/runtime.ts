import type { ServiceRoute } from '../table.ts';
import type { ResponseTap } from '../taps-types.ts';
import { budgetVerdict, compileFaults, newWindow, recordOutcome, windowCounts } from './choose.ts';
import type { BudgetVerdict, CompiledFault, FaultDecision, OutcomeWindow } from './choose.ts';
import type { FaultPolicy } from './config.ts';

/** A service's fault counters, its outcome window and its automatic stop; they outlive routing tables. */
export interface FaultState {
  /** The rule set these counters belong to; a different set starts afresh (and lifts a stop). */
  key: string;
  window: OutcomeWindow;
  stopped: { at: number; verdict: BudgetVerdict } | null;
  injected: number;
  byRule: Record<string, number>;
}

/** A service's faults, compiled once per routing table. */
export interface RuntimeFaults {
  rules: CompiledFault[];
  policy: FaultPolicy;
  state: FaultState;
}

export function compileServiceFaults(svc: ServiceRoute, states: Map<string, FaultState>): RuntimeFaults | undefined {
  const policy = svc.faultPolicy;
  const rules = svc.faults ?? [];
  if (!policy && rules.length === 0) return undefined;
  const p = policy ?? { maxActive: 0, maxPercent: 0, errorBudget: null, headerFaults: true };
  const key = JSON.stringify([rules, p]);
  let state = states.get(svc.name);
  if (!state || state.key !== key) {
    state = { key, window: newWindow(p.errorBudget?.windowMs ?? 1000), stopped: null, injected: 0, byRule: {} };
    states.set(svc.name, state);
  }
  // Blast radius, enforced again at run time: never more than maxActive rules.
  return { rules: compileFaults(rules.slice(0, p.maxActive)), policy: p, state };
}

/**
 * Records a finished live request in the window and stops the service's faults when the budget is
 * passed. Returns true when this outcome tripped the stop.
 */
export function observeOutcome(f: RuntimeFaults, nowMs: number, status: number): boolean {
  const b = f.policy.errorBudget;
  if (b === null) return false;
  recordOutcome(f.state.window, nowMs, status >= 500);
  if (f.state.stopped !== null || f.rules.length === 0) return false;
  const v = budgetVerdict(windowCounts(f.state.window, nowMs), b);
  if (!v.exceeded) return false;
  f.state.stopped = { at: nowMs, verdict: v };
  return true;
}

/** The `weir.fault.*` fields of a request's event. */
export function faultFields(d: FaultDecision, into: Record<string, string | number | boolean>): void {
  into['weir.fault.source'] = d.source;
  if (d.rule !== undefined) into['weir.fault.rule'] = d.rule;
  if (d.delayMs !== undefined) into['weir.fault.delay_ms'] = d.delayMs;
  if (d.abortStatus !== undefined) into['weir.fault.abort_status'] = d.abortStatus;
  if (d.reset) into['weir.fault.abort'] = 'reset';
  if (d.throttleBps !== undefined) into['weir.fault.throttle_bps'] = d.throttleBps;
}

/** A response tap that paces the body to `bps` bytes per second. */
export function throttleTap(bps: number): ResponseTap {
  return { data: (chunk) => Math.round((chunk.length / bps) * 1000) };
}

/** Two taps as one (compare capture and throttling on the same response). */
export function bothTaps(a: ResponseTap | null, b: ResponseTap): ResponseTap {
  if (a === null) return b;
  return {
    head: (s, h) => { a.head?.(s, h); b.head?.(s, h); },
    data: (c) => Math.max(a.data?.(c) ?? 0, b.data?.(c) ?? 0),
    end: () => { a.end?.(); b.end?.(); },
    fail: (code) => { a.fail?.(code); b.fail?.(code); },
  };
}
