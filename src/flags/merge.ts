/** Merging several flag sets (several files), the way flagd merges sources: the later source wins per flag key. */
import type { CompiledFlag, CompiledFlagSet, FlagIssue, FlagMetadata, LoadResult } from './types.ts';
import { loadFlagSet } from './load.ts';
import type { LoadOptions } from './load.ts';

/**
 * Later sets override earlier ones flag by flag; flag-set metadata is merged key by key, later wins.
 * Each flag keeps the metadata of the file it came from (flagd applies set metadata per source).
 *
 * @example
 *   const merged = mergeFlagSets([base.set, overrides.set]);
 */
export function mergeFlagSets(sets: readonly CompiledFlagSet[]): CompiledFlagSet {
  const flags = new Map<string, CompiledFlag>();
  let metadata: FlagMetadata = {};
  const sources: string[] = [];
  for (const s of sets) {
    for (const [k, f] of s.flags) {
      flags.delete(k);
      flags.set(k, f);
    }
    metadata = { ...metadata, ...s.metadata };
    sources.push(...s.sources);
  }
  return { flags, metadata, sources };
}

/**
 * Loads several files and merges them; errors from every file are reported together, each with its source.
 *
 * @example
 *   const r = loadFlagSets([{ text: baseYaml, source: 'base.yaml' }, { text: prodJson, source: 'prod.json' }]);
 */
export function loadFlagSets(
  inputs: readonly { text: string | object; source: string }[],
  options: Omit<LoadOptions, 'source'> = {},
): LoadResult {
  const errors: FlagIssue[] = [];
  const sets: CompiledFlagSet[] = [];
  for (const input of inputs) {
    const r = loadFlagSet(input.text, { ...options, source: input.source });
    if (r.ok) sets.push(r.set);
    else errors.push(...r.errors);
  }
  if (errors.length) return { ok: false, errors };
  return { ok: true, set: mergeFlagSets(sets) };
}
