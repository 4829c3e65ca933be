/**
 * flagd's custom operators: `fractional`, `starts_with`, `ends_with`, `sem_ver`. Invalid input gives null,
 * never an exception (flagd: "custom operations return null on invalid or unexpected inputs").
 * Semantics follow flagd's Go core (core/pkg/evaluator); docs/flags.md lists where the JS core differs.
 */
import { murmur3 } from '../../util/murmur3.ts';
import type { CompiledRule, RuleEnv } from '../types.ts';
import type { Compiler, OperatorBuilder } from './compile.ts';
import { compareSemVer, parseSemVer } from './semver.ts';
import { plainVar } from './vars.ts';
import type { SemVer } from './semver.ts';

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

interface Distribution {
  variants: unknown[];
  weights: number[];
  total: number;
}

/** Parses `[variant, weight?]` entries from `start` on, as flagd Go does; null when any entry is invalid. */
function distribution(values: readonly unknown[], start: number): Distribution | null {
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
  return total > MAX_INT32 ? null : { variants, weights, total };
}

function choose(d: Distribution | null, bucketBy: string): unknown {
  if (d === null || d.total === 0) return null;
  const bucket = bucketOf(murmur3(bucketBy), d.total);
  let end = 0;
  for (let i = 0; i < d.weights.length; i++) {
    end += d.weights[i];
    if (bucket < end) return d.variants[i];
  }
  return null;
}

/** flagKey + targetingKey, or null when there is no usable targetingKey (flagd Go: nil, empty or non-string). */
function byTargetingKey(env: RuleEnv): string | null {
  const tk = env.ctx.targetingKey;
  return typeof tk === 'string' && tk !== '' ? env.flagKey + tk : null;
}

/** The fractional decision over already-evaluated arguments; exported for tests. */
export function fractional(values: unknown[], env: RuleEnv): unknown {
  if (values.length < 1) return null;
  const first = values[0];
  if (typeof first === 'string') return choose(distribution(values, 1), first);
  const by = byTargetingKey(env);
  if (by === null) return null;
  return choose(distribution(values, first === null || first === undefined ? 1 : 0), by);
}

const literalBucket = (n: unknown) => Array.isArray(n) && n.every((x) => x === null || typeof x !== 'object');

export const buildFractional: OperatorBuilder = (args, c, path, depth, inner) => {
  if (args.length < 1) c.issue(path, 'fractional needs at least one [variant, weight] bucket');
  const fns = argsOf(args, c, path, depth, inner);
  const k = literalBucket(args[0]) ? 0 : 1;
  if (args.length > k && args.slice(k).every(literalBucket)) {
    // the usual shape: buckets written out literally, so parse them once here
    const dist = distribution(args, k);
    if (k === 0) return (_data, env) => {
      const by = byTargetingKey(env);
      return by === null ? null : choose(dist, by);
    };
    const first = fns[0];
    const rest = args.slice(1);
    return (data, env) => {
      const v = first(data, env);
      if (typeof v === 'string') return choose(dist, v);
      if (v === null || v === undefined) {
        const by = byTargetingKey(env);
        return by === null ? null : choose(dist, by);
      }
      return fractional([v, ...rest], env);
    };
  }
  return (data, env) => {
    const values = new Array(fns.length);
    for (let i = 0; i < fns.length; i++) values[i] = fns[i](data, env);
    return fractional(values, env);
  };
};

function stringTest(test: (s: string, t: string) => boolean, kind: 'starts' | 'ends'): OperatorBuilder {
  return (args, c, path, depth, inner) => {
    if (args.length !== 2) c.issue(path, 'takes exactly two arguments: [value, prefix-or-suffix]');
    const [a, b] = argsOf(args, c, path, depth, inner);
    const v = plainVar(args[0]);
    const t = args[1];
    if (v && typeof t === 'string') {
      // one closure for the common `{"ends_with": [{"var": "email"}, "@example.com"]}`
      return kind === 'starts'
        ? (d) => { const s = v(d); return typeof s === 'string' ? s.startsWith(t) : null; }
        : (d) => { const s = v(d); return typeof s === 'string' ? s.endsWith(t) : null; };
    }
    return (data, env) => {
      const s = a(data, env);
      if (typeof s !== 'string') return null;
      const t = b(data, env);
      return typeof t === 'string' ? test(s, t) : null;
    };
  };
}

export const buildStartsWith = stringTest((s, t) => s.startsWith(t), 'starts');
export const buildEndsWith = stringTest((s, t) => s.endsWith(t), 'ends');

const SEMVER_OPS = new Set(['=', '!=', '<', '<=', '>=', '>', '^', '~']);

/** Parsed versions by input string: versions in contexts have few distinct values, parsing is the cost. */
const parsed = new Map<string, SemVer | null>();

function parseCached(v: unknown): SemVer | null {
  if (typeof v !== 'string') return parseSemVer(v);
  let r = parsed.get(v);
  if (r === undefined) {
    r = parseSemVer(v);
    if (parsed.size >= 1024) parsed.clear();
    parsed.set(v, r);
  }
  return r;
}

export function semVerOp(actual: unknown, op: unknown, target: unknown): boolean | null {
  const a = parseCached(actual);
  if (!a || typeof op !== 'string') return null;
  const b = parseCached(target);
  if (!b || !SEMVER_OPS.has(op)) return null;
  return semVerCompare(a, op, b);
}

function semVerCompare(a: SemVer, op: string, b: SemVer): boolean {
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
  const target = typeof args[2] === 'string' || typeof args[2] === 'number' ? parseSemVer(args[2]) : undefined;
  if (target && typeof args[1] === 'string' && SEMVER_OPS.has(args[1])) {
    // literal operator and target: parse the target once
    const o = args[1];
    return (data, env) => {
      const x = parseCached(a(data, env));
      return x ? semVerCompare(x, o, target) : null;
    };
  }
  return (data, env) => semVerOp(a(data, env), op(data, env), b(data, env));
};
