import type { BodyMode, DiffRules } from './types.ts';
import { compileHeaderGlobs, compilePathGlobs, type GlobSet } from './path.ts';

/**
 * Headers ignored by default: they differ between any two responses (dates, ids, tracing, cookies,
 * caching validators) or follow from the body (length, encoding) whose own difference is reported.
 */
export const DEFAULT_IGNORED_HEADERS: readonly string[] = [
  'date',
  'age',
  'expires',
  'last-modified',
  'etag',
  'set-cookie',
  'cookie',
  'x-request-id',
  'request-id',
  'x-correlation-id',
  'x-amzn-trace-id',
  'x-trace-id',
  'x-trace',
  'traceparent',
  'tracestate',
  'x-b3-*',
  'b3',
  'uber-trace-id',
  'server-timing',
  'x-response-time',
  'x-runtime',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'via',
];

/** Rules ready for the diff's hot path. Build with {@link compileRules}. */
export interface CompiledRules {
  readonly ignoreHeaders: GlobSet;
  readonly ignorePaths: GlobSet;
  readonly arraysAsSets: GlobSet;
  readonly ignoreStatus: boolean;
  readonly ignoreAllHeaders: boolean;
  readonly bodyMode: BodyMode;
  readonly maxValueChars: number;
  readonly maxDifferences: number;
  readonly maxJsonBytes: number;
}

/**
 * Compiles diff rules (globs into regular expressions). Compile once per endpoint, not per request.
 * @example
 * const rules = compileRules({ ignorePaths: ['meta.generatedAt'], arraysAsSets: ['tags'] });
 * diffResponses(primary, candidate, rules);
 */
export function compileRules(rules: DiffRules = {}): CompiledRules {
  const headers = rules.replaceDefaultIgnoredHeaders
    ? [...(rules.ignoreHeaders ?? [])]
    : [...DEFAULT_IGNORED_HEADERS, ...(rules.ignoreHeaders ?? [])];
  return {
    ignoreHeaders: compileHeaderGlobs(headers),
    ignorePaths: compilePathGlobs(rules.ignorePaths ?? []),
    arraysAsSets: compilePathGlobs(rules.arraysAsSets ?? []),
    ignoreStatus: rules.ignoreStatus ?? false,
    ignoreAllHeaders: rules.ignoreAllHeaders ?? false,
    bodyMode: rules.bodyMode ?? 'auto',
    maxValueChars: rules.maxValueChars ?? 200,
    maxDifferences: rules.maxDifferences ?? 100,
    maxJsonBytes: rules.maxJsonBytes ?? 8 * 1024 * 1024,
  };
}

/**
 * Rules for one endpoint: the service-wide rules with the endpoint's added (lists are concatenated,
 * scalars of the endpoint win).
 * @example mergeRules({ ignorePaths: ['meta.ts'] }, { ignorePaths: ['items[*].seen'] })
 *   // → { ignorePaths: ['meta.ts', 'items[*].seen'], ... }
 */
export function mergeRules(service: DiffRules = {}, endpoint: DiffRules = {}): DiffRules {
  const list = (a?: readonly string[], b?: readonly string[]): string[] => [...(a ?? []), ...(b ?? [])];
  return {
    ...service,
    ...withoutUndefined(endpoint),
    ignoreHeaders: list(service.ignoreHeaders, endpoint.ignoreHeaders),
    ignorePaths: list(service.ignorePaths, endpoint.ignorePaths),
    arraysAsSets: list(service.arraysAsSets, endpoint.arraysAsSets),
  };
}

/**
 * A copy of `o` without its undefined properties, so that spreading it over defaults keeps them.
 * @example withoutUndefined({ a: 1, b: undefined }) // → { a: 1 }
 */
export function withoutUndefined<T extends object>(o: T | undefined): Partial<T> {
  const out: Partial<T> = {};
  if (o) for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
