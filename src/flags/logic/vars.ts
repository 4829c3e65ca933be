/** `var`, `missing`, `missing_some`: reading the context, with `$flagd.*` served from the evaluation env. */
import type { CompiledRule, RuleEnv } from '../types.ts';
import type { OperatorBuilder } from './compile.ts';
import { own } from './values.ts';

/** Resolves a dotted path. At the rule's root, `$flagd` is the injected object, never the caller's. */
export function lookup(data: unknown, parts: readonly string[], env: RuleEnv, root: boolean): unknown {
  let v: unknown = data;
  let i = 0;
  if (root && parts[0] === '$flagd') {
    if (parts.length === 1) return { flagKey: env.flagKey, timestamp: env.timestamp };
    const p = parts[1];
    v = p === 'flagKey' ? env.flagKey : p === 'timestamp' ? env.timestamp : undefined;
    i = 2;
  }
  for (; i < parts.length; i++) {
    if (v === null || v === undefined) return undefined;
    v = own(v, parts[i]);
  }
  return v;
}

function splitPath(path: unknown): string[] | null {
  if (path === null || path === undefined || path === '') return null;
  return String(path).split('.');
}

/** The whole data; at the root that includes the injected `$flagd` object, as flagd's engines see it. */
function whole(data: unknown, env: RuleEnv, root: boolean): unknown {
  if (!root) return data;
  return { ...env.ctx, $flagd: { flagKey: env.flagKey, timestamp: env.timestamp } };
}

export const buildVar: OperatorBuilder = (args, c, path, depth, inner) => {
  const root = !inner;
  const dflt = args.length > 1 ? c.compile(args[1], c.at(path, 1), depth, inner) : null;
  const first = args[0];
  if (first === null || typeof first !== 'object') {
    const parts = splitPath(first);
    if (root && parts?.[0] === '$flagd' && parts[1] === 'timestamp') c.usesTimestamp = true;
    if (root && parts === null) c.usesTimestamp = true;
    if (parts === null) return (data, env) => whole(data, env, root);
    if (dflt === null) {
      if (parts.length === 1 && parts[0] !== '$flagd') {
        const k = parts[0];
        return (data) => {
          const v = own(data, k);
          return v === undefined ? null : v;
        };
      }
      return (data, env) => {
        const v = lookup(data, parts, env, root);
        return v === undefined || v === null ? null : v;
      };
    }
    return (data, env) => {
      const v = lookup(data, parts, env, root);
      return v === undefined || v === null ? dflt(data, env) : v;
    };
  }
  c.usesTimestamp = c.usesTimestamp || root;
  const key = c.compile(first, c.at(path, 0), depth, inner);
  return (data, env) => {
    const parts = splitPath(key(data, env));
    if (parts === null) return whole(data, env, root);
    const v = lookup(data, parts, env, root);
    return v === undefined || v === null ? (dflt ? dflt(data, env) : null) : v;
  };
};

function present(data: unknown, key: unknown, env: RuleEnv, root: boolean): boolean {
  const parts = splitPath(key);
  if (parts === null) return data !== null && data !== undefined;
  const v = lookup(data, parts, env, root);
  return v !== null && v !== undefined;
}

export const buildMissing: OperatorBuilder = (args, c, path, depth, inner) => {
  const fns = args.map((a, i) => c.compile(a, c.at(path, i), depth, inner));
  const root = !inner;
  return (data, env) => {
    let keys: unknown[] = fns.map((f) => f(data, env));
    if (Array.isArray(keys[0])) keys = keys[0];
    const out: unknown[] = [];
    for (const k of keys) if (!present(data, k, env, root)) out.push(k);
    return out;
  };
};

export const buildMissingSome: OperatorBuilder = (args, c, path, depth, inner) => {
  if (args.length !== 2) c.issue(path, 'missing_some takes [minimum, [keys...]]');
  const need = c.compile(args[0], c.at(path, 0), depth, inner);
  const keysFn: CompiledRule = c.compile(args[1], c.at(path, 1), depth, inner);
  const root = !inner;
  return (data, env) => {
    const n = Number(need(data, env));
    const keys = keysFn(data, env);
    if (!Array.isArray(keys)) return [];
    const missing: unknown[] = [];
    let found = 0;
    for (const k of keys) {
      if (present(data, k, env, root)) found++;
      else missing.push(k);
    }
    return found >= n ? [] : missing;
  };
};

/**
 * A reader for a plain `{"var": "a.b"}` (no default, not `$flagd`, not computed), returning null for
 * missing values as `var` does; or null when the node is not such a var.
 */
export function plainVar(node: unknown): ((d: unknown) => any) | null {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return null;
  const keys = Object.keys(node);
  if (keys.length !== 1 || keys[0] !== 'var') return null;
  let v = (node as { var: unknown }).var;
  if (Array.isArray(v)) {
    if (v.length !== 1) return null;
    v = v[0];
  }
  if (typeof v !== 'string' || v === '') return null;
  const parts = v.split('.');
  if (parts[0] === '$flagd') return null;
  if (parts.length === 1) {
    return (d) => {
      const x = own(d, v);
      return x === undefined ? null : x;
    };
  }
  return (d) => {
    let x: unknown = d;
    for (let i = 0; i < parts.length && x !== undefined && x !== null; i++) x = own(x, parts[i]);
    return x === undefined ? null : x;
  };
}
