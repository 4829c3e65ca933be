import { WeirError } from '../errors.ts';
import type { WeirConfig } from '../config/schema.ts';
import type { ControlPlane } from '../control/plane.ts';
import { configuredWeights } from '../proxy/table.ts';
import type { RolloutRecord, StateStore } from '../store/types.ts';
import type { Analyzer } from '../analysis/analyzer.ts';
import { isFinal, newRollout, transition, weightsOf } from './machine.ts';
import type { Transition } from './machine.ts';
import { rolloutSpec } from './spec.ts';
import { INITIAL_SEQUENTIAL_STATE } from '../stats/index.ts';
import { callWebhook, checkHooks } from './webhooks.ts';
import type { WebhookConfig } from './webhooks.ts';
import type { RolloutAction, RolloutEvent, RolloutState } from './types.ts';

/** The key the halt switch is stored under (not a valid service name, so it never collides). */
export const HALT_KEY = '*halt';

export interface HaltState {
  halted: boolean;
  actor: string;
  reason?: string;
  at: number;
}

export interface RolloutControllerOptions {
  plane: ControlPlane;
  store: StateStore;
  config: () => WeirConfig;
  now: () => number;
  analyzer: Analyzer;
  isLeader: () => boolean;
  log?: (line: string) => void;
}

/**
 * The rollout controller: the I/O around the pure state machine. Every change goes through
 * `store.putRollout` (state + weights + audit in one transaction, optimistic revision; on a CONFLICT
 * it reloads and tries again), then `plane.refresh()` publishes the new table. Background work
 * (`tick`) only runs while `isLeader()`.
 *
 * @example
 *   const c = new RolloutController({ plane, store, config: () => cfg, now: Date.now, analyzer, isLeader: () => true });
 *   await c.start('shop', 'canary', 'alice');
 *   setInterval(() => void c.tick(), 1000);
 */
export class RolloutController {
  readonly #o: RolloutControllerOptions;
  #locks = new Map<string, Promise<unknown>>();
  #halt: HaltState | undefined;
  #ticking = false;
  /** Actions in flight (analysis runs, gates), awaited by `idle()` and `stop`. */
  #pending = new Set<Promise<void>>();
  /** Services whose sequential watch is reading, and when each was last started. */
  #watching = new Set<string>();
  #lastWatch = new Map<string, number>();

  constructor(o: RolloutControllerOptions) {
    this.#o = o;
  }

  /** Loads the halt switch and the stable versions that past rollouts set. */
  async init(): Promise<void> {
    for (const r of await this.#o.store.listRollouts()) {
      if (r.service === HALT_KEY) this.#halt = r.state as HaltState;
      else this.#syncStable(r.state as RolloutState);
    }
  }

  get halted(): HaltState | undefined {
    return this.#halt?.halted ? this.#halt : undefined;
  }

  async get(service: string): Promise<{ state: RolloutState; revision: number } | undefined> {
    const r = await this.#o.store.getRollout(service);
    return r ? { state: r.state as RolloutState, revision: r.revision } : undefined;
  }

  /** Starts a rollout of `canary` on `service` after the pre-rollout and confirm-rollout webhooks agree. */
  async start(service: string, canary: string, actor: string): Promise<RolloutState> {
    await this.#loadHalt();
    const cfg = this.#o.config();
    const svc = cfg.services[service];
    if (!svc) throw new WeirError('NOT_FOUND', `no service named "${service}"`);
    if (this.halted) throw new WeirError('HALTED', `Weir is halted (${this.halted.reason ?? 'no reason given'}); run weir unhalt first`);
    if (!(canary in svc.versions)) throw new WeirError('VALIDATION_FAILED', `no version named "${canary}" in ${service} (versions: ${Object.keys(svc.versions).join(', ')}); deploy it in weir.yaml first`);
    const existing = await this.get(service);
    if (existing) this.#syncStable(existing.state); // another replica may have finished a rollout
    const route = this.#o.plane.table.services.find((s) => s.name === service);
    const stable = route?.stable ?? Object.keys(svc.versions)[0];
    if (canary === stable) throw new WeirError('VALIDATION_FAILED', `${canary} is already the stable version of ${service}`);
    if (existing && !isFinal(existing.state.phase)) throw new WeirError('CONFLICT', `${service} already has a rollout in progress (${existing.state.canary}, ${existing.state.phase}); abort it first`);
    const hooks = svc.rollout?.webhooks ?? [];
    const body = { service, canary, stable, actor };
    for (const type of ['pre-rollout', 'confirm-rollout'] as const) {
      const r = await checkHooks(hooks, type, body);
      if (!r.ok) throw new WeirError('GATE_CLOSED', `the ${type} webhook said no: ${r.message}`, { details: { type, message: r.message } });
    }
    const now = this.#o.now();
    const state = newRollout({ service, stable, canary, spec: rolloutSpec(svc.rollout), now, actor });
    const t = transition(state, { type: 'tick' }, now, { halted: false });
    await this.#write(service, existing?.revision ?? null, t, { actor, action: 'rollout.start', event: 'start' });
    this.#notify(hooks, t.state, 'rollout.started', t.state.message);
    this.#run(service, t.actions);
    return t.state;
  }

  /** Applies a person's event (promote, pause, resume, abort, retry) to a service's rollout. */
  async act(service: string, event: Exclude<RolloutEvent, { type: 'tick' | 'analysis' | 'gate' }>): Promise<RolloutState> {
    await this.#loadHalt();
    const cur = await this.get(service);
    if (cur && isFinal(cur.state.phase) && event.type !== 'retry' && event.type !== 'abort') {
      throw new WeirError('CONFLICT', `the rollout of ${service} already ${cur.state.phase === 'Succeeded' ? 'succeeded' : `ended (${cur.state.phase}); weir rollout retry ${service} starts it again`}`);
    }
    if (cur?.state.phase === 'Succeeded' && event.type === 'retry') throw new WeirError('CONFLICT', `the rollout of ${service} succeeded; start a new one with weir rollout start`);
    if (this.halted && (event.type === 'promote' || event.type === 'resume' || event.type === 'retry')) {
      throw new WeirError('HALTED', `Weir is halted (${this.halted.reason ?? 'no reason given'}); run weir unhalt first`);
    }
    const state = await this.#apply(service, event, event.actor);
    if (!state) throw new WeirError('NOT_FOUND', `${service} has no rollout; start one with weir rollout start ${service} --to VERSION`);
    return state;
  }

  /**
   * One pass of background work over every unfinished rollout (leader only). Every replica also
   * follows the stored state: the halt switch and the stable versions rollouts set.
   */
  async tick(): Promise<void> {
    if (this.#ticking) return;
    this.#ticking = true;
    try {
      if (!this.#o.isLeader()) await this.#o.plane.refresh(); // the leader's rollout writes, seen by this replica
      for (const r of await this.#o.store.listRollouts()) {
        if (r.service === HALT_KEY) {
          this.#halt = r.state as HaltState;
          continue;
        }
        const state = r.state as RolloutState;
        this.#syncStable(state);
        if (isFinal(state.phase) || !this.#o.isLeader()) continue;
        const versions = this.#o.config().services[r.service]?.versions;
        if (!versions || !(state.canary in versions) || !(state.stable in versions)) {
          await this.#apply(r.service, { type: 'abort', actor: 'controller', reason: `${r.service}, ${state.canary} or ${state.stable} is no longer in the config` }, 'controller');
        } else {
          const next = await this.#apply(r.service, { type: 'tick' }, 'controller');
          if (next) this.#watch(next);
        }
      }
    } catch (e) {
      this.#o.log?.(`weir: rollout controller: ${(e as Error).message}`);
    } finally {
      this.#ticking = false;
    }
  }

  /** Sends every service back to its stable version and freezes rollouts until `unhalt`. */
  async halt(actor: string, reason?: string): Promise<{ services: string[] }> {
    await this.#setHalt({ halted: true, actor, reason, at: this.#o.now() }, 'halt');
    const touched: string[] = [];
    for (const route of this.#o.plane.table.services) {
      const r = await this.get(route.name);
      if (r && !isFinal(r.state.phase)) {
        await this.#apply(route.name, { type: 'tick' }, actor);
        touched.push(route.name);
      } else if ((route.weights[route.stable] ?? 0) !== 100) {
        await this.#o.plane.setWeights(route.name, { [route.stable]: 100 }, actor, `halt${reason ? `: ${reason}` : ''}`);
        touched.push(route.name);
      }
    }
    return { services: touched };
  }

  async unhalt(actor: string, reason?: string): Promise<void> {
    await this.#setHalt({ halted: false, actor, reason, at: this.#o.now() }, 'unhalt');
  }

  /** Resolves when no analysis run or gate check is in flight (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#pending.size) await Promise.allSettled([...this.#pending]);
  }

  /** Re-reads the halt switch: another replica may have set it. */
  async #loadHalt(): Promise<void> {
    const r = await this.#o.store.getRollout(HALT_KEY);
    if (r) this.#halt = r.state as HaltState;
  }

  async #setHalt(h: HaltState, action: string): Promise<void> {
    for (let i = 0; i < 5; i++) {
      const cur = await this.#o.store.getRollout(HALT_KEY);
      try {
        await this.#o.store.putRollout(HALT_KEY, h, cur?.revision ?? null, { actor: h.actor, action, target: '*', before: cur?.state, after: h, reason: h.reason });
        this.#halt = h;
        return;
      } catch (e) {
        if (!(e instanceof WeirError && e.code === 'CONFLICT')) throw e;
      }
    }
    throw new WeirError('CONFLICT', 'the halt switch kept changing under us; try again');
  }

  /** Serialises work per service in this process (other processes are kept out by the revision). */
  async #locked<T>(service: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(service) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    this.#locks.set(service, next.catch(() => {}));
    return next;
  }

  async #apply(service: string, event: RolloutEvent, actor: string): Promise<RolloutState | undefined> {
    const result = await this.#locked(service, async () => {
      for (let attempt = 0; attempt < 5; attempt++) {
        const rec = await this.#o.store.getRollout(service);
        if (!rec) return undefined;
        const prev = rec.state as RolloutState;
        const t = transition(prev, event, this.#o.now(), { halted: this.halted !== undefined });
        if (JSON.stringify(t.state) === JSON.stringify(prev) && t.actions.length === 0) return { state: prev, actions: [] };
        try {
          const reason = event.type === 'analysis' ? `${event.runId} ${event.phase}: ${event.summary}` : undefined;
          await this.#write(service, rec.revision, t, { actor, action: `rollout.${event.type}`, event: event.type, prev, reason });
          return t;
        } catch (e) {
          if (e instanceof WeirError && e.code === 'CONFLICT') continue; // another controller acted: reload and go on
          throw e;
        }
      }
      throw new WeirError('CONFLICT', `the rollout of ${service} kept changing under us; try again`);
    });
    if (!result) return undefined;
    this.#run(service, result.actions);
    return result.state;
  }

  async #write(service: string, revision: number | null, t: Transition, a: { actor: string; action: string; event: string; prev?: RolloutState; reason?: string }): Promise<RolloutRecord> {
    const { state } = t;
    const svc = this.#o.config().services[service];
    const w = weightsOf(state);
    const weights = svc ? { weights: Object.fromEntries(Object.keys(svc.versions).map((v) => [v, w[v] ?? 0])), configWeights: configuredWeights(svc) } : undefined;
    const brief = (s: RolloutState | undefined) => s && { phase: s.phase, step: s.step, weights: weightsOf(s) };
    const moved = !a.prev || a.prev.phase !== state.phase || a.prev.step !== state.step || a.prev.weight !== state.weight;
    const rec = await this.#o.store.putRollout(service, state, revision, {
      // A tick that moves nothing only starts an analysis run or waits (a gate, a blackout).
      actor: a.actor, action: a.event !== 'tick' ? a.action : moved ? 'rollout.step' : t.actions.some((x) => x.type === 'runAnalysis') ? 'rollout.analysis.start' : 'rollout.wait', target: service,
      before: brief(a.prev), after: brief(state), reason: a.reason ?? state.message,
    }, weights);
    await this.#o.plane.refresh();
    this.#syncStable(state);
    if (moved && a.event !== 'start') {
      this.#o.log?.(`weir: rollout ${service}: ${state.phase} step ${state.step} ${state.canary}=${state.weight}% — ${state.message}`);
      this.#notify(svc?.rollout?.webhooks ?? [], state, `rollout.${state.phase.toLowerCase()}`, state.message);
    }
    return rec;
  }

  #syncStable(s: RolloutState): void {
    if (!this.#o.config().services[s.service]) return;
    this.#o.plane.setStable(s.service, s.phase === 'Succeeded' ? s.canary : s.stable);
  }

  #notify(hooks: readonly WebhookConfig[], s: RolloutState, event: string, message: string): void {
    const body = { event, service: s.service, canary: s.canary, stable: s.stable, phase: s.phase, step: s.step, weights: weightsOf(s), message, at: this.#o.now() };
    for (const h of hooks.filter((x) => x.type === 'event')) {
      void callWebhook(h, body).then((r) => { if (!r.ok) this.#o.log?.(`weir: event webhook ${r.message}`); });
    }
  }

  #run(service: string, actions: RolloutAction[]): void {
    for (const a of actions) {
      if (a.type === 'notify') continue; // sent by #write for every transition
      const p = this.#action(service, a).catch((e) => this.#o.log?.(`weir: rollout ${service}: ${(e as Error).message}`));
      this.#pending.add(p);
      void p.finally(() => this.#pending.delete(p));
    }
  }

  /**
   * Between analysis runs, every `sequential.watchMs` (default 1 s), checks the anytime-valid sequential
   * test alone on committed events (live analysis steps, running or paused: the canary still serves
   * its share). Checking often costs no false alarms, and a bad canary is failed seconds after the
   * evidence is there instead of at the next run. Only a failure is recorded, as a Failed run.
   */
  #watch(state: RolloutState): void {
    const analyzer = this.#o.analyzer;
    const service = state.service;
    const step = state.spec.steps[state.step];
    const seq = state.spec.analysis.sequential;
    if (!analyzer.watch || this.#watching.has(service) || (state.phase !== 'Progressing' && state.phase !== 'Paused')) return;
    if (step?.kind !== 'analysis' || step.traffic !== 'live' || !state.analysis || !seq) return;
    const every = seq.watchMs ?? 1000;
    const now = this.#o.now();
    if (every <= 0 || now - (this.#lastWatch.get(service) ?? Number.NEGATIVE_INFINITY) < every) return;
    this.#lastWatch.set(service, now);
    this.#watching.add(service);
    const p = analyzer.watch({
      runId: `${state.id}/${state.step}/watch-${now}`, rolloutId: state.id, service, step: state.step, baseline: state.stable, canary: state.canary,
      from: state.stepStartedAt, to: now, traffic: 'live', canaryShare: state.weight / 100, settings: state.spec.analysis, sequential: state.analysis.sequential,
    }).then(async (r) => {
      if (!r) return;
      const cur = (await this.get(service))?.state;
      // The step may have moved on (or the rollout ended) while the watch was reading.
      if (!cur || cur.id !== state.id || cur.step !== state.step || isFinal(cur.phase)) return;
      await this.#o.store.appendAnalysisRun(service, r.run);
      this.#o.log?.(`weir: analysis ${r.run.id}: ${r.run.phase} — ${r.run.summary}`);
      await this.#apply(service, { type: 'analysis', runId: r.run.id, step: state.step, phase: 'Failed', summary: r.run.summary, sequential: r.sequential }, 'analysis');
    }).catch((e) => this.#o.log?.(`weir: rollout ${service}: sequential watch: ${(e as Error).message}`))
      .finally(() => this.#watching.delete(service));
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }

  async #action(service: string, a: RolloutAction): Promise<void> {
    const cur = await this.get(service);
    if (!cur) return;
    const s = cur.state;
    if (a.type === 'runAnalysis') {
      const { run, sequential } = await this.#o.analyzer.run({
        runId: a.runId, rolloutId: s.id, service, step: a.step, baseline: s.stable, canary: s.canary, from: a.from, to: a.to,
        traffic: a.traffic, canaryShare: a.canaryShare, final: a.final, settings: s.spec.analysis, sequential: s.analysis?.sequential ?? INITIAL_SEQUENTIAL_STATE,
      });
      await this.#o.store.appendAnalysisRun(service, run);
      this.#o.log?.(`weir: analysis ${run.id}: ${run.phase} — ${run.summary}`);
      await this.#apply(service, { type: 'analysis', runId: run.id, step: a.step, phase: run.phase, summary: run.summary, sequential }, 'analysis');
    } else if (a.type === 'checkGates') {
      const hooks = this.#o.config().services[service]?.rollout?.webhooks ?? [];
      const r = await checkHooks(hooks, 'confirm-promotion', { service, canary: s.canary, stable: s.stable, step: s.step });
      await this.#apply(service, { type: 'gate', step: a.step, ok: r.ok, message: r.message }, 'webhook');
    }
  }
}
