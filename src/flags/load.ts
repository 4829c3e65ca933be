/**
 * Loading flagd flag definitions (JSON or YAML): validate everything, report every problem with its path and
 * what to do, and compile targeting once. A hostile rule (too deep, too many nodes) is refused here, never
 * discovered during an evaluation.
 */
import { parseDocument } from 'yaml';
import { WeirError } from '../errors.ts';
import type {
  CompiledFlag, CompiledFlagSet, FlagIssue, FlagMetadata, FlagType, FlagValue, LoadResult, Prerequisite,
} from './types.ts';
import { compileLogic, DEFAULT_LOGIC_LIMITS } from './logic/compile.ts';
import type { LogicLimits } from './logic/compile.ts';
import { isPlainObject, pathOf, stableStringify } from './util.ts';

export interface LoadOptions {
  /** Name of the file or source, used in messages and kept on each flag. */
  source?: string;
  limits?: LogicLimits;
}

const TOP_KEYS = new Set(['$schema', 'flags', '$evaluators', 'metadata']);
const FLAG_KEYS = new Set(['state', 'variants', 'defaultVariant', 'targeting', 'metadata', 'key', 'prerequisites']);

/**
 * Parses, validates and compiles a flagd flag-set definition. Returns the compiled set, or every error found.
 *
 * @example
 *   const r = loadFlagSet(`
 *   flags:
 *     new-checkout:
 *       state: ENABLED
 *       variants: { on: true, off: false }
 *       defaultVariant: off
 *       targeting: { if: [{ ends_with: [{ var: email }, "@example.com"] }, on] }
 *   `, 'flags.yaml');
 *   if (!r.ok) console.error(formatFlagIssues(r.errors));
 */
export function loadFlagSet(input: string | object, source: string | LoadOptions = {}): LoadResult {
  const opts: LoadOptions = typeof source === 'string' ? { source } : source;
  const src = opts.source ?? 'inline';
  const errors: FlagIssue[] = [];
  const doc = typeof input === 'string' ? parseText(input, errors) : input;
  if (errors.length) return fail(errors, src);
  if (!isPlainObject(doc)) return fail([{ path: '(root)', message: 'a flag set must be an object with a "flags" property' }], src);

  for (const k of Object.keys(doc)) {
    if (!TOP_KEYS.has(k)) errors.push({ path: pathOf([k]), message: `unknown property — allowed: ${[...TOP_KEYS].join(', ')}` });
  }
  const setMeta = readMetadata(doc.metadata, ['metadata'], errors);
  const refs = readEvaluators(doc.$evaluators, errors, opts.limits);
  const flags = new Map<string, CompiledFlag>();
  const rawFlags = doc.flags;
  let entries: [string, unknown, (string | number)[]][] = [];
  if (rawFlags === undefined) {
    errors.push({ path: 'flags', message: 'required — add a "flags" object mapping flag keys to definitions' });
  } else if (Array.isArray(rawFlags)) {
    entries = rawFlags.map((f, i) => [isPlainObject(f) && typeof f.key === 'string' ? f.key : '', f, ['flags', i]]);
  } else if (isPlainObject(rawFlags)) {
    entries = Object.entries(rawFlags).map(([k, f]) => [k, f, ['flags', k]]);
  } else {
    errors.push({ path: 'flags', message: 'must be an object mapping flag keys to flag definitions' });
  }
  for (const [key, raw, at] of entries) {
    if (key === '') {
      errors.push({ path: pathOf(at), message: 'flag key must be a non-empty string' });
      continue;
    }
    if (flags.has(key)) {
      errors.push({ path: pathOf(at), message: `duplicate flag key "${key}"` });
      continue;
    }
    const flag = readFlag(key, raw, at, setMeta, refs, src, errors, opts.limits);
    if (flag) flags.set(key, flag);
  }
  if (errors.length) return fail(errors, src);
  return { ok: true, set: { flags, metadata: setMeta, sources: [src] } };
}

/**
 * One line per issue: `source: path: message`.
 *
 * @example
 *   if (!r.ok) console.error(formatFlagIssues(r.errors));
 *   // flags.yaml: flags.new-checkout.defaultVariant: "blue" is not one of the variants (on, off) — …
 */
export function formatFlagIssues(errors: readonly FlagIssue[]): string {
  return errors.map((e) => `${e.source ? `${e.source}: ` : ''}${e.path}: ${e.message}`).join('\n');
}

/**
 * The API error for a rejected flag set (400 CONFIG_INVALID), every issue in `details`.
 *
 * @example
 *   const r = loadFlagSet(body, 'api');
 *   if (!r.ok) throw flagSetError(r.errors);
 */
export function flagSetError(errors: readonly FlagIssue[]): WeirError {
  const first = errors[0];
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  return new WeirError('CONFIG_INVALID', `invalid flag set: ${first ? `${first.path}: ${first.message}` : 'unknown error'}${more}`, {
    details: errors,
  });
}

function fail(errors: FlagIssue[], source: string): LoadResult {
  return { ok: false, errors: errors.map((e) => ({ ...e, source })) };
}

function parseText(text: string, errors: FlagIssue[]): unknown {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return JSON.parse(text);
    } catch (err) {
      errors.push({ path: '(document)', message: `invalid JSON: ${(err as Error).message}` });
      return undefined;
    }
  }
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length) {
    for (const e of doc.errors) errors.push({ path: '(document)', message: `invalid YAML: ${e.message.split('\n')[0]}` });
    return undefined;
  }
  return doc.toJS({ maxAliasCount: 100 });
}

function readMetadata(raw: unknown, at: (string | number)[], errors: FlagIssue[]): FlagMetadata {
  if (raw === undefined || raw === null) return {};
  if (!isPlainObject(raw)) {
    errors.push({ path: pathOf(at), message: 'metadata must be an object of string, number or boolean values' });
    return {};
  }
  const out: FlagMetadata = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) out[k] = v;
    else errors.push({ path: pathOf([...at, k]), message: `metadata values must be strings, numbers or booleans, got ${describe(v)}` });
  }
  return out;
}

function readEvaluators(raw: unknown, errors: FlagIssue[], limits?: LogicLimits): Record<string, unknown> {
  if (raw === undefined) return {};
  if (!isPlainObject(raw)) {
    errors.push({ path: '$evaluators', message: 'must be an object mapping names to JsonLogic rules' });
    return {};
  }
  for (const [name, rule] of Object.entries(raw)) {
    const at = pathOf(['$evaluators', name]);
    if (!isPlainObject(rule) || Object.keys(rule).length === 0) {
      errors.push({ path: at, message: 'a shared evaluator must be a non-empty JsonLogic rule object' });
      continue;
    }
    compileLogic(rule, at, errors, { limits: limits ?? DEFAULT_LOGIC_LIMITS, refs: raw, inRef: true });
  }
  return raw;
}

function typeOf(v: unknown): FlagType | null {
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return Number.isFinite(v) ? 'number' : null;
  return isPlainObject(v) ? 'object' : null;
}

function readFlag(
  key: string, raw: unknown, at: (string | number)[], setMeta: FlagMetadata, refs: Record<string, unknown>,
  source: string, errors: FlagIssue[], limits?: LogicLimits,
): CompiledFlag | null {
  const before = errors.length;
  const p = (...rest: (string | number)[]) => pathOf([...at, ...rest]);
  if (!isPlainObject(raw)) {
    errors.push({ path: p(), message: 'a flag must be an object with state, variants and (optionally) defaultVariant, targeting, metadata' });
    return null;
  }
  for (const k of Object.keys(raw)) {
    if (!FLAG_KEYS.has(k)) errors.push({ path: p(k), message: `unknown property — allowed: state, variants, defaultVariant, targeting, metadata, prerequisites` });
  }
  const state = raw.state;
  if (state !== 'ENABLED' && state !== 'DISABLED') {
    errors.push({ path: p('state'), message: `${state === undefined ? 'required' : `${JSON.stringify(state)} is not valid`} — use "ENABLED" or "DISABLED"` });
  }
  const variants = new Map<string, FlagValue>();
  let type: FlagType | null = null;
  if (!isPlainObject(raw.variants) || Object.keys(raw.variants).length === 0) {
    errors.push({ path: p('variants'), message: 'required: an object with at least one variant, e.g. {"on": true, "off": false}' });
  } else {
    for (const [name, v] of Object.entries(raw.variants)) {
      const t = typeOf(v);
      if (name === '') errors.push({ path: p('variants'), message: 'variant names must be non-empty' });
      if (t === null) {
        errors.push({ path: p('variants', name), message: `variant values must be a boolean, string, finite number or object, got ${describe(v)}` });
        continue;
      }
      if (type !== null && t !== type) {
        errors.push({ path: p('variants', name), message: `is a ${t} but earlier variants are ${type}s — all variants of a flag must have the same type` });
        continue;
      }
      type = t;
      variants.set(name, v as FlagValue);
    }
  }
  let defaultVariant: string | null = null;
  const dv = raw.defaultVariant;
  if (dv !== undefined && dv !== null) {
    if (typeof dv !== 'string') {
      errors.push({ path: p('defaultVariant'), message: `must be a variant name or null, got ${describe(dv)}` });
    } else if (isPlainObject(raw.variants) && !Object.hasOwn(raw.variants, dv)) {
      const names = Object.keys(raw.variants);
      errors.push({
        path: p('defaultVariant'),
        message: `"${dv}" is not one of the variants (${names.join(', ')}) — use one of them, or null to fall back to the code default`,
      });
    } else {
      defaultVariant = dv;
    }
  }
  const metadata = { ...setMeta, ...readMetadata(raw.metadata, [...at, 'metadata'], errors) };
  let targeting = null;
  let usesTimestamp = false;
  const used = new Set<string>();
  const t = raw.targeting;
  if (t !== undefined && t !== null && !(isPlainObject(t) && Object.keys(t).length === 0)) {
    if (!isPlainObject(t)) {
      errors.push({ path: p('targeting'), message: 'must be a JsonLogic rule object, e.g. {"if": [...]} — or omit it for a static flag' });
    } else {
      const compiled = compileLogic(t, p('targeting'), errors, { limits, refs, refsUsed: used });
      if (compiled) {
        targeting = compiled.rule;
        usesTimestamp = compiled.usesTimestamp;
      }
    }
  }
  const prerequisites = readPrerequisites(raw.prerequisites, [...at, 'prerequisites'], errors);
  if (errors.length > before || type === null) return null;
  const fingerprint = stableStringify({
    state, variants: raw.variants, defaultVariant, targeting: t ?? null, metadata,
    refs: [...used].sort().map((n) => [n, refs[n]]), prerequisites,
  });
  const definition: Record<string, unknown> = { state, variants: raw.variants, defaultVariant };
  if (targeting !== null) definition.targeting = inlineRefs(t, refs);
  if (Object.keys(metadata).length) definition.metadata = metadata;
  if (prerequisites.length) definition.prerequisites = prerequisites;
  return {
    key, state: state as 'ENABLED' | 'DISABLED', variants, defaultVariant, type, targeting, usesTimestamp,
    metadata, source, fingerprint, prerequisites, definition: definition as CompiledFlag['definition'],
  };
}

/** `prerequisites: [{ flag, variants: [...] }]` — Weir's extension to flagd's flag definition. */
function readPrerequisites(raw: unknown, at: (string | number)[], errors: FlagIssue[]): Prerequisite[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    errors.push({ path: pathOf(at), message: 'must be a list like [{ "flag": "new-checkout", "variants": ["on"] }]' });
    return [];
  }
  const out: Prerequisite[] = [];
  raw.forEach((p, i) => {
    const here = [...at, i];
    if (!isPlainObject(p) || typeof p.flag !== 'string' || p.flag === '') {
      errors.push({ path: pathOf(here), message: 'each prerequisite needs "flag" (a flag key) and "variants" (a non-empty list of variant names)' });
      return;
    }
    for (const k of Object.keys(p)) if (k !== 'flag' && k !== 'variants') errors.push({ path: pathOf([...here, k]), message: 'unknown property — allowed: flag, variants' });
    if (!Array.isArray(p.variants) || p.variants.length === 0 || !p.variants.every((v) => typeof v === 'string' && v !== '')) {
      errors.push({ path: pathOf([...here, 'variants']), message: 'must be a non-empty list of variant names of the prerequisite flag' });
      return;
    }
    out.push({ flag: p.flag, variants: [...(p.variants as string[])] });
  });
  return out;
}

/** The targeting rule with every `{"$ref": name}` replaced by the shared evaluator, so a flag's definition stands alone. */
function inlineRefs(rule: unknown, refs: Record<string, unknown>): unknown {
  if (Array.isArray(rule)) return rule.map((r) => inlineRefs(r, refs));
  if (!isPlainObject(rule)) return rule;
  const keys = Object.keys(rule);
  if (keys.length === 1 && keys[0] === '$ref' && typeof rule.$ref === 'string' && Object.hasOwn(refs, rule.$ref)) return inlineRefs(refs[rule.$ref], refs);
  return Object.fromEntries(keys.map((k) => [k, inlineRefs(rule[k], refs)]));
}

/**
 * Set-level checks that one file cannot make alone: every prerequisite names a flag of the set, one of
 * its variants, and prerequisites form no cycle. Run on the merged set (files, stored flags, overrides).
 *
 * @example
 *   const issues = checkFlagSet(merged); // [{ path: 'flags.b.prerequisites', message: 'cycle: b → a → b' }]
 */
export function checkFlagSet(set: CompiledFlagSet): FlagIssue[] {
  const issues: FlagIssue[] = [];
  for (const f of set.flags.values()) {
    f.prerequisites.forEach((p, i) => {
      const dep = set.flags.get(p.flag);
      const at = pathOf(['flags', f.key, 'prerequisites', i]);
      if (!dep) issues.push({ path: `${at}.flag`, source: f.source, message: `unknown flag "${p.flag}" — define it, or remove the prerequisite` });
      else for (const v of p.variants) if (!dep.variants.has(v)) issues.push({ path: `${at}.variants`, source: f.source, message: `"${v}" is not a variant of "${p.flag}" (${[...dep.variants.keys()].join(', ')})` });
    });
  }
  const state = new Map<string, 1 | 2>();
  const visit = (key: string, trail: string[]): void => {
    const f = set.flags.get(key);
    if (!f || state.get(key) === 2) return;
    if (state.get(key) === 1) {
      const cycle = [...trail.slice(trail.indexOf(key)), key];
      issues.push({ path: pathOf(['flags', key, 'prerequisites']), source: f.source, message: `prerequisites form a cycle: ${cycle.join(' → ')} — remove one of them` });
      return;
    }
    state.set(key, 1);
    for (const p of f.prerequisites) visit(p.flag, [...trail, key]);
    state.set(key, 2);
  };
  for (const key of set.flags.keys()) visit(key, []);
  return issues;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

export type { CompiledFlagSet };
