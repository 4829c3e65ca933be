import { INITIAL_SEQUENTIAL_STATE } from '../stats/index.ts';
import { describeBlackout, inBlackout } from './blackout.ts';
import { FINAL_PHASES } from './types.ts';
import type { MachineContext, RolloutAction, RolloutEvent, RolloutPhase, RolloutSpec, RolloutState } from './types.ts';

/** How often a failing confirm-promotion gate is asked again. */
export const GATE_RETRY_MS = 10_000;
const HISTORY = 30;

export interface Transition {
  state: RolloutState;
  actions: RolloutAction[];
}

/**
 * A new rollout of `canary` over `stable`, not yet at any step: the first `tick` enters step 0.
 *
 * @example
 *   let s = newRollout({ service: 'shop', stable: 'v1', canary: 'v2', spec: rolloutSpec(cfg), now: Date.now() });
 *   ({ state: s } = transition(s, { type: 'tick' }, Date.now(), { halted: false }));
 */
export function newRollout(o: { service: string; stable: string; canary: string; spec: RolloutSpec; now: number; actor?: string }): RolloutState {
  return {
    id: `${o.service}-${o.now.toString(36)}`,
    service: o.service, stable: o.stable, canary: o.canary,
    phase: 'Progressing', step: -1, appliedStep: -1, stepStartedAt: o.now, weight: 0,
    message: `started by ${o.actor ?? 'unknown'}: ${o.canary} over ${o.stable}`,
    spec: o.spec, startedAt: o.now, updatedAt: o.now,
    history: [{ at: o.now, phase: 'Progressing', step: -1, weight: 0, message: `started by ${o.actor ?? 'unknown'}` }],
  };
}

/** The weights a state puts on the service: canary at `weight`, stable the rest; final phases settle on one version. */
export function weightsOf(s: RolloutState): Record<string, number> {
  if (s.phase === 'Succeeded') return { [s.stable]: 0, [s.canary]: 100 };
  if (s.phase === 'Failed' || s.phase === 'Aborted') return { [s.stable]: 100, [s.canary]: 0 };
  return { [s.stable]: 100 - s.weight, [s.canary]: s.weight };
}

export const isFinal = (p: RolloutPhase): boolean => FINAL_PHASES.includes(p);

/**
 * The rollout state machine: pure, total, clock passed in. Every event gives a new state (or the same
 * one) and the actions the controller must run. Weights follow from the state (`weightsOf`) and are
 * stored with it in one transaction, so replaying an event after a crash never applies a step twice.
 *
 * @example
 *   const { state, actions } = transition(s, { type: 'promote', actor: 'alice' }, now, { halted: false });
 */
export function transition(prev: RolloutState, ev: RolloutEvent, now: number, ctx: MachineContext): Transition {
  const m = new Machine(prev, now);
  m.handle(ev, ctx);
  return m.result();
}

class Machine {
  s: RolloutState;
  actions: RolloutAction[] = [];
  readonly now: number;
  readonly before: string;

  constructor(prev: RolloutState, now: number) {
    this.s = { ...prev, history: prev.history };
    this.now = now;
    this.before = JSON.stringify(prev);
  }

  result(): Transition {
    if (JSON.stringify(this.s) !== this.before) this.s.updatedAt = this.now;
    return { state: this.s, actions: this.actions };
  }

  get spec(): RolloutSpec {
    return this.s.spec;
  }

  record(message: string, notify?: string): void {
    this.s.message = message;
    this.s.history = [...this.s.history, { at: this.now, phase: this.s.phase, step: this.s.step, weight: this.s.weight, message }].slice(-HISTORY);
    if (notify) this.actions.push({ type: 'notify', event: notify, message });
  }

  finish(phase: 'Succeeded' | 'Failed' | 'Aborted', message: string): void {
    this.s.phase = phase;
    this.s.weight = phase === 'Succeeded' ? 100 : 0;
    this.s.finishedAt = this.now;
    this.s.pauseReason = undefined;
    this.s.analysis = undefined;
    this.s.blockedBy = undefined;
    this.record(message, `rollout.${phase.toLowerCase()}`);
  }

  handle(ev: RolloutEvent, ctx: MachineContext): void {
    const s = this.s;
    if (isFinal(s.phase)) {
      if (ev.type === 'retry' && s.phase !== 'Succeeded' && !ctx.halted) this.retry(ev.actor);
      return;
    }
    if (ctx.halted) {
      this.finish('Aborted', 'aborted: Weir is halted (weir unhalt, then weir rollout retry)');
      return;
    }
    switch (ev.type) {
      case 'abort':
        this.finish('Aborted', `aborted by ${ev.actor}${ev.reason ? `: ${ev.reason}` : ''}; all traffic back on ${s.stable}`);
        return;
      case 'pause':
        if (s.phase === 'Progressing') {
          s.phase = 'Paused';
          s.pauseReason = 'manual';
          this.record(`paused by ${ev.actor}`, 'rollout.paused');
        }
        return;
      case 'resume':
        if (s.phase !== 'Paused') return;
        this.resume(ev.actor);
        return;
      case 'promote':
        this.promote(ev.actor, ev.full ?? false);
        return;
      case 'retry':
        return;
      case 'analysis':
        this.onAnalysis(ev);
        return;
      case 'gate':
        if (ev.step !== s.step || s.phase !== 'Progressing') return;
        if (ev.ok) {
          s.gatePassed = s.step + 1;
          this.record(`confirm-promotion approved: ${ev.message}`);
          this.advance();
        } else {
          s.gateCheckedAt = this.now;
          s.message = `waiting for confirm-promotion: ${ev.message}`;
        }
        return;
      case 'tick':
        this.tick();
        return;
    }
  }

  retry(actor: string): void {
    const s = this.s;
    s.phase = 'Progressing';
    s.step = -1;
    s.appliedStep = -1;
    s.weight = 0;
    s.finishedAt = undefined;
    s.gatePassed = undefined;
    s.lastRun = undefined;
    this.record(`retried by ${actor}`, 'rollout.retried');
    this.advance();
  }

  resume(actor: string): void {
    const s = this.s;
    const reason = s.pauseReason;
    s.phase = 'Progressing';
    s.pauseReason = undefined;
    const step = this.spec.steps[s.step];
    if (reason === 'step' || (step?.kind === 'pause' && step.durationMs === undefined)) {
      this.record(`resumed by ${actor}`, 'rollout.resumed');
      this.advance();
      return;
    }
    if (s.analysis) s.analysis = { ...s.analysis, inconclusive: 0, nextAt: this.now };
    this.record(`resumed by ${actor}`, 'rollout.resumed');
  }

  promote(actor: string, full: boolean): void {
    const s = this.s;
    s.phase = 'Progressing';
    s.pauseReason = undefined;
    // A person's promotion is the confirmation a confirm-promotion gate asks for.
    if (full) {
      this.record(`promoted to the end by ${actor}`, 'rollout.promoted');
      this.enter(this.spec.steps.length, true);
      return;
    }
    s.gatePassed = s.step + 1;
    this.record(`promoted by ${actor}: step ${s.step + 1} skipped`, 'rollout.promoted');
    this.advance(true);
  }

  tick(): void {
    const s = this.s;
    if (s.phase !== 'Progressing') return;
    if (s.step < 0) {
      this.advance();
      return;
    }
    const step = this.spec.steps[s.step];
    if (!step) {
      this.advance();
      return;
    }
    if (step.kind === 'pause' && step.durationMs !== undefined && this.now >= s.stepStartedAt + step.durationMs) this.advance();
    else if (step.kind === 'keepWarm' && this.now >= s.stepStartedAt + step.durationMs) this.advance();
    else if (step.kind === 'analysis' && s.analysis) {
      if (s.analysis.successes >= step.count) {
        this.advance();
        return;
      }
      if (this.now < s.analysis.nextAt) return;
      const n = s.analysis.runs + 1;
      s.analysis = { ...s.analysis, runs: n, nextAt: this.now + step.intervalMs };
      const total = s.weight + (100 - s.weight);
      this.actions.push({
        type: 'runAnalysis', runId: `${s.id}/${s.step}/${n}`, step: s.step, from: s.stepStartedAt, to: this.now,
        traffic: step.traffic, canaryShare: s.weight / total, final: s.analysis.successes + 1 >= step.count,
      });
    } else if (s.blockedBy || s.gateCheckedAt !== undefined) {
      this.advance();
    }
  }

  onAnalysis(ev: Extract<RolloutEvent, { type: 'analysis' }>): void {
    const s = this.s;
    const step = this.spec.steps[s.step];
    if (ev.step !== s.step || step?.kind !== 'analysis' || !s.analysis) return;
    s.lastRun = { id: ev.runId, phase: ev.phase, summary: ev.summary, at: this.now };
    const a = { ...s.analysis, sequential: ev.sequential ?? s.analysis.sequential };
    if (ev.phase === 'Failed') {
      s.analysis = a;
      this.finish('Failed', `analysis ${ev.runId} failed: ${ev.summary}; all traffic back on ${s.stable}`);
      return;
    }
    if (ev.phase === 'Successful') {
      s.analysis = { ...a, successes: a.successes + 1, inconclusive: 0 };
      if (s.phase === 'Progressing' && s.analysis.successes >= step.count) this.advance();
      return;
    }
    s.analysis = { ...a, inconclusive: a.inconclusive + 1 };
    if (s.phase === 'Progressing' && s.analysis.inconclusive >= this.spec.analysis.inconclusiveLimit) {
      s.phase = 'Paused';
      s.pauseReason = 'inconclusive';
      this.record(`paused: ${s.analysis.inconclusive} inconclusive analysis runs in a row (${ev.summary}); a person decides: weir rollout resume | promote | abort`, 'rollout.paused');
    }
  }

  /** Goes to the next step unless a blackout window or a confirm-promotion gate holds it. */
  advance(skipGate = false): void {
    this.enter(this.s.step + 1, skipGate);
  }

  enter(index: number, skipGate = false): void {
    const s = this.s;
    const window = inBlackout(this.spec.blackouts, this.now);
    if (window) {
      const msg = `blocked by the blackout window ${describeBlackout(window)}`;
      if (s.blockedBy !== msg) {
        s.blockedBy = msg;
        this.record(msg);
      }
      return;
    }
    s.blockedBy = undefined;
    const steps = this.spec.steps;
    const next = steps[index];
    const promotes = index >= steps.length ? s.weight < 100 : next.kind === 'setWeight' && next.weight >= 100;
    if (promotes && this.spec.promotionGates.length > 0 && !skipGate && s.gatePassed !== index) {
      if (s.gateCheckedAt === undefined || this.now >= s.gateCheckedAt + GATE_RETRY_MS) {
        s.gateCheckedAt = this.now;
        this.actions.push({ type: 'checkGates', step: s.step });
      }
      return;
    }
    s.gateCheckedAt = undefined;
    s.step = index;
    s.appliedStep = index;
    s.stepStartedAt = this.now;
    s.analysis = undefined;
    if (index >= steps.length) {
      this.finish('Succeeded', `${s.canary} is now the stable version at 100%`);
      return;
    }
    switch (next.kind) {
      case 'setWeight': {
        const capped = next.weight < 100 && next.weight > this.spec.maxWeight;
        s.weight = capped ? this.spec.maxWeight : next.weight;
        this.record(`step ${index}: ${s.canary} at ${s.weight}%${capped ? ` (capped by maxWeight ${this.spec.maxWeight})` : ''}`, 'rollout.step');
        this.advance();
        return;
      }
      case 'pause':
        if (next.durationMs === undefined) {
          s.phase = 'Paused';
          s.pauseReason = 'step';
          this.record(`step ${index}: paused until a person promotes (weir rollout promote ${s.service})`, 'rollout.paused');
        } else {
          this.record(`step ${index}: pause for ${next.durationMs / 1000}s`, 'rollout.step');
        }
        return;
      case 'analysis':
        s.analysis = { successes: 0, inconclusive: 0, runs: 0, nextAt: this.now + next.intervalMs, sequential: INITIAL_SEQUENTIAL_STATE };
        this.record(`step ${index}: analysis, ${next.count} runs every ${next.intervalMs / 1000}s on ${next.traffic} traffic`, 'rollout.step');
        return;
      case 'keepWarm':
        this.record(`step ${index}: ${s.canary} serves 100%; ${s.stable} kept warm for ${next.durationMs / 1000}s (weir rollout abort switches back at once)`, 'rollout.step');
        return;
    }
  }
}
