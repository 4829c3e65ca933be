/**
 * Tap compare: diff the answers of primary, secondary and candidate, filter the noise by Diffy's rule,
 * aggregate findings per endpoint and field, report them. Pure; the proxy and `weir compare` do the I/O.
 * See docs/tap-compare.md.
 */
export type { BodyMode, CompareResponse, Difference, DiffKind, DiffRules, DiffSection, RawHeaders } from './types.ts';
export { compileRules, mergeRules, DEFAULT_IGNORED_HEADERS, type CompiledRules } from './rules.ts';
export { diffResponses, diffBodies, diffTextBodies, fieldOf, isJsonContentType } from './diff.ts';
export { diffHeaders, normalizeHeaders } from './headers.ts';
export { diffJsonBodies } from './json-diff.ts';
export { JsonScanError } from './json-scan.ts';
export { childIndex, childKey, generalizePath, compilePathGlobs, compileHeaderGlobs } from './path.ts';
export { judgeField, DEFAULT_THRESHOLDS, type FieldJudgement, type NoiseThresholds } from './noise.ts';
export { createEndpointResolver, normalizePath, type EndpointPattern, type EndpointResolver } from './endpoint.ts';
export {
  REDACTED_HEADERS,
  summarizeExchange,
  type CompareExample,
  type CompareRequest,
  type MessageRole,
  type MessageSummary,
  type RedactFn,
  type RequestSummary,
  type ResponseSummary,
} from './examples.ts';
export {
  createCompareCollector,
  OTHER_ENDPOINTS,
  OTHER_FIELDS,
  type CompareCollector,
  type CompareCollectorOptions,
  type CompareEndpoint,
  type CompareRecord,
} from './collector.ts';
export { compareEventFields, eventFieldList, MAX_EVENT_FIELDS, type CompareEventFields } from './events.ts';
export type { CompareReport, CountPercent, EndpointReport, FieldReport } from './report-types.ts';
export { formatTextReport, formatJsonReport, describeDifference, type TextReportOptions } from './report-text.ts';
export {
  compareSchema,
  compareEndpointSchema,
  compareIgnoreSchema,
  compareThresholdsSchema,
  collectorOptionsFromConfig,
  parseCompareConfig,
  isSafeMethod,
  COMPARE_DEFAULTS,
  type CompareConfig,
  type CompareEndpointConfig,
} from './config.ts';
