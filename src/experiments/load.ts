/**
 * Reads an experiment's data from the event store: units per arm and each metric's per-arm
 * summaries (the per-unit aggregation runs in DuckDB; only a few rows per metric come back).
 */
import { WeirError } from '../errors.ts';
import type { EventStore } from '../events/store.ts';
import type { RatioSummary } from '../stats/index.ts';
import type { ExperimentData } from './analyze.ts';
import type { ExperimentConfig, MetricConfig } from './config.ts';
import { EXPOSURE_FIELDS, exposuresSql, metricSql, otherVariantsSql, windowOf } from './sql.ts';
import type { ArmSummary, MetricData } from './types.ts';

/** The part of the event store the analysis reads. */
export type ExperimentStore = Pick<EventStore, 'sql' | 'catalog'>;

const num = (v: unknown): number => (v === null || v === undefined ? Number.NaN : Number(v));

async function metricData(store: ExperimentStore, exp: ExperimentConfig, m: MetricConfig, path: string, now: number): Promise<MetricData> {
  let plan;
  try {
    plan = metricSql(exp, m, store.catalog, windowOf(exp, now), path);
  } catch (e) {
    if (e instanceof WeirError && e.code === 'QUERY_INVALID') return { kind: 'error', reason: e.message };
    throw e;
  }
  const rows = await store.sql(plan.sql, plan.params);
  if (m.type === 'ratio') {
    const arms: Record<string, RatioSummary> = {};
    for (const r of rows) {
      arms[String(r.arm)] = {
        n: num(r.n), numeratorMean: num(r.my), denominatorMean: num(r.mx),
        numeratorVariance: num(r.vy), denominatorVariance: num(r.vx), covariance: num(r.cxy),
      };
    }
    return { kind: 'ratio', arms };
  }
  const arms: Record<string, ArmSummary> = {};
  for (const r of rows) {
    const s: ArmSummary = { n: num(r.n), mean: num(r.mean), variance: num(r.var) };
    if (r.mx !== undefined && r.mx !== null) s.covariate = { mean: num(r.mx), variance: num(r.vx), covariance: num(r.cxy) };
    arms[String(r.arm)] = s;
  }
  // CUPED needs the covariate in every arm; without pre-period data anywhere it is left out.
  if (Object.values(arms).some((a) => !a.covariate)) for (const a of Object.values(arms)) delete a.covariate;
  return { kind: m.type, arms };
}

/**
 * Units per arm, excluded units and every metric's per-arm summaries at `now`.
 * @example
 * const data = await loadExperimentData(store, exp, Date.now());
 * analyzeExperiment(exp, data, Date.now());
 */
export async function loadExperimentData(store: ExperimentStore, exp: ExperimentConfig, now: number): Promise<ExperimentData> {
  const data: ExperimentData = { units: {}, excludedUnits: 0, metrics: {} };
  const exposed = Object.values(EXPOSURE_FIELDS).every((f) => store.catalog.resolve(f));
  if (!exposed) {
    const reason = `no exposures yet: no event has carried ${Object.values(EXPOSURE_FIELDS).join(', ')}`;
    for (const m of [...(exp.metrics ?? []), ...(exp.guardrails ?? [])]) data.metrics[m.name] = { kind: 'error', reason };
    return data;
  }
  const plan = exposuresSql(exp, store.catalog, windowOf(exp, now));
  for (const r of await store.sql(plan.sql, plan.params)) {
    data.units[String(r.arm)] = num(r.n);
    data.excludedUnits += num(r.multi);
  }
  const others = otherVariantsSql(exp, store.catalog, windowOf(exp, now));
  for (const r of await store.sql(others.sql, others.params)) (data.otherVariants ??= {})[String(r.variant)] = num(r.n);
  const jobs: Promise<void>[] = [];
  const add = (list: MetricConfig[] | undefined, block: string) => list?.forEach((m, i) => {
    jobs.push(metricData(store, exp, m, `${block}[${i}]`, now).then((d) => { data.metrics[m.name] = d; }));
  });
  add(exp.metrics, 'metrics');
  add(exp.guardrails, 'guardrails');
  await Promise.all(jobs);
  return data;
}
