/**
 * Compiles a JsonLogic rule (with flagd's custom operators) into a tree of closures, once per flag-set
 * change, so an evaluation is a few direct function calls rather than a walk over JSON.
 *
 * Written by hand rather than with json-logic-js / json-logic-engine because (a) flagd's semantics differ
 * from both in places (docs/flags.md lists them), (b) hostile rules must be refused when loaded, with a path,
 * and (c) `$flagd.*` and the context must be read without copying the context per evaluation.
 */
import type { CompiledRule, FlagIssue, RuleEnv } from '../types.ts';
import { OPERATORS } from './operators.ts';
import { constant } from './values.ts';

export interface LogicLimits {
  /** Deepest nesting of objects/arrays allowed in one rule. */
  maxDepth: number;
  /** Most JSON nodes allowed in one rule, after `$ref` expansion. */
  maxNodes: number;
}

export const DEFAULT_LOGIC_LIMITS: LogicLimits = { maxDepth: 40, maxNodes: 20_000 };

/** What operator builders get: a way to compile their arguments and to report problems. */
export interface Compiler {
  compile(node: unknown, path: string, depth: number, inner: boolean): CompiledRule;
  issue(path: string, message: string): void;
  /** Path of argument `i` under an operator: `if[1]`, or just `!` when the argument was not written as an array. */
  at(path: string, i: number): string;
  /** Set when a rule reads `$flagd.timestamp`, so the evaluator only reads the clock when needed. */
  usesTimestamp: boolean;
}

export type OperatorBuilder = (
  args: unknown[],
  c: Compiler,
  path: string,
  depth: number,
  inner: boolean,
) => CompiledRule;

export interface CompileOptions {
  limits?: LogicLimits;
  /** Shared evaluators, for `{"$ref": "name"}`; referenced, not copied, so the node limit still bounds work. */
  refs?: Record<string, unknown>;
  /** Filled with the names of the shared evaluators the rule used. */
  refsUsed?: Set<string>;
  /** Compile as a shared evaluator itself (so a nested `$ref` is reported). */
  inRef?: boolean;
}

export interface CompiledLogic {
  rule: CompiledRule;
  usesTimestamp: boolean;
}

/**
 * Compiles one targeting rule. Problems are appended to `issues` (and `null` returned) rather than thrown.
 *
 * @example
 *   const issues = [];
 *   const out = compileLogic({ '==': [{ var: 'tier' }, 'gold'] }, 'flags.x.targeting', issues);
 *   out?.rule({ tier: 'gold' }, { ctx: { tier: 'gold' }, flagKey: 'x', timestamp: 0 }); // true
 */
export function compileLogic(
  rule: unknown,
  path: string,
  issues: FlagIssue[],
  options: CompileOptions = {},
): CompiledLogic | null {
  const limits = options.limits ?? DEFAULT_LOGIC_LIMITS;
  const refs = options.refs;
  let nodes = 0;
  let tooBig = false;
  let inRef = false;
  const before = issues.length;
  const scalarArgs = new Set<string>();
  const c: Compiler = {
    usesTimestamp: false,
    at(p, i) {
      return i === 0 && scalarArgs.has(p) ? p : `${p}[${i}]`;
    },
    issue(p, message) {
      issues.push({ path: p, message });
    },
    compile(node, p, depth, inner) {
      if (tooBig) return constant(null);
      if (++nodes > limits.maxNodes) {
        tooBig = true;
        c.issue(path, `rule has more than ${limits.maxNodes} nodes — split it into several flags or use shared $evaluators sparingly`);
        return constant(null);
      }
      if (depth > limits.maxDepth) {
        tooBig = true;
        c.issue(p, `rule nests deeper than ${limits.maxDepth} levels — flatten it (e.g. one "if" with several condition/value pairs instead of nested ifs)`);
        return constant(null);
      }
      if (node === null || typeof node !== 'object') {
        if (typeof node === 'number' && !Number.isFinite(node)) c.issue(p, 'numbers must be finite');
        return constant(node);
      }
      if (Array.isArray(node)) return compileArray(node, c, p, depth, inner);
      const keys = Object.keys(node);
      if (keys.length !== 1) {
        c.issue(p, keys.length === 0
          ? 'empty object is not a rule — remove it, or write an operator such as {"var": "email"}'
          : `a rule object must have exactly one operator key, found ${keys.length} (${keys.slice(0, 4).join(', ')}) — wrap literal objects' logic in separate operators`);
        return constant(null);
      }
      const op = keys[0];
      const raw = (node as Record<string, unknown>)[op];
      if (op === '$ref' && typeof raw === 'string' && refs && Object.hasOwn(refs, raw)) {
        if (inRef) {
          c.issue(`${p}.$ref`, `shared evaluators cannot reference other shared evaluators ("${raw}") — inline it, as flagd requires`);
          return constant(null);
        }
        options.refsUsed?.add(raw);
        inRef = true;
        try {
          return c.compile(refs[raw], `${p}.$ref(${raw})`, depth, inner);
        } finally {
          inRef = false;
        }
      }
      const build = Object.hasOwn(OPERATORS, op) ? OPERATORS[op] : undefined;
      if (!build) {
        c.issue(`${p}.${op}`, op === '$ref'
          ? `unknown shared evaluator ${JSON.stringify(raw)} — define it under "$evaluators"`
          : `unknown operator "${op}" — supported: ${Object.keys(OPERATORS).join(', ')}`);
        return constant(null);
      }
      const args = Array.isArray(raw) ? raw : [raw];
      if (!Array.isArray(raw)) scalarArgs.add(`${p}.${op}`);
      return build(args, c, `${p}.${op}`, depth + 1, inner);
    },
  };
  if (options.inRef) inRef = true;
  const fn = c.compile(rule, path, 0, false);
  if (issues.length > before) return null;
  return { rule: fn, usesTimestamp: c.usesTimestamp };
}

function compileArray(node: unknown[], c: Compiler, p: string, depth: number, inner: boolean): CompiledRule {
  const fns = node.map((n, i) => c.compile(n, `${p}[${i}]`, depth + 1, inner));
  if (node.every((n) => n === null || typeof n !== 'object')) {
    const literal = Object.freeze(node.slice());
    return () => literal;
  }
  return (data, env) => fns.map((f) => f(data, env));
}

export { constant, truthy } from './values.ts';
export type { RuleEnv };
