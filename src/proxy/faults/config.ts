import { z } from 'zod';
import { byteCount, durationMs, requestMatchOf, requestMatchSchema } from '../zod-units.ts';
import type { RequestMatch } from '../zod-units.ts';

/**
 * The `faults:` block of a service: injected delays, aborts and throttling for a share of requests,
 * scoped and capped, like Envoy's fault filter. See docs/fault-injection.md.
 *
 * ```yaml
 * services:
 *   shop:
 *     faults:
 *       maxActive: 3
 *       maxPercent: 10
 *       errorBudget: { maxErrorRate: 0.05, window: 1m, minRequests: 50 }
 *       rules:
 *         - name: slow-checkout
 *           match: { pathPrefix: /checkout }
 *           scope: everyone
 *           percent: 5
 *           delay: { fixed: 300ms }
 *         - { name: flaky, version: canary, scope: test, abort: { status: 503 } }
 * ```
 */

const delaySchema = z.union([
  z.strictObject({ fixed: durationMs }),
  z.strictObject({ uniform: z.strictObject({ min: durationMs, max: durationMs }) }),
  /** Exponentially distributed with this mean, cut at `max` (default 10 × mean). */
  z.strictObject({ exponential: z.strictObject({ mean: durationMs, max: durationMs.optional() }) }),
]);

const abortSchema = z.union([
  z.strictObject({ status: z.number().int().min(400).max(599) }),
  /** Close the client connection without an answer. */
  z.strictObject({ reset: z.literal(true) }),
]);

/** Who a fault applies to. */
const scopeSchema = z.union([
  z.enum(['everyone', 'test', 'cohort']),
  z.strictObject({ header: z.string().min(1), value: z.string().optional() }),
]);

/**
 * One fault rule.
 * @example faultRuleSchema.parse({ name: 'flaky', version: 'canary', abort: { status: 503 } })
 */
export const faultRuleSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: 'fault names use letters, digits, ., _ and -' }).optional(),
  /** Only requests routed to this version. Default: any. */
  version: z.string().optional(),
  /** Only these requests (the route scope): methods, pathPrefix, pathPattern, headers. */
  match: requestMatchSchema.optional(),
  /**
   * `test` (requests with a valid test token; the default), `cohort` (requests routed by a cohort
   * rule), `everyone`, or `{ header: NAME, value: V }`.
   */
  scope: scopeSchema.optional(),
  /** Share of the scoped requests hit, percent. Default 100. */
  percent: z.number().min(0).max(100).optional(),
  delay: delaySchema.optional(),
  abort: abortSchema.optional(),
  throttle: z.strictObject({ bytesPerSecond: byteCount }).optional(),
});

/**
 * The `faults:` block (see the top of this file for the YAML).
 * @example faultsSchema.parse({ maxPercent: 10, rules: [{ scope: 'everyone', percent: 5, delay: { fixed: '300ms' } }] })
 */
export const faultsSchema = z.strictObject({
  rules: z.array(faultRuleSchema).optional(),
  /** Most rules active at once (blast radius). Default 5. */
  maxActive: z.number().int().min(0).optional(),
  /** Highest percent a rule not scoped to test traffic may hit (blast radius). Default 25. */
  maxPercent: z.number().min(0).max(100).optional(),
  /** Stop every fault of the service when its live error rate passes this budget; `false` turns it off. */
  errorBudget: z.union([z.literal(false), z.strictObject({
    /** Share of live requests answered ≥ 500, 0..1. Default 0.05. */
    maxErrorRate: z.number().gt(0).max(1).optional(),
    /** The window the rate is measured over. Default 60 s. */
    window: durationMs.optional(),
    /** No stop before this many live requests in the window. Default 20. */
    minRequests: z.number().int().positive().optional(),
  })]).optional(),
  /** Honour `x-weir-fault-delay-ms` / `x-weir-fault-abort-status` on requests with a valid test token. Default true. */
  headerFaults: z.boolean().optional(),
});

export type FaultRuleConfig = z.output<typeof faultRuleSchema>;
export type FaultsConfig = z.output<typeof faultsSchema>;

export type FaultScope = 'everyone' | 'test' | 'cohort' | { header: string; value?: string };
export type FaultDelay = { fixed: number } | { uniform: { min: number; max: number } } | { exponential: { mean: number; max?: number } };

/** One fault rule in the routing table (JSON-serialisable). */
export interface FaultRule {
  name: string;
  version?: string;
  match: RequestMatch;
  scope: FaultScope;
  percent: number;
  delay?: FaultDelay;
  abort?: { status: number } | { reset: true };
  throttle?: { bytesPerSecond: number };
  /** Epoch ms after which the rule no longer applies (rules set through the API with a duration). */
  until?: number;
}

/** A service's fault policy in the routing table. */
export interface FaultPolicy {
  maxActive: number;
  maxPercent: number;
  /** null = no automatic stop. */
  errorBudget: { maxErrorRate: number; windowMs: number; minRequests: number } | null;
  headerFaults: boolean;
}

export const FAULT_DEFAULTS = { maxActive: 5, maxPercent: 25, maxErrorRate: 0.05, windowMs: 60_000, minRequests: 20, maxHeaderDelayMs: 60_000 } as const;

/**
 * The table's rules for parsed rule configs (names default to `fault-<i>`).
 * @example faultRulesOf([faultRuleSchema.parse({ abort: { status: 503 } })])[0].scope // → 'test'
 */
export function faultRulesOf(rules: readonly FaultRuleConfig[]): FaultRule[] {
  return rules.map((r, i) => {
    const out: FaultRule = { name: r.name ?? `fault-${i + 1}`, match: requestMatchOf(r.match), scope: r.scope ?? 'test', percent: r.percent ?? 100 };
    if (r.version !== undefined) out.version = r.version;
    if (r.delay) out.delay = r.delay;
    if (r.abort) out.abort = r.abort;
    if (r.throttle) out.throttle = r.throttle;
    return out;
  });
}

/** The table's policy for a `faults:` block (or the defaults without one). */
export function faultPolicyOf(c: FaultsConfig | undefined): FaultPolicy {
  const b = c?.errorBudget;
  return {
    maxActive: c?.maxActive ?? FAULT_DEFAULTS.maxActive,
    maxPercent: c?.maxPercent ?? FAULT_DEFAULTS.maxPercent,
    errorBudget: b === false ? null : {
      maxErrorRate: b?.maxErrorRate ?? FAULT_DEFAULTS.maxErrorRate,
      windowMs: b?.window ?? FAULT_DEFAULTS.windowMs,
      minRequests: b?.minRequests ?? FAULT_DEFAULTS.minRequests,
    },
    headerFaults: c?.headerFaults ?? true,
  };
}

/**
 * Cross-field checks of a rule list against a service and its policy: each problem as `[path, message]`
 * (paths relative to the rule list). Used by config validation and by the faults API.
 * @example checkFaultRules([{ version: 'nope', abort: { status: 503 } }], ['stable'], faultPolicyOf(undefined))
 */
export function checkFaultRules(rules: readonly FaultRuleConfig[], versions: readonly string[], policy: FaultPolicy): Array<[Array<string | number>, string]> {
  const out: Array<[Array<string | number>, string]> = [];
  if (rules.length > policy.maxActive) out.push([[], `${rules.length} fault rules are more than maxActive ${policy.maxActive}; remove some or raise faults.maxActive`]);
  const names = new Set<string>();
  rules.forEach((r, i) => {
    if (r.version !== undefined && !versions.includes(r.version)) out.push([[i, 'version'], `no version named "${r.version}" (versions: ${versions.join(', ')})`]);
    if (!r.delay && !r.abort && !r.throttle) out.push([[i], 'give at least one of delay, abort or throttle']);
    const scope = r.scope ?? 'test';
    const percent = r.percent ?? 100;
    if (scope !== 'test' && percent > policy.maxPercent) out.push([[i, 'percent'], `${percent}% is above maxPercent ${policy.maxPercent} for a fault not scoped to test traffic; lower it, scope it to test, or raise faults.maxPercent`]);
    if (r.delay && 'uniform' in r.delay && r.delay.uniform.min > r.delay.uniform.max) out.push([[i, 'delay', 'uniform'], 'min is above max']);
    if (r.name !== undefined) {
      if (names.has(r.name)) out.push([[i, 'name'], `another rule is named "${r.name}"`]);
      names.add(r.name);
    }
  });
  return out;
}
