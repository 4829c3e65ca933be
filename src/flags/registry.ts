/**
 * The flag store the rest of Weir uses: holds the current compiled set, swaps it atomically, versions it,
 * and tells listeners which flags changed.
 */
import type { CompiledFlagSet, EvaluationContext, FlagValue, Resolution, TypedResolution } from './types.ts';
import { evaluateAll, evaluateFlag, resolveTyped } from './evaluate.ts';
import type { Clock, FlagResolvers } from './evaluate.ts';

export interface FlagChange {
  /** The version after the change (starts at 1 for the first set, grows by one per change). */
  version: number;
  etag: string;
  /** Keys added, removed or whose definition (or effective metadata) changed. */
  changed: string[];
  set: CompiledFlagSet;
}

export interface FlagRegistry extends FlagResolvers {
  /** The current set; never mutated, replaced as a whole. */
  current(): CompiledFlagSet;
  readonly version: number;
  /** Strong ETag for the current version, e.g. `"flags-3"`. */
  readonly etag: string;
  /** When the current version was installed (ms, from the clock). */
  readonly updatedAt: number;
  /** Installs a new set. A set identical to the current one changes nothing and returns false. */
  replace(set: CompiledFlagSet): boolean;
  /** Called after each change; returns an unsubscribe function. A throwing listener does not stop the others. */
  onChange(listener: (change: FlagChange) => void): () => void;
  evaluateAll(context?: EvaluationContext): [string, Resolution][];
  readonly clock: Clock;
}

export interface FlagRegistryOptions {
  clock?: Clock;
  /** The initial set; empty when omitted. */
  initial?: CompiledFlagSet;
}

const EMPTY: CompiledFlagSet = { flags: new Map(), metadata: {}, sources: [] };

/**
 * @example
 *   const registry = createFlagRegistry({ clock: Date.now });
 *   const r = loadFlagSet(text, 'flags.yaml');
 *   if (r.ok) registry.replace(r.set);
 *   registry.resolveBoolean('new-checkout', false, { targetingKey: 'user-1' }).value;
 *   const off = registry.onChange((c) => console.log(`flags v${c.version}: ${c.changed.join(', ')}`));
 */
export function createFlagRegistry(options: FlagRegistryOptions = {}): FlagRegistry {
  const clock = options.clock ?? Date.now;
  let set = options.initial ?? EMPTY;
  let version = options.initial ? 1 : 0;
  let updatedAt = clock();
  const listeners = new Set<(c: FlagChange) => void>();

  return {
    clock,
    current: () => set,
    get version() { return version; },
    get etag() { return `"flags-${version}"`; },
    get updatedAt() { return updatedAt; },
    replace(next) {
      const changed = diffFlagSets(set, next);
      if (changed.length === 0 && sameMetadata(set.metadata, next.metadata)) return false;
      set = next;
      version++;
      updatedAt = clock();
      const change: FlagChange = { version, etag: `"flags-${version}"`, changed, set };
      for (const l of [...listeners]) {
        try {
          l(change);
        } catch {
          // a listener's failure is its own; the swap has happened and other listeners still run
        }
      }
      return true;
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    evaluate: (key, context = {}) => evaluateFlag(set, key, context, clock),
    evaluateAll: (context = {}) => evaluateAll(set, context, clock),
    resolveBoolean: (key, d, context = {}) => resolveTyped(set, key, 'boolean', d, context, clock),
    resolveString: (key, d, context = {}) => resolveTyped(set, key, 'string', d, context, clock),
    resolveNumber: (key, d, context = {}) => resolveTyped(set, key, 'number', d, context, clock),
    resolveObject: <T extends FlagValue>(key: string, d: T, context: EvaluationContext = {}): TypedResolution<T> =>
      resolveTyped(set, key, 'object', d, context, clock),
  };
}

/**
 * Keys added, removed or changed between two sets, sorted.
 *
 * @example
 *   diffFlagSets(before, after) // ['new-checkout', 'retired-flag']
 */
export function diffFlagSets(a: CompiledFlagSet, b: CompiledFlagSet): string[] {
  const out: string[] = [];
  for (const [k, f] of b.flags) if (a.flags.get(k)?.fingerprint !== f.fingerprint) out.push(k);
  for (const k of a.flags.keys()) if (!b.flags.has(k)) out.push(k);
  return out.sort();
}

function sameMetadata(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}
