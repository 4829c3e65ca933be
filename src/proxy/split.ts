import { murmur3 } from '../util/murmur3.ts';
import type { Decision } from '../events/schema.ts';
import type { CohortRule, ServiceRoute, StickyKey } from './table.ts';
import { compileFlagRoute, edgeDecision } from '../flags/edge.ts';
import type { CompiledFlagRoute } from '../flags/edge.ts';

/** Buckets a sticky key hashes into; a weight of 1% is 100 buckets. */
export const BUCKETS = 10_000;

/** What the split needs to know about a request; the proxy fills it from the raw request. */
export interface SplitInput {
  /** Lower-case header name → value. */
  headers: Record<string, string | string[] | undefined>;
  /** The path with its query string, as received. */
  url: string;
  clientIp: string;
}

export interface SplitChoice {
  version: string;
  reason: Decision;
  /** `test` when the request carried a valid test token. */
  traffic: 'live' | 'test';
  /** The sticky key, when one was found (the proxy hashes it for the event). */
  stickyKey?: string;
  bucket?: number;
  /** The flag evaluated for this request, when the service routes by a flag and its variant chose the version. */
  flag?: { key: string; variant: string; forwardHeader?: string };
}

/** A service's split, precomputed once per routing table so each request does the least work. */
export interface CompiledSplit {
  service: string;
  stable: string;
  versionNames: ReadonlySet<string>;
  /** Upper bucket bound (exclusive) per version, in bucket order: non-stable versions first, the stable one last. */
  ranges: ReadonlyArray<{ version: string; end: number }>;
  sticky: StickyKey;
  testTokens: ReadonlySet<string>;
  cohorts: ReadonlyArray<CohortRule>;
  flag?: CompiledFlagRoute;
}

/**
 * Precomputes the bucket ranges. Non-stable versions take buckets from 0 in declaration order and the
 * stable version takes the rest, so raising a canary's weight only moves users from the stable version
 * onto it: a user on the canary at 5% is still on it at 25%.
 */
export function compileSplit(route: ServiceRoute): CompiledSplit {
  const order = route.versions.map((v) => v.name).filter((n) => n !== route.stable);
  order.push(route.stable);
  const ranges: Array<{ version: string; end: number }> = [];
  let acc = 0;
  for (const name of order) {
    acc += Math.round((route.weights[name] ?? 0) * (BUCKETS / 100));
    ranges.push({ version: name, end: name === route.stable ? BUCKETS : Math.min(acc, BUCKETS) });
  }
  return {
    service: route.name,
    stable: route.stable,
    versionNames: new Set(route.versions.map((v) => v.name)),
    ranges,
    sticky: route.sticky,
    testTokens: new Set(route.testTokens),
    cohorts: route.cohorts,
    ...(route.flag ? { flag: compileFlagRoute(route.flag) } : {}),
  };
}

/** The bucket (0–9999) a sticky key falls in for a service. Salted by service so services split independently. */
export function bucketOf(service: string, key: string): number {
  return Math.floor((murmur3(`${service}\u0000${key}`) * BUCKETS) / 4294967296);
}

/** The version owning a bucket. */
export function versionForBucket(split: CompiledSplit, bucket: number): string {
  const r = split.ranges;
  for (let i = 0; i < r.length; i++) if (bucket < r[i].end) return r[i].version;
  return split.stable;
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Reads one cookie from a Cookie header without parsing the rest. */
export function cookieValue(header: string | string[] | undefined, name: string): string | undefined {
  const h = Array.isArray(header) ? header.join('; ') : header;
  if (!h) return undefined;
  let i = 0;
  while (i < h.length) {
    while (h.charCodeAt(i) === 32) i++;
    const semi = h.indexOf(';', i);
    const end = semi === -1 ? h.length : semi;
    const eq = h.indexOf('=', i);
    if (eq !== -1 && eq < end && h.slice(i, eq).trim() === name) {
      let v = h.slice(eq + 1, end).trim();
      if (v.length >= 2 && v[0] === '"' && v[v.length - 1] === '"') v = v.slice(1, -1);
      return v;
    }
    i = end + 1;
  }
  return undefined;
}

/** Reads one query parameter from a request URL. */
export function queryValue(url: string, name: string): string | undefined {
  const q = url.indexOf('?');
  if (q === -1) return undefined;
  const v = new URLSearchParams(url.slice(q + 1)).get(name);
  return v ?? undefined;
}

export function stickyKeyOf(sticky: StickyKey, input: SplitInput): string | undefined {
  switch (sticky.kind) {
    case 'header': return first(input.headers[sticky.name]) || undefined;
    case 'cookie': return cookieValue(input.headers.cookie, sticky.name) || undefined;
    case 'query': return queryValue(input.url, sticky.name) || undefined;
    case 'ip': return input.clientIp || undefined;
    default: return undefined;
  }
}

function cohortMatches(rule: CohortRule, input: SplitInput): boolean {
  const value = rule.source === 'header' ? first(input.headers[rule.name]) : cookieValue(input.headers.cookie, rule.name);
  if (value === undefined) return false;
  switch (rule.op) {
    case 'exact': return value === rule.values[0];
    case 'prefix': return value.startsWith(rule.values[0]);
    default: return rule.values.includes(value);
  }
}

/** The test token on a request, if it is one of the service's tokens. */
export function validTestToken(split: CompiledSplit, input: SplitInput): boolean {
  if (split.testTokens.size === 0) return false;
  const token = first(input.headers['x-weir-test-token']);
  return token !== undefined && split.testTokens.has(token);
}

/**
 * Chooses the version for a request, in order: test-token override, cohorts, flag (the variant's version,
 * when the service routes by a flag and the variant maps to one), sticky weighted split, random weighted
 * split. Pure: randomness comes in as `random()` in [0, 1), the time (for flag rules that read
 * `$flagd.timestamp`) as `now()`.
 *
 * @example
 *   const choice = chooseVersion(compileSplit(route), { headers, url: '/cart', clientIp: '10.0.0.1' }, Math.random);
 *   // { version: 'canary', reason: 'weight', traffic: 'live', stickyKey: 'user-42', bucket: 311 }
 */
export function chooseVersion(split: CompiledSplit, input: SplitInput, random: () => number, now: () => number = Date.now): SplitChoice {
  let traffic: 'live' | 'test' = 'live';
  if (validTestToken(split, input)) {
    traffic = 'test';
    const wanted = first(input.headers['x-weir-version']) ?? cookieValue(input.headers.cookie, 'weir-version');
    if (wanted !== undefined && split.versionNames.has(wanted)) return { version: wanted, reason: 'test-override', traffic };
  }
  for (const rule of split.cohorts) {
    if (cohortMatches(rule, input)) return { version: rule.version, reason: 'cohort', traffic };
  }
  const key = stickyKeyOf(split.sticky, input);
  const f = split.flag;
  if (f !== undefined) {
    const headers: Record<string, string> = {};
    for (const h of f.contextHeaders) {
      const v = first(input.headers[h]);
      if (v !== undefined) headers[h] = v;
    }
    const q = input.url.indexOf('?');
    const d = edgeDecision(f, { targetingKey: key, path: q === -1 ? input.url : input.url.slice(0, q), headers }, now);
    if (d.version !== undefined && d.variant !== undefined && split.versionNames.has(d.version)) {
      const out: SplitChoice = { version: d.version, reason: 'flag', traffic, flag: { key: f.key, variant: d.variant, forwardHeader: f.forwardHeader } };
      if (key !== undefined) out.stickyKey = key;
      return out;
    }
  }
  if (key !== undefined) {
    const bucket = bucketOf(split.service, key);
    return { version: versionForBucket(split, bucket), reason: 'weight', traffic, stickyKey: key, bucket };
  }
  const bucket = Math.floor(random() * BUCKETS);
  return { version: versionForBucket(split, bucket), reason: 'random', traffic, bucket };
}
