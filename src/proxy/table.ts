import type { ServiceConfig, WeirConfig, TimeoutsConfig, LimitsConfig } from '../config/schema.ts';
import type { ShadowRoute } from './shadow/config.ts';
import { shadowRouteOf } from './shadow/config.ts';
import type { CompareConfig } from './compare/config.ts';
import type { FaultPolicy, FaultRule } from './faults/config.ts';
import type { FlagRoute } from '../flags/edge.ts';
import { flagClosure } from '../flags/edge.ts';
import { faultPolicyOf, faultRulesOf } from './faults/config.ts';

/**
 * The routing table: the only thing the data plane knows. An immutable, versioned, JSON-serialisable
 * value computed by the control plane from weir.yaml plus live state (weights set by the API, rollouts,
 * a halt). `weir up` hands it to the proxy in memory; `weir proxy` receives the same value as a stream.
 * A capability that needs the proxy to behave differently adds a field here, never a side channel.
 */
export interface RoutingTable {
  /** Grows with every change; a proxy ignores a table older than the one it has. */
  version: number;
  services: ServiceRoute[];
}

export interface ServiceRoute {
  name: string;
  match: { host?: string; pathPrefix: string };
  /** The baseline: takes the traffic no other version claims; canaries are judged against it. */
  stable: string;
  versions: VersionRoute[];
  /** Percent per version name, summing to 100. A version not listed gets 0 (deployed, not released). */
  weights: Record<string, number>;
  sticky: StickyKey;
  testTokens: string[];
  cohorts: CohortRule[];
  outlier: { consecutiveFailures: number; cooldownMs: number };
  /** Copies of live requests to a version no user sees (absent: none). */
  shadow?: ShadowRoute;
  /** Live tap compare (absent: none). */
  compare?: CompareConfig;
  /** Active fault rules: from weir.yaml, or as set at run time through the API (a drill). */
  faults?: FaultRule[];
  /** Blast-radius caps and the error budget; present when the service has a `faults:` block or API-set faults. */
  faultPolicy?: FaultPolicy;
  /** The version chosen by a flag's variant, with the flag definitions it needs (absent: none). */
  flag?: FlagRoute;
}

export type StickyKey =
  | { kind: 'header' | 'cookie' | 'query'; name: string }
  | { kind: 'ip' }
  | { kind: 'none' };

export interface CohortRule {
  source: 'header' | 'cookie';
  name: string;
  op: 'exact' | 'prefix' | 'in';
  values: string[];
  version: string;
}

export interface VersionRoute {
  name: string;
  upstreams: string[];
  timeouts: Required<Timeouts>;
  limits: Limits;
}

export interface Timeouts {
  connectMs: number;
  headersMs: number;
  idleMs: number;
  /** 0 = no overall limit. */
  totalMs: number;
}

export interface Limits {
  requestBodyBytes?: number;
  responseBodyBytes?: number;
  maxPending?: number;
}

export const DEFAULT_TIMEOUTS: Readonly<Timeouts> = { connectMs: 5_000, headersMs: 30_000, idleMs: 60_000, totalMs: 0 };
export const DEFAULT_OUTLIER = { consecutiveFailures: 5, cooldownMs: 30_000 } as const;

function mergeTimeouts(...layers: Array<TimeoutsConfig | undefined>): Timeouts {
  const t = { ...DEFAULT_TIMEOUTS };
  for (const l of layers) {
    if (!l) continue;
    if (l.connect !== undefined) t.connectMs = l.connect;
    if (l.headers !== undefined) t.headersMs = l.headers;
    if (l.idle !== undefined) t.idleMs = l.idle;
    if (l.total !== undefined) t.totalMs = l.total;
  }
  return t;
}

function mergeLimits(...layers: Array<LimitsConfig | undefined>): Limits {
  const out: Limits = {};
  for (const l of layers) {
    if (!l) continue;
    if (l.requestBody !== undefined) out.requestBodyBytes = l.requestBody;
    if (l.responseBody !== undefined) out.responseBodyBytes = l.responseBody;
    if (l.maxPending !== undefined) out.maxPending = l.maxPending;
  }
  return out;
}

function parseSticky(s: string | undefined): StickyKey {
  if (s === undefined || s === 'none') return s === undefined ? { kind: 'none' } : { kind: 'none' };
  if (s === 'ip') return { kind: 'ip' };
  const i = s.indexOf(':');
  const kind = s.slice(0, i) as 'header' | 'cookie' | 'query';
  const name = s.slice(i + 1);
  return { kind, name: kind === 'header' ? name.toLowerCase() : name };
}

/** The weights a service starts with: as configured, or everything on the stable version. */
export function configuredWeights(svc: ServiceConfig): Record<string, number> {
  const names = Object.keys(svc.versions);
  const stable = svc.stable ?? names[0];
  const out: Record<string, number> = {};
  for (const n of names) out[n] = 0;
  if (svc.weights) Object.assign(out, svc.weights);
  else out[stable] = 100;
  return out;
}

/**
 * Builds a routing table from a validated config, live weight overrides (service → weights) and live
 * stable versions (service → version, set by a rollout that succeeded).
 *
 * @example
 *   const table = buildTable(config, 1, { shop: { stable: 75, canary: 25 } });
 */
export function buildTable(config: WeirConfig, version: number, weightOverrides: Record<string, Record<string, number>> = {}, stableOverrides: Record<string, string> = {}, faultOverrides: Record<string, FaultRule[]> = {}, flagDefinitions: Record<string, unknown> = {}): RoutingTable {
  const proxy = config.proxy ?? {};
  const services: ServiceRoute[] = [];
  for (const [name, svc] of Object.entries(config.services)) {
    const versionNames = Object.keys(svc.versions);
    const versions: VersionRoute[] = versionNames.map((vname) => {
      const v = svc.versions[vname];
      const obj = typeof v === 'string' ? { upstreams: [v] } : Array.isArray(v) ? { upstreams: v } : v;
      const o = obj as { upstreams: string[]; timeouts?: TimeoutsConfig; limits?: LimitsConfig };
      return {
        name: vname,
        upstreams: o.upstreams.map((u) => u.replace(/\/+$/, '')),
        timeouts: mergeTimeouts(proxy.timeouts, svc.timeouts, o.timeouts) as Required<Timeouts>,
        limits: mergeLimits(proxy.limits, svc.limits, o.limits),
      };
    });
    const base = configuredWeights(svc);
    const override = weightOverrides[name];
    const weights = override && Object.keys(override).every((v) => versionNames.includes(v))
      ? Object.fromEntries(versionNames.map((v) => [v, override[v] ?? 0]))
      : base;
    const route: ServiceRoute = {
      name,
      match: { host: svc.match.host?.toLowerCase(), pathPrefix: svc.match.pathPrefix ?? '/' },
      // A rollout that succeeded makes its version the stable one (live state, like weights).
      stable: versionNames.includes(stableOverrides[name]) ? stableOverrides[name] : svc.stable ?? versionNames[0],
      versions,
      weights,
      sticky: parseSticky(svc.stickyBy),
      testTokens: svc.testTraffic?.tokens ?? [],
      cohorts: (svc.cohorts ?? []).map((c) => {
        const op = c.match.exact !== undefined ? 'exact' : c.match.prefix !== undefined ? 'prefix' : 'in';
        const values = op === 'exact' ? [c.match.exact!] : op === 'prefix' ? [c.match.prefix!] : c.match.in!;
        const source = c.match.header !== undefined ? 'header' : 'cookie';
        const hname = source === 'header' ? c.match.header!.toLowerCase() : c.match.cookie!;
        return { source, name: hname, op, values, version: c.version };
      }),
      outlier: {
        consecutiveFailures: svc.outlier?.consecutiveFailures ?? DEFAULT_OUTLIER.consecutiveFailures,
        cooldownMs: svc.outlier?.cooldown ?? DEFAULT_OUTLIER.cooldownMs,
      },
    };
    if (svc.shadow) route.shadow = shadowRouteOf(svc.shadow);
    if (svc.compare) route.compare = svc.compare;
    const faults = faultOverrides[name] ?? (svc.faults?.rules ? faultRulesOf(svc.faults.rules) : undefined);
    if (svc.faults || faults) route.faultPolicy = faultPolicyOf(svc.faults);
    if (faults && faults.length) route.faults = faults;
    if (svc.flag) {
      route.flag = {
        key: svc.flag.key, versions: svc.flag.versions, contextHeaders: (svc.flag.contextHeaders ?? []).map((h) => h.toLowerCase()),
        flags: flagClosure(svc.flag.key, flagDefinitions),
      };
      if (svc.flag.forwardHeader) route.flag.forwardHeader = svc.flag.forwardHeader.toLowerCase();
    }
    services.push(route);
  }
  return { version, services };
}

/** Checks a weight map against a service: every name declared, each 0–100, summing to 100. */
export function checkWeights(service: Pick<ServiceRoute, 'versions'>, weights: unknown): string[] {
  const problems: string[] = [];
  if (weights === null || typeof weights !== 'object' || Array.isArray(weights)) return ['weights must be a JSON object of version name → percent'];
  const names = service.versions.map((v) => v.name);
  let sum = 0;
  for (const [k, w] of Object.entries(weights)) {
    if (!names.includes(k)) problems.push(`${k}: no version named "${k}" (versions: ${names.join(', ')})`);
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0 || w > 100) problems.push(`${k}: weight must be a number from 0 to 100`);
    else sum += w;
  }
  if (problems.length === 0 && Math.abs(sum - 100) > 1e-9) problems.push(`weights add up to ${sum}; they are percentages and must add up to 100`);
  return problems;
}
