/** The event store capability: wide events in DuckDB, Honeycomb-style queries, BubbleUp, error fingerprints, OTLP in, Prometheus out. */
export { createEventStore } from './store.ts';
export type { EventStore, EventStoreOptions, EventStoreStats, QueryOptions } from './store.ts';
export { createEventsRoutes } from './routes.ts';
export type { EventsRoutesOptions } from './routes.ts';
export { createProxyMetrics } from './metrics.ts';
export type { ProxyMetrics } from './metrics.ts';
export { bubbleUp, totalVariation } from './bubbleup.ts';
export type { BubbleUpResult, BubbleUpSpec, Dimension } from './bubbleup.ts';
export { listErrors, newErrorsIn } from './errors-index.ts';
export type { ErrorGroup, NewError } from './errors-index.ts';
export { fingerprint, normalizeMessage, inAppFrames } from './fingerprint.ts';
export { validateQuery, parseCalc, CALC_OPS, FILTER_OPS, PERCENTILES } from './query/spec.ts';
export type { QuerySpec, NormalizedQuery } from './query/spec.ts';
export { planTotals, planSeries } from './query/plan.ts';
export type { QueryResult } from './query/shape.ts';
export { spansToEvents, logsToEvents } from './otlp/map.ts';
export { createOtlpExporter, eventsToTraces } from './otlp/export.ts';
export type { OtlpExporterOptions, OtlpExporterStats } from './otlp/export.ts';
