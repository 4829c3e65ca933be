/**
 * RFC 9110 proxy hygiene for request and response headers, done in one pass over Node's raw header
 * array (no intermediate objects). Hop-by-hop headers are removed, Weir's own control headers never
 * reach an upstream, and `via`, `x-forwarded-*` and `x-request-id` are added.
 */

/** Hop-by-hop headers (RFC 9110 §7.6.1) plus ones undici must not be handed. */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'proxy-authenticate', 'proxy-authorization', 'expect', 'http2-settings',
]);

/** Headers Weir reads and strips: they are for Weir, never for the upstream. */
const WEIR_CONTROL = new Set(['x-weir-test-token', 'x-weir-version', 'x-weir-traffic', 'x-weir-shadow', 'x-weir-fault-delay-ms', 'x-weir-fault-abort-status']);

export interface ForwardInfo {
  clientIp: string;
  proto: 'http' | 'https';
  requestId: string;
  /** `test` adds `x-weir-traffic: test` so upstreams can tag test data. */
  traffic: 'live' | 'test';
  /** Keep Upgrade/Connection for a WebSocket handshake (undici adds its own). */
  upgrade?: boolean;
}

export const VIA = '1.1 weir';

let dateSecond = -1;
let dateValue = '';

/**
 * The `Date` header value for Weir's own answers (RFC 9110 §6.6.1: a server with a clock sends one),
 * formatted once per second, as node:http and nginx cache it. Proxied answers keep the upstream's.
 * @example httpDate(Date.UTC(2026, 10, 24)) // 'Tue, 24 Nov 2026 00:00:00 GMT'
 */
export function httpDate(now: number = Date.now()): string {
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateValue = new Date(second * 1000).toUTCString();
  }
  return dateValue;
}

const NONE: string[] = [];

/** Names listed in a Connection header, lower-cased, minus the ordinary ones. */
function connectionTokens(value: string): string[] {
  // Almost every Connection header is exactly one of the ordinary ones: nothing to split.
  if (value === 'keep-alive' || value === 'close' || value === 'Keep-Alive' || value === 'upgrade' || value === 'Upgrade') return NONE;
  const out: string[] = [];
  for (const t of value.split(',')) {
    const n = t.trim().toLowerCase();
    if (n && n !== 'close' && n !== 'keep-alive' && n !== 'upgrade') out.push(n);
  }
  return out;
}

/** Drops the `weir-version` cookie from a Cookie header value; returns undefined when nothing is left. */
export function stripWeirCookie(value: string): string | undefined {
  if (!value.includes('weir-version')) return value;
  const kept = value.split(';').filter((p) => p.trim().split('=')[0] !== 'weir-version').map((p) => p.trim()).filter(Boolean);
  return kept.length ? kept.join('; ') : undefined;
}

/** Headers every request's view holds, whatever the table asks for. */
export const BASE_INTEREST: readonly string[] = [
  'host', 'x-request-id', 'content-length', 'transfer-encoding', 'user-agent', 'cookie', 'x-weir-test-token', 'x-weir-version',
  'x-weir-fault-delay-ms', 'x-weir-fault-abort-status', 'expect',
];

/**
 * One pass over the raw request headers: the hop-by-hop-free headers to forward (without the
 * headers Weir appends), and a small lower-case view of the headers routing and events need. This
 * replaces Node's `req.headers`, which would lower-case and copy every header a second time.
 */
export interface ScannedHeaders {
  forward: string[];
  view: Record<string, string>;
  xff: string | undefined;
  via: string | undefined;
  haveProto: boolean;
  haveHost: boolean;
}

export function scanRequestHeaders(raw: string[], interest: ReadonlySet<string>): ScannedHeaders {
  const out: string[] = [];
  const view: Record<string, string> = {};
  let xff: string | undefined;
  let via: string | undefined;
  let haveProto = false;
  let haveHost = false;
  let extraHop: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const lower = name.toLowerCase();
    const value = raw[i + 1];
    if (interest.has(lower)) {
      const prev = view[lower];
      view[lower] = prev === undefined ? value : `${prev}${lower === 'cookie' ? '; ' : ', '}${value}`;
    }
    if (HOP_BY_HOP.has(lower)) {
      if (lower === 'connection') {
        const t = connectionTokens(value);
        if (t.length) (extraHop ??= []).push(...t);
      }
      continue;
    }
    if (WEIR_CONTROL.has(lower)) continue;
    switch (lower) {
      case 'x-forwarded-for': xff = xff === undefined ? value : `${xff}, ${value}`; continue;
      case 'via': via = via === undefined ? value : `${via}, ${value}`; continue;
      case 'x-request-id': continue; // re-added by finishForwardHeaders, exactly once
      case 'x-forwarded-proto': haveProto = true; break;
      case 'x-forwarded-host': haveHost = true; break;
      case 'cookie': {
        const c = stripWeirCookie(value);
        if (c === undefined) continue;
        out.push(name, c);
        continue;
      }
    }
    out.push(name, value);
  }
  if (extraHop) {
    // Rare: headers named in Connection are hop-by-hop too (RFC 9110 §7.6.1).
    for (let i = out.length - 2; i >= 0; i -= 2) if (extraHop.includes(out[i].toLowerCase())) out.splice(i, 2);
  }
  return { forward: out, view, xff, via, haveProto, haveHost };
}

/** Appends `x-forwarded-*`, `via`, `x-request-id` (and `x-weir-traffic: test`) to the scanned headers. */
export function finishForwardHeaders(s: ScannedHeaders, info: ForwardInfo): string[] {
  const out = s.forward;
  out.push('x-forwarded-for', s.xff === undefined ? info.clientIp : `${s.xff}, ${info.clientIp}`);
  if (!s.haveProto) out.push('x-forwarded-proto', info.proto);
  if (!s.haveHost && s.view.host !== undefined) out.push('x-forwarded-host', s.view.host);
  out.push('via', s.via === undefined ? VIA : `${s.via}, ${VIA}`);
  out.push('x-request-id', info.requestId);
  if (info.traffic === 'test') out.push('x-weir-traffic', 'test');
  return out;
}

const BASE_SET = new Set(BASE_INTEREST);

/**
 * Builds the upstream request headers as a flat [name, value, …] array.
 *
 * @example
 *   forwardHeaders(req.rawHeaders, { clientIp: '10.0.0.1', proto: 'http', requestId: 'r1', traffic: 'live' })
 */
export function forwardHeaders(raw: string[], info: ForwardInfo): string[] {
  return finishForwardHeaders(scanRequestHeaders(raw, BASE_SET), info);
}

/**
 * Filters upstream response headers for the client: hop-by-hop removed, `via` added. Returns the
 * flat array Node's `writeHead` accepts and the content-length, if the upstream gave one.
 */
export function responseHeaders(raw: ReadonlyArray<Buffer | string>): { headers: string[]; contentLength: number } {
  const out: string[] = [];
  let contentLength = -1;
  let via: string | undefined;
  let extraHop: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    // Field names are tokens (ASCII) and values are octets: latin1 decodes both without UTF-8 work.
    const name = raw[i].toString('latin1');
    const lower = name.toLowerCase();
    const value = raw[i + 1].toString('latin1');
    if (HOP_BY_HOP.has(lower)) {
      if (lower === 'connection') {
        const t = connectionTokens(value);
        if (t.length) (extraHop ??= []).push(...t);
      }
      continue;
    }
    if (lower === 'via') { via = via === undefined ? value : `${via}, ${value}`; continue; }
    if (lower === 'content-length') contentLength = Number(value);
    out.push(name, value);
  }
  if (extraHop) {
    for (let i = out.length - 2; i >= 0; i -= 2) if (extraHop.includes(out[i].toLowerCase())) out.splice(i, 2);
  }
  out.push('via', via === undefined ? VIA : `${via}, ${VIA}`);
  return { headers: out, contentLength };
}
