import { compileSplit } from './split.ts';
import { BASE_INTEREST } from './headers.ts';
import type { CompiledSplit } from './split.ts';
import type { RoutingTable, ServiceRoute, VersionRoute } from './table.ts';
import type { Instance, InstanceRegistry } from './upstream.ts';
import { compileTaps, newTapStates } from './taps.ts';
import type { ServiceTaps, TapStates } from './taps.ts';
import { CopyPools } from './shadow/copy.ts';

/** Live counters per service version; they outlive routing tables. */
export interface VersionStats {
  requests: number;
  inflight: number;
  /** Answers with status ≥ 500, including Weir's own 5xx. */
  errors: number;
}

export interface RuntimeVersion {
  name: string;
  route: VersionRoute;
  instances: Instance[];
  cursor: { n: number };
  stats: VersionStats;
}

export interface RuntimeService {
  route: ServiceRoute;
  split: CompiledSplit;
  versions: Map<string, RuntimeVersion>;
  /** The route label for events: `host/prefix` or `prefix`. */
  routeLabel: string;
  /** Shadow, compare and faults; undefined for a service with none (the hot path checks only this). */
  taps: ServiceTaps | undefined;
}

/** A routing table compiled for the data plane: services in match order, pools attached. */
export interface RuntimeTable {
  version: number;
  services: RuntimeService[];
  /** Every instance this table uses (to close the rest after a swap). */
  instances: Set<Instance>;
  /** Lower-case names of the request headers routing and events read (see scanRequestHeaders). */
  interest: ReadonlySet<string>;
}

/** Most specific first: a host match beats none, then longer path prefixes. */
function specificity(a: ServiceRoute, b: ServiceRoute): number {
  const ha = a.match.host ? 1 : 0;
  const hb = b.match.host ? 1 : 0;
  if (ha !== hb) return hb - ha;
  return b.match.pathPrefix.length - a.match.pathPrefix.length;
}

export function compileTable(table: RoutingTable, registry: InstanceRegistry, stats: Map<string, VersionStats>, extraHeaders: readonly string[] = [],
  pools: CopyPools = new CopyPools(), tapStates: TapStates = newTapStates()): RuntimeTable {
  const instances = new Set<Instance>();
  const interest = new Set<string>([...BASE_INTEREST, ...extraHeaders]);
  const services = [...table.services].sort(specificity).map((route): RuntimeService => {
    const versions = new Map<string, RuntimeVersion>();
    for (const v of route.versions) {
      const insts = v.upstreams.map((u) => registry.get(u, v.timeouts));
      insts.forEach((i) => instances.add(i));
      const key = `${route.name}\u0000${v.name}`;
      let s = stats.get(key);
      if (!s) stats.set(key, (s = { requests: 0, inflight: 0, errors: 0 }));
      versions.set(v.name, { name: v.name, route: v, instances: insts, cursor: { n: 0 }, stats: s });
    }
    if (route.sticky.kind === 'header') interest.add(route.sticky.name);
    for (const c of route.cohorts) if (c.source === 'header') interest.add(c.name);
    for (const h of route.flag?.contextHeaders ?? []) interest.add(h);
    const routeLabel = `${route.match.host ?? ''}${route.match.pathPrefix}`;
    return {
      route,
      split: compileSplit(route),
      versions,
      routeLabel,
      taps: compileTaps(route, routeLabel, pools, tapStates, interest),
    };
  });
  return { version: table.version, services, instances, interest };
}

/** Host header without port, lower-cased. */
export function hostOnly(host: string | undefined): string {
  if (!host) return '';
  if (host[0] === '[') {
    const end = host.indexOf(']');
    return host.slice(0, end + 1).toLowerCase();
  }
  const c = host.indexOf(':');
  return (c === -1 ? host : host.slice(0, c)).toLowerCase();
}

/** True when `path` is under `prefix` on a segment boundary (`/api` matches `/api/x` and `/api?q`, not `/apix`). */
export function underPrefix(path: string, prefix: string): boolean {
  if (prefix === '/') return true;
  if (!path.startsWith(prefix)) return false;
  if (path.length === prefix.length || prefix.endsWith('/')) return true;
  const c = path.charCodeAt(prefix.length);
  return c === 47 /* / */ || c === 63 /* ? */;
}

export function matchService(table: RuntimeTable, host: string, path: string): RuntimeService | undefined {
  const list = table.services;
  for (let i = 0; i < list.length; i++) {
    const s = list[i];
    const m = s.route.match;
    if (m.host !== undefined && m.host !== host) continue;
    if (underPrefix(path, m.pathPrefix)) return s;
  }
  return undefined;
}
