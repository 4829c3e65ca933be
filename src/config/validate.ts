import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { configSchema } from './schema.ts';
import type { WeirConfig } from './schema.ts';
import { didYouMean } from '../util/suggest.ts';
import { checkFaultRules, faultPolicyOf, faultsSchema } from '../proxy/faults/config.ts';
import { checkExperiments } from '../experiments/config.ts';

/** One problem in a config, with the path it is at (`services.shop.weights.canry`). */
export interface ConfigIssue {
  path: string;
  message: string;
}

export type ConfigResult = { ok: true; config: WeirConfig } | { ok: false; issues: ConfigIssue[] };

/** Formats a path array as `services.shop.versions[0]`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out || '(root)';
}

/** `path: message` lines, one per issue. */
export function formatIssues(issues: ConfigIssue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}`).join('\n');
}

/**
 * Parses and validates weir.yaml text. Collects every problem rather than stopping at the first;
 * each says where it is and what to do.
 *
 * @example
 *   const r = parseConfig(readFileSync('weir.yaml', 'utf8'), process.env);
 *   if (!r.ok) console.error(formatIssues(r.issues));
 */
export function parseConfig(text: string, env: Record<string, string | undefined>): ConfigResult {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    return { ok: false, issues: doc.errors.map((e) => ({ path: `line ${e.linePos?.[0].line ?? '?'}`, message: e.message.split('\n')[0] })) };
  }
  const raw: unknown = doc.toJS();
  return validateConfig(raw, env);
}

/** Validates an already-parsed config object (YAML or JSON). */
export function validateConfig(raw: unknown, env: Record<string, string | undefined>): ConfigResult {
  const issues: ConfigIssue[] = [];
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, issues: [{ path: '(root)', message: 'the config must be a mapping with at least `services:`' }] };
  }
  const substituted = substituteEnv(raw, [], env, issues);
  const parsed = configSchema.safeParse(substituted);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) issues.push(...describeZodIssue(issue, substituted));
  }
  // Cross-field rules run on the raw value too, so one run reports every problem at once.
  checkCrossFields(substituted as LooseConfig, issues);
  for (const [p, message] of checkExperiments((substituted as { experiments?: unknown }).experiments)) issues.push({ path: formatPath(['experiments', ...p]), message });
  if (issues.length > 0) return { ok: false, issues: dedupe(issues) };
  return { ok: true, config: (parsed as { data: WeirConfig }).data };
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

function substituteEnv(value: unknown, path: PropertyKey[], env: Record<string, string | undefined>, issues: ConfigIssue[]): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REF, (_m, name: string) => {
      const v = env[name];
      if (v === undefined) {
        issues.push({ path: formatPath(path), message: `environment variable ${name} is not set — export it (an empty value must be set explicitly), or remove \${${name}}` });
        return '';
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, [...path, i], env, issues));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substituteEnv(v, [...path, k], env, issues);
    return out;
  }
  return value;
}

function describeZodIssue(issue: z.core.$ZodIssue, input: unknown): ConfigIssue[] {
  const path = issue.path as PropertyKey[];
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(configSchema, path);
    return issue.keys.map((key) => ({
      path: formatPath([...path, key]),
      message: `unknown key${didYouMean(key, known)}${known.length ? ` (allowed here: ${known.join(', ')})` : ''}`,
    }));
  }
  if (issue.code === 'invalid_type') {
    const actual = valueAt(input, path);
    if (actual === undefined) return [{ path: formatPath(path), message: `is required (${issue.expected})` }];
    return [{ path: formatPath(path), message: `expected ${issue.expected}, got ${describe(actual)}` }];
  }
  if (issue.code === 'invalid_union') {
    // A version is a URL, a list of URLs, or an object: report the branch that matches the shape given.
    const actual = valueAt(input, path);
    const branches = issue.errors;
    const pick = typeof actual === 'string' ? 0 : Array.isArray(actual) ? 1 : 2;
    const chosen = branches[Math.min(pick, branches.length - 1)] ?? [];
    if (chosen.length > 0) return chosen.flatMap((sub) => describeZodIssue({ ...sub, path: [...path, ...sub.path] } as z.core.$ZodIssue, input));
    return [{ path: formatPath(path), message: issue.message }];
  }
  return [{ path: formatPath(path), message: issue.message }];
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let cur = input;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return cur;
}

/** Walks the zod schema along `path` and lists the keys an object there may have. */
function knownKeysAt(schema: z.core.$ZodType, path: PropertyKey[]): string[] {
  let cur: z.core.$ZodType | undefined = schema;
  for (const seg of path) {
    cur = unwrap(cur);
    if (!cur) return [];
    const def = cur._zod.def as unknown as Record<string, unknown>;
    if (def.type === 'object') cur = (def.shape as Record<string, z.core.$ZodType>)[String(seg)];
    else if (def.type === 'record') cur = def.valueType as z.core.$ZodType;
    else if (def.type === 'array') cur = def.element as z.core.$ZodType;
    else return [];
  }
  cur = unwrap(cur);
  const def = cur?._zod.def as unknown as Record<string, unknown> | undefined;
  return def?.type === 'object' ? Object.keys(def.shape as object) : [];
}

function unwrap(s: z.core.$ZodType | undefined): z.core.$ZodType | undefined {
  let cur = s;
  for (let i = 0; i < 10 && cur; i++) {
    const def = cur._zod.def as unknown as Record<string, unknown>;
    if (def.type === 'optional' || def.type === 'default' || def.type === 'nullable') cur = def.innerType as z.core.$ZodType;
    else if (def.type === 'pipe') cur = def.in as z.core.$ZodType;
    else if (def.type === 'union') {
      const obj = (def.options as z.core.$ZodType[]).find((o) => (o._zod.def as unknown as Record<string, unknown>).type === 'object');
      return obj ?? cur;
    } else return cur;
  }
  return cur;
}

const STICKY = /^(header|cookie|query):([A-Za-z0-9!#$%&'*+.^_`|~-]+)$|^(ip|none)$/;

/** The config before the schema accepted it: every field may be missing or of the wrong type. */
interface LooseConfig {
  services?: Record<string, {
    match?: { host?: unknown; pathPrefix?: unknown };
    versions?: Record<string, unknown>;
    stable?: unknown;
    weights?: Record<string, unknown>;
    stickyBy?: unknown;
    testTraffic?: { tokens?: unknown };
    cohorts?: unknown;
    rollout?: unknown;
    flag?: unknown;
  }>;
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function checkCrossFields(config: LooseConfig, issues: ConfigIssue[]): void {
  const seenMatch = new Map<string, string>();
  if (!isObj(config.services)) return;
  for (const [name, svc] of Object.entries(config.services)) {
    if (!isObj(svc)) continue;
    const at = (...p: PropertyKey[]) => formatPath(['services', name, ...p]);
    if (!isObj(svc.versions)) continue;
    if (!isObj(svc.match)) svc.match = {};
    const versions = Object.keys(svc.versions);
    if (versions.length === 0) issues.push({ path: at('versions'), message: 'declare at least one version, e.g. `stable: http://127.0.0.1:9001`' });
    if (svc.match.host === undefined && svc.match.pathPrefix === undefined) {
      issues.push({ path: at('match'), message: 'give a host, a pathPrefix, or both (pathPrefix: / matches everything)' });
    }
    const key = `${svc.match.host ?? '*'}${svc.match.pathPrefix ?? '/'}`;
    const other = seenMatch.get(key);
    if (other) issues.push({ path: at('match'), message: `matches exactly what service "${other}" matches; make one of them more specific` });
    else seenMatch.set(key, name);
    if (typeof svc.stable === 'string' && !versions.includes(svc.stable)) {
      issues.push({ path: at('stable'), message: `no version named "${svc.stable}"${didYouMean(svc.stable, versions)}` });
    }
    if (isObj(svc.weights)) {
      let sum = 0;
      for (const [v, w] of Object.entries(svc.weights)) {
        if (!versions.includes(v)) issues.push({ path: at('weights', v), message: `no version named "${v}"${didYouMean(v, versions)}` });
        sum += typeof w === 'number' ? w : NaN;
      }
      if (Number.isNaN(sum)) continue;
      if (Math.abs(sum - 100) > 1e-9) {
        issues.push({ path: at('weights'), message: `weights are percentages and add up to ${sum}; make them add up to 100 (a version left out gets 0)` });
      }
    }
    if (typeof svc.stickyBy === 'string' && !STICKY.test(svc.stickyBy)) {
      issues.push({ path: at('stickyBy'), message: `"${svc.stickyBy}" is not a sticky key: use header:NAME, cookie:NAME, query:NAME, ip, or none` });
    }
    const tokens = isObj(svc.testTraffic) && Array.isArray(svc.testTraffic.tokens) ? svc.testTraffic.tokens : [];
    tokens.forEach((t: unknown, i: number) => {
      if (typeof t === 'string' && t.length > 0 && t.length < 8) issues.push({ path: at('testTraffic', 'tokens', i), message: 'a test token must be at least 8 characters (it is a credential)' });
    });
    const cohorts = Array.isArray(svc.cohorts) ? svc.cohorts : [];
    cohorts.forEach((c: { version?: unknown; match?: Record<string, unknown> }, i: number) => {
      if (!isObj(c) || !isObj(c.match)) return;
      if (typeof c.version === 'string' && !versions.includes(c.version)) issues.push({ path: at('cohorts', i, 'version'), message: `no version named "${c.version}"${didYouMean(c.version, versions)}` });
      const sources = Number(c.match.header !== undefined) + Number(c.match.cookie !== undefined);
      if (sources !== 1) issues.push({ path: at('cohorts', i, 'match'), message: 'name exactly one of header or cookie to match on' });
      const ops = Number(c.match.exact !== undefined) + Number(c.match.prefix !== undefined) + Number(c.match.in !== undefined);
      if (ops !== 1) issues.push({ path: at('cohorts', i, 'match'), message: 'give exactly one of exact, prefix or in' });
    });
    if (isObj(svc.flag) && isObj(svc.flag.versions)) {
      for (const [variant, v] of Object.entries(svc.flag.versions)) {
        if (typeof v === 'string' && !versions.includes(v)) issues.push({ path: at('flag', 'versions', variant), message: `no version named "${v}"${didYouMean(v, versions)}` });
      }
    }
    if (isObj(svc.rollout)) checkRollout(svc.rollout, (...p) => at('rollout', ...p), issues);
    checkTaps(svc as Record<string, unknown>, versions, at, issues);
  }
}

/** Cross-field rules of the `shadow:`, `compare:` and `faults:` blocks: they name declared versions. */
function checkTaps(svc: Record<string, unknown>, versions: string[], at: (...p: PropertyKey[]) => string, issues: ConfigIssue[]): void {
  const named = (v: unknown, ...p: PropertyKey[]) => {
    if (typeof v === 'string' && !versions.includes(v)) issues.push({ path: at(...p), message: `no version named "${v}"${didYouMean(v, versions)}` });
  };
  const stable = typeof svc.stable === 'string' ? svc.stable : versions[0];
  if (isObj(svc.shadow)) {
    named(svc.shadow.version, 'shadow', 'version');
    if (svc.shadow.version === stable) issues.push({ path: at('shadow', 'version'), message: `"${stable}" is the stable version, which already answers users; shadow a version no user sees` });
  }
  if (isObj(svc.compare)) {
    for (const k of ['candidate', 'secondary', 'primary']) named(svc.compare[k], 'compare', k);
    const c = svc.compare;
    const primary = typeof c.primary === 'string' ? c.primary : stable;
    if (c.candidate === primary || c.secondary === primary || (c.candidate !== undefined && c.candidate === c.secondary)) {
      issues.push({ path: at('compare'), message: 'primary, secondary and candidate must be three different versions (secondary: another instance of the stable code)' });
    }
  }
  if (isObj(svc.faults)) {
    const parsed = faultsSchema.safeParse(svc.faults);
    if (parsed.success) {
      for (const [p, message] of checkFaultRules(parsed.data.rules ?? [], versions, faultPolicyOf(parsed.data))) issues.push({ path: at('faults', 'rules', ...p), message });
    }
  }
}

const BUILTIN = /^(request-success-rate|error-count|request-duration-p(50|75|90|95|99|999))$/;

/** Cross-field rules of a service's `rollout:` block (the schema checks each field's shape). */
function checkRollout(r: Record<string, unknown>, at: (...p: PropertyKey[]) => string, issues: ConfigIssue[]): void {
  const maxWeight = typeof r.maxWeight === 'number' ? r.maxWeight : 100;
  (Array.isArray(r.steps) ? r.steps : []).forEach((step: unknown, i: number) => {
    if (!isObj(step)) return;
    const kinds = ['setWeight', 'pause', 'analysis'].filter((k) => step[k] !== undefined);
    if (kinds.length !== 1) issues.push({ path: at('steps', i), message: `give exactly one of setWeight, pause or analysis${kinds.length ? ` (found ${kinds.join(', ')})` : ''}` });
    if (typeof step.setWeight === 'number' && step.setWeight > maxWeight) {
      issues.push({ path: at('steps', i, 'setWeight'), message: `${step.setWeight} is above maxWeight ${maxWeight}; lower it (the end of the rollout promotes to 100 by itself)` });
    }
  });
  if (r.strategy === 'blueGreen' && Array.isArray(r.steps) && r.steps.some((s: unknown) => isObj(s) && s.setWeight !== undefined)) {
    issues.push({ path: at('steps'), message: 'a blueGreen rollout switches from 0 to 100 at once: use analysis and pause steps only (or strategy: canary)' });
  }
  const analysis = isObj(r.analysis) ? r.analysis : {};
  (Array.isArray(analysis.metrics) ? analysis.metrics : []).forEach((m: unknown, i: number) => {
    if (!isObj(m)) return;
    const sources = ['builtin', 'query', 'prometheus', 'webhook'].filter((k) => m[k] !== undefined);
    if (sources.length !== 1) issues.push({ path: at('analysis', 'metrics', i), message: `give exactly one source: builtin, query, prometheus or webhook${sources.length ? ` (found ${sources.join(', ')})` : ''}` });
    if (typeof m.builtin === 'string' && !BUILTIN.test(m.builtin)) {
      issues.push({ path: at('analysis', 'metrics', i, 'builtin'), message: `unknown built-in "${m.builtin}": use request-success-rate, error-count or request-duration-pNN (p50, p75, p90, p95, p99, p999)` });
    }
    const tr = m.thresholdRange;
    if (isObj(tr) && typeof tr.min === 'number' && typeof tr.max === 'number' && tr.min > tr.max) issues.push({ path: at('analysis', 'metrics', i, 'thresholdRange'), message: `min ${tr.min} is above max ${tr.max}` });
    if ((m.prometheus !== undefined || m.webhook !== undefined) && tr === undefined) issues.push({ path: at('analysis', 'metrics', i, 'thresholdRange'), message: 'a prometheus or webhook metric needs a thresholdRange (its value is only checked against it)' });
  });
  const judge = isObj(analysis.judge) ? analysis.judge : {};
  if (typeof judge.pass === 'number' && typeof judge.marginal === 'number' && judge.marginal > judge.pass) {
    issues.push({ path: at('analysis', 'judge', 'marginal'), message: `marginal ${judge.marginal} is above pass ${judge.pass}; a marginal score lies between them` });
  }
  (Array.isArray(r.blackouts) ? r.blackouts : []).forEach((b: unknown, i: number) => {
    if (!isObj(b) || typeof b.timeZone !== 'string') return;
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: b.timeZone });
    } catch {
      issues.push({ path: at('blackouts', i, 'timeZone'), message: `unknown time zone "${b.timeZone}": use an IANA name such as Europe/Berlin or UTC` });
    }
  });
}

function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.path}\0${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
