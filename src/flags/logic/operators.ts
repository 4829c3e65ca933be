/**
 * The standard JsonLogic operators (jsonlogic.com semantics, as json-logic-js implements them), with the
 * points where flagd's Go engine differs and we follow it noted inline. Each builder compiles its arguments
 * once and returns a closure.
 */
import type { CompiledRule } from '../types.ts';
import type { Compiler, OperatorBuilder } from './compile.ts';
import { buildEndsWith, buildFractional, buildSemVer, buildStartsWith } from './custom.ts';
import { str, truthy } from './values.ts';
import { buildMissing, buildMissingSome, buildVar, plainVar } from './vars.ts';

function all(args: unknown[], c: Compiler, path: string, depth: number, inner: boolean): CompiledRule[] {
  return args.map((a, i) => c.compile(a, c.at(path, i), depth, inner));
}

/** Builds an operator over eagerly evaluated arguments. */
function eager(fn: (values: unknown[]) => unknown): OperatorBuilder {
  return (args, c, path, depth, inner) => {
    const fns = all(args, c, path, depth, inner);
    return (data, env) => {
      const values = new Array(fns.length);
      for (let i = 0; i < fns.length; i++) values[i] = fns[i](data, env);
      return fn(values);
    };
  };
}

function binary(fn: (a: unknown, b: unknown) => unknown): OperatorBuilder {
  return (args, c, path, depth, inner) => {
    const [a, b] = all(args, c, path, depth, inner);
    if (!a || !b) return (data, env) => fn(a ? a(data, env) : undefined, undefined);
    return (data, env) => fn(a(data, env), b(data, env));
  };
}

type Cmp = '==' | '===' | '!=' | '!==' | '<' | '<=' | '>' | '>=';

const isLiteral = (n: unknown) => n === null || (typeof n !== 'object' && typeof n !== 'function');

/**
 * `{"var": "k"} OP literal`, the most common condition, as one closure.
 * `==` and `!=` are JavaScript's loose equality on purpose: that is JsonLogic's definition.
 */
function keyOp(op: Cmp, read: (d: unknown) => any, lit: unknown): CompiledRule {
  const x = lit as any;
  switch (op) {
    case '==': return (d) => read(d) == x;
    case '===': return (d) => read(d) === x;
    case '!=': return (d) => read(d) != x;
    case '!==': return (d) => read(d) !== x;
    case '<': return (d) => read(d) < x;
    case '<=': return (d) => read(d) <= x;
    case '>': return (d) => read(d) > x;
    case '>=': return (d) => read(d) >= x;
  }
}

/** Two evaluated operands, one closure literal per operator so each has its own type feedback. */
function pairOp(op: Cmp, a: CompiledRule, b: CompiledRule): CompiledRule {
  switch (op) {
    case '==': return (d, e) => (a(d, e) as any) == b(d, e);
    case '===': return (d, e) => a(d, e) === b(d, e);
    case '!=': return (d, e) => (a(d, e) as any) != b(d, e);
    case '!==': return (d, e) => a(d, e) !== b(d, e);
    case '<': return (d, e) => (a(d, e) as any) < (b(d, e) as any);
    case '<=': return (d, e) => (a(d, e) as any) <= (b(d, e) as any);
    case '>': return (d, e) => (a(d, e) as any) > (b(d, e) as any);
    case '>=': return (d, e) => (a(d, e) as any) >= (b(d, e) as any);
  }
}

const FLIP: Record<Cmp, Cmp> = { '==': '==', '===': '===', '!=': '!=', '!==': '!==', '<': '>', '<=': '>=', '>': '<', '>=': '<=' };

/** ==, ===, !=, !==, and <, <=, >, >= (the last four also take three arguments: "between"). */
function comparison(op: Cmp, lt?: (a: any, b: any) => boolean): OperatorBuilder {
  return (args, c, path, depth, inner) => {
    const fns = all(args, c, path, depth, inner);
    if (fns.length === 3 && lt) {
      const [a, b, m] = fns;
      return (data, env) => {
        const y = b(data, env);
        return lt(a(data, env), y) && lt(y, m(data, env));
      };
    }
    const [a, b] = fns;
    const none: CompiledRule = () => undefined;
    if (!a || !b) return pairOp(op, a ?? none, none);
    if (args.length === 2) {
      const left = plainVar(args[0]);
      if (left !== null && isLiteral(args[1])) return keyOp(op, left, args[1]);
      const right = plainVar(args[1]);
      if (right !== null && isLiteral(args[0])) return keyOp(FLIP[op], right, args[0]);
    }
    return pairOp(op, a, b);
  };
}

const buildIf: OperatorBuilder = (args, c, path, depth, inner) => {
  const fns = all(args, c, path, depth, inner);
  if (fns.length === 3) {
    const [cond, yes, no] = fns;
    return (data, env) => (truthy(cond(data, env)) ? yes(data, env) : no(data, env));
  }
  return (data, env) => {
    let i = 0;
    for (; i < fns.length - 1; i += 2) if (truthy(fns[i](data, env))) return fns[i + 1](data, env);
    return i === fns.length - 1 ? fns[i](data, env) : null;
  };
};

const buildOr: OperatorBuilder = (args, c, path, depth, inner) => {
  const fns = all(args, c, path, depth, inner);
  return (data, env) => {
    let v: unknown = null;
    for (let i = 0; i < fns.length; i++) {
      v = fns[i](data, env);
      if (truthy(v)) return v;
    }
    return v;
  };
};

const buildAnd: OperatorBuilder = (args, c, path, depth, inner) => {
  const fns = all(args, c, path, depth, inner);
  return (data, env) => {
    let v: unknown = null;
    for (let i = 0; i < fns.length; i++) {
      v = fns[i](data, env);
      if (!truthy(v)) return v;
    }
    return v;
  };
};

/** map / filter / all / none / some / reduce: the inner rule sees each element as its data. */
function iterator(kind: 'map' | 'filter' | 'all' | 'none' | 'some'): OperatorBuilder {
  return (args, c, path, depth, inner) => {
    if (args.length < 2) c.issue(path, `${kind} takes [array, rule]`);
    const list = c.compile(args[0], c.at(path, 0), depth, inner);
    const each = c.compile(args[1], c.at(path, 1), depth, true);
    return (data, env) => {
      const arr = list(data, env);
      const xs = Array.isArray(arr) ? arr : [];
      switch (kind) {
        case 'map': return xs.map((x) => each(x, env));
        case 'filter': return xs.filter((x) => truthy(each(x, env)));
        case 'all':
          if (xs.length === 0) return false;
          for (const x of xs) if (!truthy(each(x, env))) return false;
          return true;
        case 'none':
          for (const x of xs) if (truthy(each(x, env))) return false;
          return true;
        case 'some':
          for (const x of xs) if (truthy(each(x, env))) return true;
          return false;
      }
    };
  };
}

const buildReduce: OperatorBuilder = (args, c, path, depth, inner) => {
  if (args.length < 2) c.issue(path, 'reduce takes [array, rule, initial]');
  const list = c.compile(args[0], c.at(path, 0), depth, inner);
  const step = c.compile(args[1], c.at(path, 1), depth, true);
  const init = args.length > 2 ? c.compile(args[2], c.at(path, 2), depth, inner) : () => null;
  return (data, env) => {
    const arr = list(data, env);
    let acc = init(data, env);
    if (!Array.isArray(arr)) return acc;
    for (const current of arr) acc = step({ current, accumulator: acc }, env);
    return acc;
  };
};

function toNum(v: unknown): number {
  return typeof v === 'number' ? v : parseFloat(v as string);
}

export const OPERATORS: Record<string, OperatorBuilder> = {
  var: buildVar,
  missing: buildMissing,
  missing_some: buildMissingSome,
  if: buildIf,
  '?:': buildIf,
  '==': comparison('=='),
  '===': comparison('==='),
  '!=': comparison('!='),
  '!==': comparison('!=='),
  '!': (args, c, path, depth, inner) => {
    const a = c.compile(args[0], c.at(path, 0), depth, inner);
    const v = plainVar(args[0]);
    if (v) return (d) => !truthy(v(d));
    return (data, env) => !truthy(a(data, env));
  },
  '!!': (args, c, path, depth, inner) => {
    const a = c.compile(args[0], c.at(path, 0), depth, inner);
    const v = plainVar(args[0]);
    if (v) return (d) => truthy(v(d));
    return (data, env) => truthy(a(data, env));
  },
  or: buildOr,
  and: buildAnd,
  '>': comparison('>'),
  '>=': comparison('>='),
  '<': comparison('<', (a, b) => a < b),
  '<=': comparison('<=', (a, b) => a <= b),
  max: eager((v) => (v.length === 0 ? null : Math.max(...(v as number[])))),
  min: eager((v) => (v.length === 0 ? null : Math.min(...(v as number[])))),
  '+': eager((v) => {
    let s = 0;
    for (const x of v) s += toNum(x);
    return s;
  }),
  '*': eager((v) => {
    let p = 1;
    for (const x of v) p *= toNum(x);
    return p;
  }),
  '-': eager((v) => (v.length === 1 ? -(v[0] as number) : (v[0] as number) - (v[1] as number))),
  '/': binary((a, b) => (a as number) / (b as number)),
  '%': binary((a, b) => (a as number) % (b as number)),
  map: iterator('map'),
  filter: iterator('filter'),
  all: iterator('all'),
  none: iterator('none'),
  some: iterator('some'),
  reduce: buildReduce,
  merge: eager((v) => {
    const out: unknown[] = [];
    for (const x of v) if (Array.isArray(x)) out.push(...x); else out.push(x);
    return out;
  }),
  in: (args, c, path, depth, inner) => {
    const within = (a: unknown, b: unknown) => {
      if (typeof b === 'string') return b.includes(String(a));
      return Array.isArray(b) ? b.includes(a) : false;
    };
    const fn = binary(within)(args, c, path, depth, inner);
    if (args.length !== 2) return fn;
    const v0 = plainVar(args[0]);
    if (v0 && Array.isArray(args[1]) && args[1].every(isLiteral)) {
      const list = new Set(args[1] as unknown[]);
      return (d) => list.has(v0(d));
    }
    const v1 = plainVar(args[1]);
    if (v1 && isLiteral(args[0])) {
      const x = args[0];
      const sx = String(x);
      return (d) => {
        const b = v1(d);
        return typeof b === 'string' ? b.includes(sx) : Array.isArray(b) ? b.includes(x) : false;
      };
    }
    return fn;
  },
  cat: eager((v) => {
    let s = '';
    for (const x of v) s += str(x);
    return s;
  }),
  substr: eager(([source, start, len]) => {
    const s = str(source);
    const from = Number(start) || 0;
    const begin = from < 0 ? Math.max(0, s.length + from) : from;
    if (len === undefined || len === null) return s.slice(begin);
    const n = Number(len);
    return n < 0 ? s.slice(begin, s.length + n) : s.slice(begin, begin + n);
  }),
  fractional: buildFractional,
  starts_with: buildStartsWith,
  ends_with: buildEndsWith,
  sem_ver: buildSemVer,
};
