/**
 * Flags at the edge: a service's version chosen by a flag's variant in the proxy. The flag definitions a
 * service references (the flag and its prerequisites) travel in the routing table; the proxy compiles them
 * once per table and evaluates per request with the same evaluator as everywhere else.
 */
import { evaluateFlag } from './evaluate.ts';
import { checkFlagSet, loadFlagSet } from './load.ts';
import type { CompiledFlagSet } from './types.ts';
import { isPlainObject } from './util.ts';

/** The table's per-service flag routing: what `services.<name>.flag` says, plus the definitions it needs. */
export interface FlagRoute {
  key: string;
  /** Variant → version. */
  versions: Record<string, string>;
  forwardHeader?: string;
  /** Lower-case names of request headers exposed to the rule as `headers.<name>`. */
  contextHeaders: string[];
  /** Self-contained flagd definitions: the flag and its prerequisites (closure), by key. Empty: not defined (yet). */
  flags: Record<string, unknown>;
}

/**
 * The definitions `key` needs: itself and, transitively, its prerequisites — only what the service uses.
 *
 * @example
 *   flagClosure('express-pay', all) // { 'express-pay': {…}, 'new-checkout': {…} }
 */
export function flagClosure(key: string, all: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const visit = (k: string) => {
    if (Object.hasOwn(out, k) || !Object.hasOwn(all, k)) return;
    const def = all[k];
    out[k] = def;
    const pre = isPlainObject(def) && Array.isArray(def.prerequisites) ? def.prerequisites : [];
    for (const p of pre) if (isPlainObject(p) && typeof p.flag === 'string') visit(p.flag);
  };
  visit(key);
  return out;
}

/** A flag route compiled for the proxy. */
export interface CompiledFlagRoute {
  key: string;
  versions: ReadonlyMap<string, string>;
  forwardHeader?: string;
  contextHeaders: readonly string[];
  /** null when the definitions are missing or do not load: the choice falls through to the weights. */
  set: CompiledFlagSet | null;
}

/**
 * @example
 *   const compiled = compileFlagRoute(route.flag);
 */
export function compileFlagRoute(r: FlagRoute): CompiledFlagRoute {
  const loaded = loadFlagSet({ flags: r.flags }, 'routing-table');
  const set = loaded.ok && loaded.set.flags.has(r.key) && checkFlagSet(loaded.set).length === 0 ? loaded.set : null;
  return { key: r.key, versions: new Map(Object.entries(r.versions)), forwardHeader: r.forwardHeader, contextHeaders: r.contextHeaders, set };
}

/** The request as the flag sees it: see docs/flags.md, "Flags at the edge". */
export interface EdgeContext {
  targetingKey?: string;
  path: string;
  headers: Record<string, string>;
}

/**
 * The variant for a request and the version it maps to (undefined when it maps to none). Never throws.
 *
 * @example
 *   edgeDecision(compiled, { targetingKey: 'user-42', path: '/cart', headers: {} }, Date.now)
 *   // { variant: 'on', version: 'canary' }
 */
export function edgeDecision(f: CompiledFlagRoute, ctx: EdgeContext, now: () => number): { variant?: string; version?: string } {
  if (!f.set) return {};
  const r = evaluateFlag(f.set, f.key, ctx, now);
  if (r.variant === undefined) return {};
  return { variant: r.variant, version: f.versions.get(r.variant) };
}
