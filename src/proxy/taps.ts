import type { ServiceRoute } from './table.ts';
import type { SplitChoice } from './split.ts';
import type { TapExchange, TapHost } from './taps-types.ts';
import { compileShadow, newShadowState, startShadow } from './shadow/shadow.ts';
import type { RuntimeShadow, ShadowState } from './shadow/shadow.ts';
import type { CopyPools } from './shadow/copy.ts';
import { compileCompare, startCompare } from './compare/live.ts';
import type { CompareState, RuntimeCompare } from './compare/live.ts';
import { chooseFault, headerFault } from './faults/choose.ts';
import type { FaultDecision } from './faults/choose.ts';
import { bothTaps, compileServiceFaults, faultFields, throttleTap } from './faults/runtime.ts';
import type { FaultState, RuntimeFaults } from './faults/runtime.ts';

/**
 * What a service does beyond forwarding — shadow copies, live tap compare, faults — compiled once per
 * routing table. A service with none of them has no taps at all, so its requests pay one property
 * check (`svc.taps === undefined`).
 */
export interface ServiceTaps {
  shadow?: RuntimeShadow;
  compare?: RuntimeCompare;
  faults?: RuntimeFaults;
  /** The service has test tokens and header faults are allowed. */
  headerFaults: boolean;
}

/** Per-service state that outlives routing tables (counters, collectors, outcome windows). */
export interface TapStates {
  shadow: Map<string, ShadowState>;
  compare: Map<string, CompareState>;
  faults: Map<string, FaultState>;
}

export function newTapStates(): TapStates {
  return { shadow: new Map(), compare: new Map(), faults: new Map() };
}

/** Compiles a service's taps, or undefined when it has none. Also returns header names matching reads. */
export function compileTaps(route: ServiceRoute, routeLabel: string, pools: CopyPools, states: TapStates, interest: Set<string>): ServiceTaps | undefined {
  const taps: ServiceTaps = { headerFaults: false };
  let any = false;
  if (route.shadow) {
    let st = states.shadow.get(route.name);
    if (!st) states.shadow.set(route.name, (st = newShadowState()));
    taps.shadow = compileShadow(route, route.shadow, routeLabel, pools, st);
    for (const h of Object.keys(route.shadow.match.headers ?? {})) interest.add(h);
    any ||= taps.shadow !== undefined;
  }
  if (route.compare) {
    taps.compare = compileCompare(route, route.compare, routeLabel, pools, states.compare);
    any ||= taps.compare !== undefined;
  }
  taps.faults = compileServiceFaults(route, states.faults);
  if (taps.faults) {
    any = true;
    for (const r of route.faults ?? []) {
      for (const h of Object.keys(r.match.headers ?? {})) interest.add(h);
      if (typeof r.scope === 'object') interest.add(r.scope.header.toLowerCase());
    }
  }
  taps.headerFaults = route.testTokens.length > 0 && (route.faultPolicy?.headerFaults ?? true);
  any ||= taps.headerFaults;
  return any ? taps : undefined;
}

/** The exchange as faults drive it (Exchange satisfies it). */
export interface FaultableExchange extends TapExchange {
  readonly choice: SplitChoice;
  readonly done: boolean;
  injectAbort(status: number): void;
  injectReset(): void;
  dispatch(exclude: undefined): void;
}

/**
 * Runs a request's taps before it is forwarded: starts shadow and compare copies, then decides a
 * fault. Returns true when a fault took the request over (an abort, or a delay that dispatches later).
 */
export function beginTaps(host: TapHost, ex: FaultableExchange, taps: ServiceTaps, version: string): boolean {
  if (taps.shadow) startShadow(host, ex, taps.shadow);
  if (taps.compare) {
    const cap = startCompare(host, ex, taps.compare, version);
    if (cap !== null) ex.tap = cap;
  }
  let d: FaultDecision | undefined;
  const f = taps.faults;
  const stopped = f !== undefined && f.state.stopped !== null;
  if (taps.headerFaults && ex.choice.traffic === 'test' && !stopped) d = headerFault(ex.view);
  if (d === undefined && f !== undefined && !stopped && f.rules.length > 0) {
    const url = ex.req.url ?? '/';
    const q = url.indexOf('?');
    d = chooseFault(f.rules, { method: ex.method, path: q === -1 ? url : url.slice(0, q), view: ex.view, version, traffic: ex.choice.traffic, reason: ex.choice.reason, now: host.now() }, host.random);
  }
  if (d === undefined) return false;
  if (f !== undefined) {
    f.state.injected++;
    const k = d.rule ?? '(header)';
    f.state.byRule[k] = (f.state.byRule[k] ?? 0) + 1;
  }
  faultFields(d, (ex.extra ??= {}));
  if (d.throttleBps !== undefined) ex.tap = bothTaps(ex.tap, throttleTap(d.throttleBps));
  const act = () => {
    if (ex.done) return;
    if (d.reset) ex.injectReset();
    else if (d.abortStatus !== undefined) ex.injectAbort(d.abortStatus);
    else ex.dispatch(undefined);
  };
  if (d.delayMs !== undefined && d.delayMs > 0) {
    setTimeout(act, d.delayMs).unref();
    return true;
  }
  if (d.reset || d.abortStatus !== undefined) {
    act();
    return true;
  }
  return false;
}
