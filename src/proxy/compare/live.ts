import type { WideEvent } from '../../events/schema.ts';
import type { ServiceRoute } from '../table.ts';
import type { ResponseTap, TapExchange, TapHost } from '../taps-types.ts';
import { admitCopy, copyAdmitted, copyOutcome, copyPaused, newCounters, releaseCopy, sampled } from '../shadow/gate.ts';
import type { CopyCounters, CopyHealth, TokenBucket } from '../shadow/gate.ts';
import { sendCopyLater } from '../shadow/copy.ts';
import type { CopyPools, CopyResult, CopyTarget } from '../shadow/copy.ts';
import { teeOf } from '../shadow/shadow.ts';
import { createCompareCollector } from './collector.ts';
import type { CompareCollector } from './collector.ts';
import { COMPARE_DEFAULTS, collectorOptionsFromConfig, isSafeMethod } from './config.ts';
import type { CompareConfig } from './config.ts';
import { compareEventFields } from './events.ts';
import type { CompareRequest } from './examples.ts';
import type { CompareResponse } from './types.ts';

/**
 * Live tap compare in the proxy: on a sample of live requests answered by the primary, copies go to
 * the secondary and the candidate on the copy pools; the primary's answer is captured as it streams
 * to the user (up to a cap, never delaying it); the three are diffed by the collector and one compare
 * event is emitted per request.
 */

/** Bytes of each of the three bodies kept for the diff; a larger body counts as a failed comparison. */
export const COMPARE_BODY_BYTES = 1024 * 1024;

/** A service's collector and counters; they outlive routing tables while its compare block is unchanged. */
export interface CompareState {
  key: string;
  collector: CompareCollector;
  counters: CopyCounters;
  bucket: TokenBucket;
  /**
   * The copy breaker of the secondary and candidate together (a comparison needs both): after five
   * comparisons in a row where either failed to answer (refused, reset, timed out), comparisons pause
   * and are dropped as `unhealthy`, then one probe goes out (the shadow's breaker, src/proxy/shadow/gate.ts).
   */
  health: CopyHealth;
}

export interface RuntimeCompare {
  service: string;
  routeLabel: string;
  cfg: CompareConfig;
  primary: string;
  secondary: CopyTarget[];
  candidate: CopyTarget[];
  cursor: { n: number };
  state: CompareState;
}

export function compileCompare(svc: ServiceRoute, cfg: CompareConfig, routeLabel: string, pools: CopyPools, states: Map<string, CompareState>): RuntimeCompare | undefined {
  const sec = svc.versions.find((v) => v.name === cfg.secondary);
  const cand = svc.versions.find((v) => v.name === cfg.candidate);
  if (!sec || !cand) return undefined;
  const key = JSON.stringify(cfg);
  let state = states.get(svc.name);
  if (!state || state.key !== key) {
    state = { key, collector: createCompareCollector(collectorOptionsFromConfig(cfg)), counters: newCounters(), bucket: { tokens: 0, at: 0 }, health: { failures: 0, until: 0 } };
    states.set(svc.name, state);
  }
  return {
    service: svc.name,
    routeLabel,
    cfg,
    primary: cfg.primary ?? svc.stable,
    secondary: sec.upstreams.map((u) => pools.get(u, sec.timeouts.connectMs)),
    candidate: cand.upstreams.map((u) => pools.get(u, cand.timeouts.connectMs)),
    cursor: { n: 0 },
    state,
  };
}

function copyHeaders(fwd: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < fwd.length; i += 2) if (fwd[i].toLowerCase() !== 'x-weir-shadow') out.push(fwd[i], fwd[i + 1]);
  out.push('x-weir-shadow', '1');
  return out;
}

/** Captures the primary's answer as it streams to the user. */
class PrimaryCapture implements ResponseTap {
  readonly result: CopyResult = { status: 0, headers: [], body: Buffer.alloc(0), bytes: 0, truncated: false, upstreamMs: -1, durationMs: 0, address: '' };
  readonly #chunks: Buffer[] = [];
  readonly #done: () => void;
  constructor(done: () => void) {
    this.#done = done;
  }
  head(status: number, raw: readonly string[]): void {
    this.result.status = status;
    for (const h of raw) this.result.headers.push(h);
  }
  data(chunk: Buffer): number {
    this.result.bytes += chunk.length;
    if (this.result.bytes > COMPARE_BODY_BYTES) this.result.truncated = true;
    else this.#chunks.push(chunk);
    return 0;
  }
  #settled = false;
  end(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.result.body = Buffer.concat(this.#chunks);
    this.#done();
  }
  fail(code: string): void {
    if (this.#settled) return;
    this.#settled = true;
    this.result.error = code;
    this.#done();
  }
}

function asResponse(r: CopyResult): CompareResponse {
  return { status: r.status, headers: r.headers, body: r.body };
}

/**
 * Starts a comparison for this request when it is sampled and within the caps; returns the tap that
 * captures the primary's answer (or null).
 */
export function startCompare(host: TapHost, ex: TapExchange, rc: RuntimeCompare, version: string): ResponseTap | null {
  if (version !== rc.primary) return null;
  const cfg = rc.cfg;
  if (!(cfg.allowSideEffects ?? COMPARE_DEFAULTS.allowSideEffects) && !isSafeMethod(ex.method)) return null;
  if (!sampled((cfg.sampleRate ?? COMPARE_DEFAULTS.sampleRate) * 100, host.random)) return null;
  const st = rc.state;
  if (!ex.bodyless && ex.bytesIn > COMPARE_BODY_BYTES) {
    st.counters.sampled++;
    st.counters.dropped.body++;
    return null;
  }
  if (copyPaused(st.health, host.now())) {
    st.counters.sampled++;
    st.counters.dropped.unhealthy++;
    return null;
  }
  if (host.load() > (cfg.maxLoad ?? COMPARE_DEFAULTS.maxLoad)) {
    st.counters.sampled++;
    st.counters.dropped.overload++;
    return null;
  }
  const refused = admitCopy(st.counters, st.bucket, { maxConcurrent: cfg.maxConcurrent ?? COMPARE_DEFAULTS.maxConcurrent, maxRps: 0 }, host.now());
  if (refused !== null) return null;
  copyAdmitted(st.health);
  const url = ex.req.url ?? '/';
  const request: CompareRequest = { method: ex.method, path: url, headers: ex.view };
  const timeoutMs = cfg.timeout ?? COMPARE_DEFAULTS.timeoutMs;
  const headers = copyHeaders(ex.headers);
  let pending = 3;
  let secondary: CopyResult | undefined;
  let candidate: CopyResult | undefined;
  const finish = () => {
    if (--pending > 0) return;
    const p = capture.result;
    const failure = p.error !== undefined ? `primary: ${p.error}` : secondary!.error !== undefined ? `secondary: ${secondary!.error}` : candidate!.error !== undefined ? `candidate: ${candidate!.error}`
      : p.truncated || secondary!.truncated || candidate!.truncated ? `a body is larger than ${COMPARE_BODY_BYTES} bytes` : undefined;
    releaseCopy(st.counters, failure === undefined);
    // Only the copy targets' answering counts for the breaker, not the primary or a body over the cap.
    copyOutcome(st.health, secondary!.error === undefined && candidate!.error === undefined, host.now());
    const q = url.indexOf('?');
    const base: WideEvent = {
      timestamp: ex.startedAt,
      'request.id': ex.requestId,
      'service.name': rc.service,
      'service.version': cfg.candidate,
      'http.request.method': ex.method,
      'url.path': q === -1 ? url : url.slice(0, q),
      'http.route': rc.routeLabel,
      'http.response.status_code': candidate!.status,
      duration_ms: Math.round(candidate!.durationMs * 1000) / 1000,
      'weir.traffic': 'shadow',
      'upstream.address': candidate!.address,
      'http.request.body.size': ex.bytesIn,
      'http.response.body.size': candidate!.bytes,
      'error.type': candidate!.error,
    };
    if (failure !== undefined) {
      st.collector.recordFailure(undefined, request, failure);
      host.emit({ ...base, 'weir.compare.endpoint': st.collector.endpointOf(request), 'weir.compare.failed': failure });
      return;
    }
    const rec = st.collector.record(undefined, request, asResponse(p), asResponse(secondary!), asResponse(candidate!));
    host.emit({ ...base, ...compareEventFields(rec) });
  };
  const capture = new PrimaryCapture(finish);
  const n = rc.cursor.n++;
  const bodyFor = () => {
    if (ex.bodyless) return null;
    const tee = teeOf(ex);
    return tee ? tee.outlet(COMPARE_BODY_BYTES, () => {}) : null;
  };
  sendCopyLater(rc.secondary[n % rc.secondary.length], { path: url, method: ex.method, headers, body: bodyFor() }, COMPARE_BODY_BYTES, timeoutMs, (r) => { secondary = r; finish(); });
  sendCopyLater(rc.candidate[n % rc.candidate.length], { path: url, method: ex.method, headers, body: bodyFor() }, COMPARE_BODY_BYTES, timeoutMs, (r) => { candidate = r; finish(); });
  return capture;
}
