/**
 * Flag evaluation with flagd's semantics (Go core, core/pkg/evaluator/json.go): STATIC without targeting,
 * TARGETING_MATCH when the rule names a variant, DEFAULT when it returns null, ERROR/GENERAL when it returns
 * something that is not a variant, DISABLED for disabled flags. Never throws.
 */
import type {
  CompiledFlag, CompiledFlagSet, EvaluationContext, FlagErrorCode, FlagType, FlagValue, Resolution,
  RuleEnv, TypedResolution,
} from './types.ts';
import { isPlainObject } from './util.ts';

/** Milliseconds since the epoch; passed in so evaluations are reproducible in tests. */
export type Clock = () => number;

/** The evaluation time: a number (ms), or a clock read only when a rule uses `$flagd.timestamp`. */
export type Now = number | Clock;

function error(code: FlagErrorCode, message: string, flagMetadata: Resolution['flagMetadata']): Resolution {
  return { value: undefined, variant: undefined, reason: 'ERROR', errorCode: code, errorMessage: message, flagMetadata };
}

/** How flagd turns a rule's result into a variant name: strings as they are, true/false/numbers as text. */
function variantName(result: unknown): string | null {
  switch (typeof result) {
    case 'string': return result;
    case 'boolean': return result ? 'true' : 'false';
    case 'number': return String(result);
    default: return null;
  }
}

/**
 * Evaluates one flag of a compiled set for a context, as flagd does. `value`/`variant` are undefined when
 * the flag defers to the code default (DISABLED, no defaultVariant, errors).
 *
 * @example
 *   const r = evaluateFlag(set, 'new-checkout', { targetingKey: 'u-1', email: 'a@example.com' }, Date.now());
 *   // { value: true, variant: 'on', reason: 'TARGETING_MATCH', flagMetadata: {} }
 */
export function evaluateFlag(set: CompiledFlagSet, key: string, context: unknown, now: Now): Resolution {
  const flag = set.flags.get(key);
  if (!flag) return error('FLAG_NOT_FOUND', `flag '${key}' not found`, set.metadata);
  return evaluateCompiled(flag, context, now, set);
}

/** Prerequisite chains deeper than this are refused at evaluation (the loader already refuses cycles). */
const MAX_PREREQUISITE_DEPTH = 16;

/**
 * Evaluates one compiled flag; any failure (a hostile Proxy context, a throwing clock) becomes GENERAL.
 * `set` is where its prerequisites are looked up; without it a flag with prerequisites is an error.
 */
export function evaluateCompiled(flag: CompiledFlag, context: unknown, now: Now, set?: CompiledFlagSet, depth = 0): Resolution {
  try {
    return evaluateUnguarded(flag, context, now, set, depth);
  } catch {
    return error('GENERAL', `error evaluating flag '${flag.key}'`, flag.metadata);
  }
}

/** True when every prerequisite evaluates to one of its variants; a missing, disabled or erroring one is unmet. */
function prerequisitesMet(flag: CompiledFlag, context: unknown, now: Now, set: CompiledFlagSet | undefined, depth: number): boolean | 'error' {
  if (!set || depth >= MAX_PREREQUISITE_DEPTH) return 'error';
  for (const p of flag.prerequisites) {
    const dep = set.flags.get(p.flag);
    if (!dep) return false;
    const r = evaluateCompiled(dep, context, now, set, depth + 1);
    if (r.variant === undefined || !p.variants.includes(r.variant)) return false;
  }
  return true;
}

function evaluateUnguarded(flag: CompiledFlag, context: unknown, now: Now, set: CompiledFlagSet | undefined, depth: number): Resolution {
  const meta = flag.metadata;
  if (flag.state === 'DISABLED') return { value: undefined, variant: undefined, reason: 'DISABLED', flagMetadata: meta };
  let variant: string | null = flag.defaultVariant;
  let reason: Resolution['reason'] = 'STATIC';
  if (flag.prerequisites.length) {
    const met = prerequisitesMet(flag, context, now, set, depth);
    if (met === 'error') return error('GENERAL', `prerequisites of flag '${flag.key}' could not be evaluated (chain too deep)`, meta);
    // Unmet: the flag's own targeting does not run; it serves its defaultVariant (or the code default) with reason DEFAULT.
    if (!met) {
      if (variant === null) return { value: undefined, variant: undefined, reason: 'DEFAULT', flagMetadata: meta };
      return { value: flag.variants.get(variant), variant, reason: 'DEFAULT', flagMetadata: meta };
    }
  }
  if (flag.targeting !== null) {
    const ctx = context ?? {};
    if (!isPlainObject(ctx)) return error('INVALID_CONTEXT', 'evaluation context must be an object', meta);
    const env: RuleEnv = { ctx, flagKey: flag.key, timestamp: flag.usesTimestamp ? Math.floor((typeof now === 'number' ? now : now()) / 1000) : 0 };
    const result = flag.targeting(ctx, env);
    if (result === null || result === undefined) {
      reason = 'DEFAULT';
    } else {
      const name = variantName(result);
      if (name === null || !flag.variants.has(name)) {
        return error('GENERAL', `targeting returned ${describeResult(result)}, which is not a variant of flag '${flag.key}'`, meta);
      }
      variant = name;
      reason = 'TARGETING_MATCH';
    }
  }
  if (variant === null) return { value: undefined, variant: undefined, reason: 'DEFAULT', flagMetadata: meta };
  return { value: flag.variants.get(variant), variant, reason, flagMetadata: meta };
}

function describeResult(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'object') return Array.isArray(v) ? 'an array' : 'an object';
  return String(v);
}

function typeMatches(value: FlagValue, type: FlagType): boolean {
  return type === 'object' ? isPlainObject(value) : typeof value === type;
}

/**
 * Evaluates and checks the type: TYPE_MISMATCH when the variant's value is not a `type`; the code default
 * fills `value` whenever the flag gives none.
 *
 * @example
 *   resolveTyped(set, 'new-checkout', 'boolean', false, ctx, Date.now()).value // true or false
 */
export function resolveTyped<T extends FlagValue>(
  set: CompiledFlagSet, key: string, type: FlagType, defaultValue: T, context: unknown, now: Now,
): TypedResolution<T> {
  const r = evaluateFlag(set, key, context, now);
  if (r.value === undefined) return { ...r, value: defaultValue } as TypedResolution<T>;
  if (!typeMatches(r.value, type)) {
    return {
      value: defaultValue, variant: r.variant, reason: 'ERROR', errorCode: 'TYPE_MISMATCH',
      errorMessage: `flag '${key}' is a ${Array.isArray(r.value) ? 'array' : typeof r.value} flag, not ${type}`,
      flagMetadata: r.flagMetadata,
    };
  }
  return r as TypedResolution<T>;
}

/** Typed resolvers bound to a set and a clock: what the registry and the provider expose. */
export interface FlagResolvers {
  evaluate(key: string, context?: EvaluationContext): Resolution;
  resolveBoolean(key: string, defaultValue: boolean, context?: EvaluationContext): TypedResolution<boolean>;
  resolveString(key: string, defaultValue: string, context?: EvaluationContext): TypedResolution<string>;
  resolveNumber(key: string, defaultValue: number, context?: EvaluationContext): TypedResolution<number>;
  resolveObject<T extends FlagValue>(key: string, defaultValue: T, context?: EvaluationContext): TypedResolution<T>;
}

/**
 * Evaluates every flag (enabled and disabled, as flagd's Go core does for bulk requests), in key order.
 *
 * @example
 *   for (const [key, r] of evaluateAll(set, ctx, Date.now())) console.log(key, r.value);
 */
export function evaluateAll(set: CompiledFlagSet, context: unknown, now: Now): [string, Resolution][] {
  const out: [string, Resolution][] = [];
  const t = typeof now === 'number' ? now : now();
  for (const flag of set.flags.values()) out.push([flag.key, evaluateCompiled(flag, context, t, set)]);
  return out;
}
