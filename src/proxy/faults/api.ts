import { z } from 'zod';
import { WeirError } from '../../errors.ts';
import { checkFaultRules, faultRuleSchema, faultRulesOf } from './config.ts';
import type { FaultPolicy, FaultRule } from './config.ts';

/**
 * Validates fault rules sent to the API (a drill, an operator) against a service and its policy, with
 * every problem and its path. `durationMs` makes the rules expire on their own (`until`), so a drill
 * whose driver dies still ends.
 * @example parseFaultRules([{ scope: 'everyone', percent: 5, delay: { fixed: 200 } }], ['stable'], policy, Date.now(), 60_000)
 */
export function parseFaultRules(input: unknown, versions: readonly string[], policy: FaultPolicy, now: number, durationMs?: number): FaultRule[] {
  const r = z.array(faultRuleSchema).safeParse(input);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `faults${i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}: ${i.message}`);
    throw new WeirError('VALIDATION_FAILED', `invalid fault rules: ${problems.join('; ')}`, { details: { problems } });
  }
  const problems = checkFaultRules(r.data, versions, policy).map(([p, m]) => `faults${p.map((x) => (typeof x === 'number' ? `[${x}]` : `.${x}`)).join('')}: ${m}`);
  if (problems.length) throw new WeirError('VALIDATION_FAILED', `invalid fault rules: ${problems.join('; ')}`, { details: { problems } });
  if (durationMs !== undefined && !(Number.isFinite(durationMs) && durationMs > 0)) throw new WeirError('VALIDATION_FAILED', 'durationMs must be a positive number of milliseconds');
  const rules = faultRulesOf(r.data);
  if (durationMs !== undefined) for (const rule of rules) rule.until = now + durationMs;
  return rules;
}
