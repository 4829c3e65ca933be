/**
 * Seeded synthetic experiments: exposure and metric events as apps would post them, plus each unit's
 * true per-unit values computed here in plain JS, so a test can compare the store's SQL answers with
 * an independent computation.
 */
import { createRandom } from '../../src/stats/index.ts';

export type Event = Record<string, string | number>;

export interface UnitTruth {
  arm: string;
  converted: number;
  revenue: number;
  sessions: number;
  errored: number;
  /** Pre-period revenue, or undefined when the unit has no pre-period event at all. */
  pre?: number;
}

export interface Synthetic {
  events: Event[];
  units: Map<string, UnitTruth>;
  /** Units exposed to both arms (excluded by the analysis). */
  multi: number;
}

export interface SyntheticOptions {
  seed: number;
  flag: string;
  /** First exposure of unit i is at base + i·stepMs. */
  base: number;
  /** Arm of unit i. */
  armOf(i: number): string;
  units: number;
  /** Conversion probability per arm. */
  conversion: Record<string, number>;
  /** Units exposed to both arms. */
  multi?: number;
  /** Also emit sessions, errors and pre-period events. */
  rich?: boolean;
}

/**
 * Exposures (`feature_flag.*`), purchases (`name: purchase`, `amount`), sessions and errors after the
 * first exposure, some repeat exposures, a purchase before exposure that must not count, and (rich)
 * pre-period events in the day before `base` whose revenue correlates with the unit's spend.
 */
export function synthesize(o: SyntheticOptions): Synthetic {
  const rng = createRandom(o.seed);
  const events: Event[] = [];
  const units = new Map<string, UnitTruth>();
  const step = 50;
  const exposure = (u: string, arm: string, ts: number): Event => ({
    timestamp: ts, name: 'feature_flag.evaluation', 'feature_flag.key': o.flag,
    'feature_flag.result.variant': arm, 'feature_flag.context.id': u, 'feature_flag.result.reason': 'TARGETING_MATCH',
  });
  for (let i = 0; i < o.units; i++) {
    const u = `${o.flag}-u${i}`;
    const arm = o.armOf(i);
    const t0 = o.base + i * step;
    const spend = 25 * rng.gamma(2);
    const truth: UnitTruth = { arm, converted: 0, revenue: 0, sessions: 0, errored: 0 };
    // A purchase just before the first exposure: outside the unit's metric window.
    if (rng.uniform() < 0.1) events.push({ timestamp: t0 - 10, name: 'purchase', amount: 999, 'feature_flag.context.id': u });
    events.push(exposure(u, arm, t0));
    if (rng.uniform() < 0.2) events.push(exposure(u, arm, t0 + 20_000));
    if (rng.uniform() < (o.conversion[arm] ?? 0)) {
      const amount = Math.round((spend + rng.normal() * 5) * 100) / 100;
      events.push({ timestamp: t0 + 1000, name: 'purchase', amount, 'feature_flag.context.id': u });
      truth.converted = 1;
      truth.revenue = amount;
    }
    if (o.rich) {
      const sessions = 1 + rng.poisson(2);
      for (let s = 0; s < sessions; s++) events.push({ timestamp: t0 + 2000 + s, name: 'session', 'feature_flag.context.id': u });
      truth.sessions = sessions;
      if (rng.uniform() < 0.05) {
        events.push({ timestamp: t0 + 3000, name: 'error', 'feature_flag.context.id': u });
        truth.errored = 1;
      }
      if (rng.uniform() < 0.8) {
        const pre = o.base - 3_600_000 - i;
        events.push({ timestamp: pre, name: 'pageview', 'feature_flag.context.id': u });
        truth.pre = 0;
        if (rng.uniform() < 0.6) {
          const amount = Math.round((spend + rng.normal() * 5) * 100) / 100;
          events.push({ timestamp: pre + 1, name: 'purchase', amount, 'feature_flag.context.id': u });
          truth.pre = amount;
        }
      }
    }
    units.set(u, truth);
  }
  for (let j = 0; j < (o.multi ?? 0); j++) {
    const u = `${o.flag}-multi${j}`;
    events.push(exposure(u, 'control', o.base + j), exposure(u, 'treatment', o.base + j + 5));
    events.push({ timestamp: o.base + j + 1000, name: 'purchase', amount: 10, 'feature_flag.context.id': u });
  }
  return { events, units, multi: o.multi ?? 0 };
}
