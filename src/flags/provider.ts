/**
 * `weir/provider`: OpenFeature providers for Weir flags — `WeirFlagProvider` over a registry in the same
 * process, `createWeirProvider({ url, token })` synced from Weir's flag stream — and the evaluation hook
 * that records `feature_flag.evaluation` events (OpenTelemetry span events, Weir exposure events).
 */
export { WeirFlagProvider } from './local-provider.ts';
export { createWeirProvider, WeirStreamProvider, parseFlagSetEvent } from './stream-provider.ts';
export type { WeirProviderOptions } from './stream-provider.ts';
export { createFlagEvaluationHook, createExposureShipper, evaluationEvent } from './otel-hook.ts';
export type { ExposureShipper, ExposureShipperOptions, FlagEvaluationEvent } from './otel-hook.ts';
