/** Feature flags in flagd's format: load, evaluate, serve over OFREP, use in-process via OpenFeature. */
export { loadFlagSet, formatFlagIssues, flagSetError, checkFlagSet } from './load.ts';
export type { LoadOptions } from './load.ts';
export { loadFlagSets, mergeFlagSets } from './merge.ts';
export { loadFlagFiles, watchFlagFiles } from './files.ts';
export type { FlagFileWatcher, WatchOptions } from './files.ts';
export { evaluateFlag, evaluateAll, resolveTyped } from './evaluate.ts';
export type { Clock, Now, FlagResolvers } from './evaluate.ts';
export { createFlagRegistry, diffFlagSets } from './registry.ts';
export type { FlagRegistry, FlagRegistryOptions, FlagChange } from './registry.ts';
export { createOfrepRoutes } from './ofrep/routes.ts';
export type { OfrepOptions } from './ofrep/routes.ts';
export { ofrepToken } from './ofrep/http.ts';
export type { RateLimit } from './ofrep/rate-limit.ts';
export { WeirFlagProvider, createWeirProvider, createFlagEvaluationHook, createExposureShipper } from './provider.ts';
export { createFlagService } from './service.ts';
export type { FlagService, FlagServiceOptions } from './service.ts';
export { createFlagRoutes, flagSetDocument } from './api-routes.ts';
export { createFlagUsageCounter, staleFlags } from './usage.ts';
export type { FlagUsageCounter, StaleFlag } from './usage.ts';
export { DEFAULT_LOGIC_LIMITS } from './logic/compile.ts';
export type { LogicLimits } from './logic/compile.ts';
export { REASONS, FLAG_ERROR_CODES } from './types.ts';
export type {
  CompiledFlag, CompiledFlagSet, Prerequisite, EvaluationContext, FlagErrorCode, FlagIssue, FlagMetadata, FlagType, FlagValue,
  JsonValue, LoadResult, Reason, Resolution, TypedResolution,
} from './types.ts';
