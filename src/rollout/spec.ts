import type { RolloutConfig } from '../config/schema.ts';
import type { RolloutSpec, Step } from './types.ts';

export const DEFAULT_INTERVAL_MS = 10_000;
export const DEFAULT_COUNT = 6;
export const DEFAULT_KEEP_WARM_MS = 10 * 60_000;

const DEFAULT_CANARY_STEPS: RolloutConfig['steps'] = [
  { setWeight: 10 }, { analysis: {} }, { setWeight: 50 }, { analysis: {} },
];

/**
 * Normalizes a service's `rollout:` block (or nothing) into the spec a rollout runs with: steps with
 * defaults filled in; for blue/green, the preview analysis (on test traffic), an optional wait for a
 * person, the switch to 100 and the keep-warm window.
 *
 * @example
 *   const spec = rolloutSpec(config.services.shop.rollout);
 */
export function rolloutSpec(cfg: RolloutConfig | undefined): RolloutSpec {
  const c = cfg ?? {};
  const strategy = c.strategy ?? 'canary';
  const a = c.analysis ?? {};
  const interval = a.interval ?? DEFAULT_INTERVAL_MS;
  const raw = c.steps ?? (strategy === 'canary' ? DEFAULT_CANARY_STEPS : [{ analysis: {} }]);
  const steps: Step[] = [];
  for (const s of raw ?? []) {
    if (s.setWeight !== undefined) steps.push({ kind: 'setWeight', weight: s.setWeight });
    else if (s.pause !== undefined) steps.push({ kind: 'pause', durationMs: s.pause.duration });
    else if (s.analysis !== undefined) {
      steps.push({ kind: 'analysis', intervalMs: s.analysis.interval ?? interval, count: s.analysis.count ?? DEFAULT_COUNT, traffic: strategy === 'blueGreen' ? 'test' : 'live' });
    }
  }
  if (strategy === 'blueGreen') {
    if (!c.blueGreen?.autoPromote) steps.push({ kind: 'pause' });
    steps.push({ kind: 'setWeight', weight: 100 }, { kind: 'keepWarm', durationMs: c.blueGreen?.keepWarm ?? DEFAULT_KEEP_WARM_MS });
  }
  const metrics = a.metrics ?? [
    { name: 'success-rate', builtin: 'request-success-rate' },
    { name: 'latency-p99', builtin: 'request-duration-p99' },
  ];
  return {
    strategy,
    steps,
    maxWeight: c.maxWeight ?? 100,
    analysis: {
      minSamples: a.minSamples ?? 100,
      inconclusiveLimit: a.inconclusiveLimit ?? 10,
      metrics,
      judge: { compare: a.judge?.compare ?? 'baseline', pass: a.judge?.pass ?? 95, marginal: a.judge?.marginal ?? 75 },
      sequential: a.sequential === false ? false : {
        alpha: a.sequential?.alpha ?? 0.01,
        allowedLatencyIncrease: a.sequential?.allowedLatencyIncrease ?? 0,
        watchMs: a.sequential?.watch === false ? 0 : a.sequential?.watch ?? 1000,
      },
      newErrors: a.newErrors ?? 'fail',
    },
    blackouts: c.blackouts ?? [],
    promotionGates: (c.webhooks ?? []).filter((w) => w.type === 'confirm-promotion').map((w) => w.name),
  };
}
