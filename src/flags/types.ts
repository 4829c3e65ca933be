/**
 * Types shared by the flag loader, the evaluator, the registry and the OFREP server.
 * Reason and error-code strings are OpenFeature's (and flagd's), so they cross the wire unchanged.
 */

/** A JSON value as it appears in a flag definition or an evaluation context. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A variant's value: the four OpenFeature flag types. Arrays and null are refused at load, like flagd's schema. */
export type FlagValue = boolean | string | number | { [key: string]: JsonValue };

export type FlagType = 'boolean' | 'string' | 'number' | 'object';

/** Flag and flag-set metadata: flat, primitive values only (flagd schema, OpenFeature FlagMetadata). */
export type FlagMetadata = Record<string, string | number | boolean>;

/** What the caller knows about the subject: `targetingKey` plus any attributes. */
export type EvaluationContext = Record<string, unknown>;

export const REASONS = {
  STATIC: 'STATIC',
  TARGETING_MATCH: 'TARGETING_MATCH',
  DEFAULT: 'DEFAULT',
  DISABLED: 'DISABLED',
  ERROR: 'ERROR',
} as const;
export type Reason = (typeof REASONS)[keyof typeof REASONS];

export const FLAG_ERROR_CODES = {
  FLAG_NOT_FOUND: 'FLAG_NOT_FOUND',
  TYPE_MISMATCH: 'TYPE_MISMATCH',
  PARSE_ERROR: 'PARSE_ERROR',
  GENERAL: 'GENERAL',
  TARGETING_KEY_MISSING: 'TARGETING_KEY_MISSING',
  INVALID_CONTEXT: 'INVALID_CONTEXT',
} as const;
export type FlagErrorCode = (typeof FLAG_ERROR_CODES)[keyof typeof FLAG_ERROR_CODES];

/**
 * The outcome of one evaluation. Never thrown: errors are data.
 * `value`/`variant` are absent when the flag defers to the caller's code default
 * (DISABLED, no defaultVariant, or an error) — the typed resolvers fill in the default.
 */
export interface Resolution<T = FlagValue> {
  value: T | undefined;
  variant: string | undefined;
  reason: Reason;
  errorCode?: FlagErrorCode;
  errorMessage?: string;
  flagMetadata: FlagMetadata;
}

/** A typed resolution: `value` is always set (the code default when the flag has none). */
export interface TypedResolution<T> extends Resolution<T> {
  value: T;
}

/** A compiled targeting rule: pure, synchronous, never allocates for plain `var` lookups. */
export type CompiledRule = (data: unknown, env: RuleEnv) => unknown;

/** Per-evaluation values injected by flagd as `$flagd.*`, plus the root context. */
export interface RuleEnv {
  ctx: EvaluationContext;
  flagKey: string;
  /** Unix seconds, from the clock passed in. */
  timestamp: number;
}

export interface CompiledFlag {
  readonly key: string;
  readonly state: 'ENABLED' | 'DISABLED';
  readonly variants: ReadonlyMap<string, FlagValue>;
  readonly defaultVariant: string | null;
  readonly type: FlagType;
  readonly targeting: CompiledRule | null;
  /** The rule reads `$flagd.timestamp`, so the evaluator reads the clock. */
  readonly usesTimestamp: boolean;
  /** Effective metadata: flag-set metadata overlaid with the flag's own (flagd's precedence). */
  readonly metadata: FlagMetadata;
  /** Where the flag came from (file name), for messages. */
  readonly source: string;
  /** Canonical JSON of the definition, to tell whether a flag changed between two sets. */
  readonly fingerprint: string;
  /** Flags that must have one of the given variants for this one to apply (Weir's extension). */
  readonly prerequisites: readonly Prerequisite[];
  /**
   * The flag as a self-contained flagd definition: `$ref`s inlined, effective metadata included. What the
   * flags API, the provider stream and the routing table carry.
   */
  readonly definition: { [key: string]: JsonValue };
}

/** `{ flag: 'new-checkout', variants: ['on'] }`: applies only when `new-checkout` evaluates to `on`. */
export interface Prerequisite {
  flag: string;
  variants: string[];
}

export interface CompiledFlagSet {
  readonly flags: ReadonlyMap<string, CompiledFlag>;
  readonly metadata: FlagMetadata;
  readonly sources: readonly string[];
}

/** One problem found while loading, with a path into the document and what to do about it. */
export interface FlagIssue {
  path: string;
  message: string;
  source?: string;
}

export type LoadResult =
  | { ok: true; set: CompiledFlagSet }
  | { ok: false; errors: FlagIssue[] };
