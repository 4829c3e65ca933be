import type { WideEvent } from '../../events/schema.ts';
import type { ServiceRoute } from '../table.ts';
import type { TapExchange, TapHost } from '../taps-types.ts';
import { compileMatch, matches, UNSAFE_METHODS } from '../zod-units.ts';
import type { CompiledMatch } from '../zod-units.ts';
import { admitCopy, copyAdmitted, copyOutcome, copyPaused, newCounters, releaseCopy, sampled } from './gate.ts';
import type { CopyCounters, CopyHealth, TokenBucket } from './gate.ts';
import { BodyTee, sendCopyLater } from './copy.ts';
import type { CopyPools, CopyResult, CopyTarget } from './copy.ts';
import type { ShadowRoute } from './config.ts';

/** A service's shadow counters and token bucket; they outlive routing tables. */
export interface ShadowState {
  counters: CopyCounters;
  bucket: TokenBucket;
  health: CopyHealth;
}

export function newShadowState(): ShadowState {
  return { counters: newCounters(), bucket: { tokens: 0, at: 0 }, health: { failures: 0, until: 0 } };
}

/** A service's shadow, compiled once per routing table. */
export interface RuntimeShadow {
  service: string;
  routeLabel: string;
  route: ShadowRoute;
  match: CompiledMatch;
  targets: CopyTarget[];
  cursor: { n: number };
  state: ShadowState;
}

export function compileShadow(svc: ServiceRoute, r: ShadowRoute, routeLabel: string, pools: CopyPools, state: ShadowState): RuntimeShadow | undefined {
  const v = svc.versions.find((x) => x.name === r.version);
  if (!v) return undefined;
  if (state.bucket.at === 0) state.bucket.tokens = Math.max(1, r.maxRps);
  return {
    service: svc.name,
    routeLabel,
    route: r,
    match: compileMatch(r.match),
    targets: v.upstreams.map((u) => pools.get(u, v.timeouts.connectMs)),
    cursor: { n: 0 },
    state,
  };
}

/**
 * The headers of a shadow copy: the primary's forwarded headers without the user's credentials (and
 * any configured removals), with the shadow's own credentials and `x-weir-shadow: 1`.
 * @example shadowHeaders(['authorization', 'Bearer user', 'host', 'shop'], route) // → ['host', 'shop', 'x-weir-shadow', '1']
 */
export function shadowHeaders(fwd: readonly string[], r: Pick<ShadowRoute, 'removeHeaders' | 'setHeaders' | 'hostSuffix'>): string[] {
  const out: string[] = [];
  for (let i = 0; i < fwd.length; i += 2) {
    const lower = fwd[i].toLowerCase();
    if (r.removeHeaders.includes(lower) || lower in r.setHeaders || lower === 'x-weir-shadow') continue;
    if (lower === 'host' && r.hostSuffix) {
      out.push(fwd[i], withShadowSuffix(fwd[i + 1]));
      continue;
    }
    out.push(fwd[i], fwd[i + 1]);
  }
  for (const [k, v] of Object.entries(r.setHeaders)) out.push(k, v);
  out.push('x-weir-shadow', '1');
  return out;
}

/** `shop.example.com:8080` → `shop.example.com-shadow:8080` (Envoy's convention). */
export function withShadowSuffix(host: string): string {
  const c = host.lastIndexOf(':');
  const bracket = host.lastIndexOf(']');
  return c > bracket ? `${host.slice(0, c)}-shadow${host.slice(c)}` : `${host}-shadow`;
}

/** Lazily puts a BodyTee in front of the exchange's body. */
export function teeOf(ex: TapExchange): BodyTee | null {
  if (ex.body === null) return null;
  if (ex.body instanceof BodyTee) return ex.body;
  const tee = new BodyTee();
  const src = ex.body;
  // pipe() does not forward errors: a body over its limit (BodyMeter) must still fail the primary.
  src.once('error', (err) => tee.destroy(err));
  ex.body = src.pipe(tee);
  return tee;
}

/**
 * Decides whether this request is copied to the shadow and, if so, starts the copy. Never delays or
 * fails the user's request: every refusal is a counted drop, recorded on the request's event as
 * `weir.shadow`.
 */
export function startShadow(host: TapHost, ex: TapExchange, sh: RuntimeShadow): void {
  const r = sh.route;
  const url = ex.req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (!matches(sh.match, ex.method, path, ex.view)) return;
  if (!sampled(r.percent, host.random)) return;
  const c = sh.state.counters;
  const note = (v: string) => { (ex.extra ??= {})['weir.shadow'] = v; };
  if (!r.allowUnsafeMethods && UNSAFE_METHODS.has(ex.method)) {
    c.sampled++;
    c.dropped['unsafe-method']++;
    return note('dropped:unsafe-method');
  }
  if (!ex.bodyless && ex.bytesIn > r.maxBodyBytes) {
    c.sampled++;
    c.dropped.body++;
    return note('dropped:body');
  }
  const now = host.now();
  if (copyPaused(sh.state.health, now)) {
    c.sampled++;
    c.dropped.unhealthy++;
    return note('dropped:unhealthy');
  }
  if (host.load() > r.maxLoad) {
    c.sampled++;
    c.dropped.overload++;
    return note('dropped:overload');
  }
  const refused = admitCopy(c, sh.state.bucket, r, now);
  if (refused !== null) return note(`dropped:${refused}`);
  copyAdmitted(sh.state.health);
  note('sent');
  let body = null;
  let overCap = false;
  if (!ex.bodyless) {
    const tee = teeOf(ex);
    if (tee) body = tee.outlet(r.maxBodyBytes, () => { overCap = true; c.dropped.body++; note('dropped:body'); });
  }
  const target = sh.targets[sh.cursor.n++ % sh.targets.length];
  const startedAt = ex.startedAt;
  const method = ex.method;
  sendCopyLater(target, { path: url, method, headers: shadowHeaders(ex.headers, r), body }, 0, r.timeoutMs, (res: CopyResult) => {
    releaseCopy(c, res.error === undefined);
    if (res.error === 'SHADOW_TIMEOUT') c.dropped.slow++;
    // Refusals, resets and copies not answered within the timeout pause the copies (a circuit breaker);
    // a copy dropped for its body size says nothing about the shadow.
    if (!overCap) copyOutcome(sh.state.health, res.error === undefined, host.now());
    else sh.state.health.probing = false; // a probe dropped for its body: the next copy probes
    const event: WideEvent = {
      timestamp: startedAt,
      'request.id': ex.requestId,
      'service.name': sh.service,
      'service.version': r.version,
      'http.request.method': method,
      'url.path': path,
      'http.route': sh.routeLabel,
      'http.response.status_code': res.status,
      duration_ms: Math.round(res.durationMs * 1000) / 1000,
      'upstream.duration_ms': res.upstreamMs >= 0 ? Math.round(res.upstreamMs * 1000) / 1000 : undefined,
      'weir.traffic': 'shadow',
      'upstream.address': res.address,
      'http.request.body.size': ex.bytesIn,
      'http.response.body.size': res.bytes,
      'error.type': res.error,
      'client.address': ex.clientIp,
    };
    host.emit(event);
  });
}
