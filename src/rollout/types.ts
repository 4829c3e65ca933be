import type { AnalysisMetricConfig, BlackoutConfig, RolloutConfig } from '../config/schema.ts';
import type { SequentialCanaryState } from '../stats/index.ts';
import type { AnalysisPhase } from '../analysis/types.ts';

/** Where a rollout is. Succeeded, Failed and Aborted are final (`retry` starts a Failed/Aborted one again). */
export type RolloutPhase = 'Progressing' | 'Paused' | 'Succeeded' | 'Failed' | 'Aborted';

export const FINAL_PHASES: readonly RolloutPhase[] = ['Succeeded', 'Failed', 'Aborted'];

/** One normalized step (durations in ms). `keepWarm` is the blue/green wait after the switch. */
export type Step =
  | { kind: 'setWeight'; weight: number }
  | { kind: 'pause'; durationMs?: number }
  | { kind: 'analysis'; intervalMs: number; count: number; traffic: 'live' | 'test' }
  | { kind: 'keepWarm'; durationMs: number };

/** The rollout settings, frozen into the state when the rollout starts (a config edit does not change a running rollout). */
export interface RolloutSpec {
  strategy: 'canary' | 'blueGreen';
  steps: Step[];
  maxWeight: number;
  analysis: {
    minSamples: number;
    inconclusiveLimit: number;
    metrics: AnalysisMetricConfig[];
    judge: { compare: 'baseline' | 'none'; pass: number; marginal: number };
    sequential: false | { alpha: number; allowedLatencyIncrease: number; /** Sequential watch between runs, ms (0: off; absent in older states: 1000). */ watchMs?: number };
    newErrors: 'fail' | 'ignore';
  };
  blackouts: BlackoutConfig[];
  /** Names of confirm-promotion webhooks: the last step waits until all answer 2xx. */
  promotionGates: string[];
}

/** The sequential judge's running state within one analysis step. */
export interface StepAnalysis {
  /** Runs that came back Successful in this step. */
  successes: number;
  /** Inconclusive (or Error) runs in a row. */
  inconclusive: number;
  /** Runs started in this step (their ids are `<rolloutId>/<step>/<n>`). */
  runs: number;
  /** When the next run is due. */
  nextAt: number;
  sequential: SequentialCanaryState;
}

/** A rollout's whole state: stored as JSON by the state store, with an optimistic revision. */
export interface RolloutState {
  id: string;
  service: string;
  /** The version traffic returns to on failure (the stable one when the rollout started). */
  stable: string;
  /** The version being released. */
  canary: string;
  phase: RolloutPhase;
  /** Index into spec.steps; spec.steps.length once every step is done. */
  step: number;
  /** The step whose effects (weights) are in the stored weights; an action is never applied twice. */
  appliedStep: number;
  stepStartedAt: number;
  /** The canary's current weight (the stable version has the rest). */
  weight: number;
  /** Why it is paused: a `pause: {}` step, a person, too many inconclusive runs, a confirm gate. */
  pauseReason?: 'step' | 'manual' | 'inconclusive' | 'gate';
  analysis?: StepAnalysis;
  /** Last phase of each analysis run in this step, newest last (for `status`). */
  lastRun?: { id: string; phase: AnalysisPhase; summary: string; at: number };
  /** Why the rollout is where it is, in words. */
  message: string;
  spec: RolloutSpec;
  startedAt: number;
  updatedAt: number;
  finishedAt?: number;
  /** The step index a confirm-promotion gate (or a person's promote) let through. */
  gatePassed?: number;
  /** When the confirm-promotion gates were last asked. */
  gateCheckedAt?: number;
  /** Blocked now by a blackout window or a halt (shown, not a phase). */
  blockedBy?: string;
  /** The last transitions, newest last (at most 30). */
  history: { at: number; phase: RolloutPhase; step: number; weight: number; message: string }[];
}

/** What happens to a rollout. `tick` is time passing; the rest come from people, analysis and gates. */
export type RolloutEvent =
  | { type: 'tick' }
  | { type: 'promote'; actor: string; full?: boolean }
  | { type: 'pause'; actor: string }
  | { type: 'resume'; actor: string }
  | { type: 'abort'; actor: string; reason?: string }
  | { type: 'retry'; actor: string }
  | { type: 'analysis'; runId: string; step: number; phase: AnalysisPhase; summary: string; sequential?: SequentialCanaryState }
  | { type: 'gate'; step: number; ok: boolean; message: string };

/**
 * What the controller does after a transition. Weights are not an action: they follow from the state
 * (`weightsOf`) and are written in the same transaction as it.
 */
export type RolloutAction =
  | { type: 'runAnalysis'; runId: string; step: number; from: number; to: number; traffic: 'live' | 'test'; canaryShare: number; final: boolean }
  | { type: 'checkGates'; step: number }
  | { type: 'notify'; event: string; message: string };

/** Outside facts the pure machine needs (computed by the controller). */
export interface MachineContext {
  /** A `weir halt` is in force: nothing advances; active rollouts are aborted. */
  halted: boolean;
}

export type { AnalysisMetricConfig, BlackoutConfig, RolloutConfig };
