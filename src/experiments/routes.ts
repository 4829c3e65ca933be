/**
 * The experiments' control-API routes and the control-plane capability that serves them.
 */
import { WeirError } from '../errors.ts';
import type { ApiRoute } from '../control/route.ts';
import { sendJson } from '../events/http.ts';
import type { ControlExtension } from '../runtime/extensions.ts';
import { analyzeExperiment, armsOf } from './analyze.ts';
import type { ExperimentConfig } from './config.ts';
import { loadExperimentData } from './load.ts';
import type { ExperimentStore } from './load.ts';
import type { ExperimentResults } from './types.ts';

export interface ExperimentsRoutesOptions {
  /** The experiments as configured now (re-read on every request, so a config reload applies). */
  experiments(): readonly ExperimentConfig[];
  /** The event store; undefined when it is turned off (`events.store: false`). */
  store(): ExperimentStore | undefined;
  now(): number;
}

/**
 * One experiment as `GET /api/v1/experiments` lists it.
 * @example
 * describeExperiment(exp); // { id: 'checkout', flag: 'new-checkout', arms: ['control', 'treatment'], allocation: { control: 50, treatment: 50 }, … }
 */
export function describeExperiment(e: ExperimentConfig) {
  const arms = armsOf(e);
  return {
    id: e.id, flag: e.flag, arms,
    allocation: Object.fromEntries(arms.map((a) => [a, e.allocation?.[a] ?? 1])),
    unit: e.unit ?? 'feature_flag.context.id',
    start: e.start === undefined ? null : new Date(e.start).toISOString(),
    end: e.end === undefined ? null : new Date(e.end).toISOString(),
    metrics: (e.metrics ?? []).map((m) => m.name),
    guardrails: (e.guardrails ?? []).map((m) => m.name),
  };
}

/**
 * Computes an experiment's results now.
 * @example
 * const r = await experimentResults(store, exp, Date.now());
 */
export async function experimentResults(store: ExperimentStore, exp: ExperimentConfig, now: number): Promise<ExperimentResults> {
  return analyzeExperiment(exp, await loadExperimentData(store, exp, now), now);
}

/**
 * - `GET /api/v1/experiments` (read): the configured experiments.
 * - `GET /api/v1/experiments/{id}/results` (read): per arm and metric: units, value, lift, intervals,
 *   p-values (fixed and always-valid), adjusted p-value, verdict; the SRM check and the status.
 * @example
 * routes.push(...createExperimentsRoutes({ experiments: () => cfg.experiments ?? [], store: () => events, now: Date.now }));
 */
export function createExperimentsRoutes(o: ExperimentsRoutesOptions): ApiRoute[] {
  return [
    {
      method: 'GET', path: '/api/v1/experiments', scope: 'read',
      handler(_req, res) {
        sendJson(res, 200, { experiments: o.experiments().map(describeExperiment) });
      },
    },
    {
      method: 'GET', path: '/api/v1/experiments/{id}/results', scope: 'read',
      async handler(_req, res, ctx) {
        const all = o.experiments();
        const exp = all.find((e) => e.id === ctx.params.id);
        if (!exp) throw new WeirError('NOT_FOUND', `no experiment "${ctx.params.id}"${all.length ? ` (experiments: ${all.map((e) => e.id).join(', ')})` : '; declare it under experiments: in weir.yaml'}`);
        const store = o.store();
        if (!store) throw new WeirError('CONFLICT', 'the event store is off (events.store: false); experiment results are computed from it');
        sendJson(res, 200, await experimentResults(store, exp, o.now()));
      },
    },
  ];
}

/** The experiments capability: registered after `events`, whose store it reads. */
export const experimentsExtension: ControlExtension = {
  name: 'experiments',
  async start(ctx) {
    return {
      routes: createExperimentsRoutes({
        experiments: () => (ctx.config() as { experiments?: ExperimentConfig[] }).experiments ?? [],
        store: () => ctx.get<ExperimentStore>('events'),
        now: ctx.now,
      }),
    };
  },
};
