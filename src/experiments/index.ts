/** Experiments: a flag whose variants are arms, exposures and metrics from the event store, the analysis. */
export { experimentSchema, experimentsSchema, metricSchema, checkExperiments } from './config.ts';
export type { ExperimentConfig, MetricConfig, FilterConfig } from './config.ts';
export { analyzeExperiment, armsOf, DEFAULTS } from './analyze.ts';
export type { ExperimentData } from './analyze.ts';
export { compareMeans, compareRatios } from './compare.ts';
export type { RawComparison, CompareOptions } from './compare.ts';
export { alwaysValid, unitsPerArmFor } from './sequential.ts';
export type { AlwaysValid, PowerInput } from './sequential.ts';
export { comparisonVerdict, percent } from './verdict.ts';
export { EXPOSURE_FIELDS, exposuresSql, metricSql, otherVariantsSql, windowOf } from './sql.ts';
export { loadExperimentData } from './load.ts';
export type { ExperimentStore } from './load.ts';
export { createExperimentsRoutes, experimentResults, describeExperiment, experimentsExtension } from './routes.ts';
export type { ExperimentsRoutesOptions } from './routes.ts';
export type * from './types.ts';
