/**
 * flagd's custom operators: `fractional`, `starts_with`, `ends_with`, `sem_ver`. Invalid input gives null,
 * never an exception (flagd: "custom operations return null on invalid or unexpected inputs").
 * Semantics follow flagd's Go core (core/pkg/evaluator); docs/flags.md lists where the JS core differs.
 */
import { murmur3 } from '../../util/murmur3.ts';
import type { CompiledRule, RuleEnv } from '../types.ts';
import type { Compiler, OperatorBuilder } from './compile.ts';
import { compareSemVer, parseSemVer } from './semver.ts';

const MAX_INT32 = 2147483647;

function argsOf(args: unknown[], c: Compiler, path: string, depth: number, inner: boolean): CompiledRule[] {
  return args.map((a, i) => c.compile(a, c.at(path, i), depth, inner));
}

/**
 * Maps a 32-bit hash onto [0, totalWeight) as `(hash × totalWeight) >> 32`, exactly: the product can reach
 * 2^63, beyond a double's 53 bits, so it is split into two 16-bit halves (no BigInt on the hot path).
 */
export function bucketOf(hash: number, totalWeight: number): number {
  const hi = Math.floor(hash / 65536);
  const lo = hash % 65536;
  return Math.floor((hi * totalWeight + Math.floor((lo * totalWeight) / 65536)) / 65536);
}

/** The fractional decision over already-evaluated arguments; exported for tests and the proxy. */
export function fractional(values: unknown[], env: RuleEnv): unknown {
  if (values.length < 1) return null;
  let bucketBy: string;
  let start = 0;
  const first = values[0];
  if (typeof first === 'string') {
    bucketBy = first;
    start = 1;
  } else {
    if (first === null || first === undefined) start = 1;
    const tk = env.ctx.targetingKey;
    if (typeof tk !== 'string' || tk === '') return null;
    bucketBy = env.flagKey + tk;
  }
  let total = 0;
  const n = values.length - start;
  const variants = new Array<unknown>(n);
  const weights = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const entry = values[start + i];
    if (!Array.isArray(entry) || entry.length === 0) return null;
    const v = entry[0];
    if (v !== null && v !== undefined && typeof v !== 'string' && typeof v !== 'boolean' && typeof v !== 'number') return null;
    let w = 1;
    if (entry.length >= 2 && entry[1] !== null && entry[1] !== undefined) {
      const raw = entry[1];
      if (typeof raw !== 'number' || !Number.isInteger(raw)) return null;
      if (raw > MAX_INT32) return null;
      w = raw < 0 ? 0 : raw;
    }
    variants[i] = v ?? null;
    weights[i] = w;
    total += w;
  }
  if (total > MAX_INT32 || total === 0) return null;
  const bucket = bucketOf(murmur3(bucketBy), total);
  let end = 0;
  for (let i = 0; i < n; i++) {
    end += weights[i];
    if (bucket < end) return variants[i];
  }
  return null;
}

export const buildFractional: OperatorBuilder = (args, c, path, depth, inner) => {
  if (args.length < 1) c.issue(path, 'fractional needs at least one [variant, weight] bucket');
  const fns = argsOf(args, c, path, depth, inner);
  return (data, env) => {
    const values = new Array(fns.length);
    for (let i = 0; i < fns.length; i++) values[i] = fns[i](data, env);
    return fractional(values, env);
  };
};

function stringTest(test: (s: string, t: string) => boolean): OperatorBuilder {
  return (args, c, path, depth, inner) => {
    if (args.length !== 2) c.issue(path, 'takes exactly two arguments: [value, prefix-or-suffix]');
    const [a, b] = argsOf(args, c, path, depth, inner);
    return (data, env) => {
      const s = a(data, env);
      if (typeof s !== 'string') return null;
      const t = b(data, env);
      return typeof t === 'string' ? test(s, t) : null;
    };
  };
}

export const buildStartsWith = stringTest((s, t) => s.startsWith(t));
export const buildEndsWith = stringTest((s, t) => s.endsWith(t));

const SEMVER_OPS = new Set(['=', '!=', '<', '<=', '>=', '>', '^', '~']);

export function semVerOp(actual: unknown, op: unknown, target: unknown): boolean | null {
  const a = parseSemVer(actual);
  if (!a || typeof op !== 'string') return null;
  const b = parseSemVer(target);
  if (!b || !SEMVER_OPS.has(op)) return null;
  switch (op) {
    case '^': return a.major === b.major;
    case '~': return a.major === b.major && a.minor === b.minor;
  }
  const r = compareSemVer(a, b);
  switch (op) {
    case '=': return r === 0;
    case '!=': return r !== 0;
    case '<': return r < 0;
    case '<=': return r <= 0;
    case '>=': return r >= 0;
    default: return r > 0;
  }
}

export const buildSemVer: OperatorBuilder = (args, c, path, depth, inner) => {
  if (args.length !== 3) c.issue(path, 'sem_ver takes [version, operator, version], e.g. [{"var": "appVersion"}, ">=", "1.2.0"]');
  else if (typeof args[1] === 'string' && !SEMVER_OPS.has(args[1])) {
    c.issue(c.at(path, 1), `unknown sem_ver operator "${args[1]}" — use one of ${[...SEMVER_OPS].join(' ')}`);
  }
  const [a, op, b] = argsOf(args, c, path, depth, inner);
  return (data, env) => semVerOp(a(data, env), op(data, env), b(data, env));
};
