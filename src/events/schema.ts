/**
 * The wide event: one per request through the proxy (and, later, one per shadow copy, compare,
 * fault, OTLP span or app event). Field names follow the OpenTelemetry semantic conventions where one
 * exists; Weir's own fields live under `weir.`. Custom fields (captured request headers as
 * `http.request.header.<name>`, app attributes) sit beside the standard ones in the same flat object.
 *
 * The object is flat on purpose: it is what the JSON-lines access log holds, what the event store
 * ingests, and what queries filter and group on, with no mapping in between.
 */
export interface WideEvent {
  /** Start of the request, milliseconds since the Unix epoch. */
  timestamp: number;
  'request.id': string;
  /** The Weir service that matched (not the upstream's own service name). */
  'service.name': string;
  /** The version that answered (or was chosen, when it failed). */
  'service.version'?: string;
  'http.request.method': string;
  'url.path': string;
  /** The matched route: the service's match rule, e.g. `shop.example.com/api`. */
  'http.route'?: string;
  'http.response.status_code': number;
  /** Total time in the proxy, from request start to the last byte written, ms (fractional). */
  duration_ms: number;
  /** Time from sending upstream to the upstream's response headers, ms (fractional). */
  'upstream.duration_ms'?: number;
  /** Why this version: test-override, cohort, weight, random, flag. */
  'weir.decision'?: Decision;
  /** live, test, shadow or replay. */
  'weir.traffic': TrafficKind;
  /** host:port of the upstream instance that answered. */
  'upstream.address'?: string;
  'http.request.body.size': number;
  'http.response.body.size': number;
  /** Stable error code (UPSTREAM_TIMEOUT, ...) when Weir answered with an error. */
  'error.type'?: string;
  'client.address'?: string;
  'user_agent.original'?: string;
  /** Hex hash of the sticky key; the raw value only when `events.rawStickyKey` is set. */
  'weir.sticky_key_hash'?: string;
  'weir.sticky_key'?: string;
  /** Custom fields: captured headers (`http.request.header.x-plan`), app attributes, ... */
  [field: string]: string | number | boolean | null | undefined;
}

export const DECISIONS = ['test-override', 'cohort', 'weight', 'random', 'flag'] as const;
export type Decision = (typeof DECISIONS)[number];

export const TRAFFIC_KINDS = ['live', 'test', 'shadow', 'replay'] as const;
export type TrafficKind = (typeof TRAFFIC_KINDS)[number];

/** Short names accepted wherever a field is named (queries, the CLI), mapped to the canonical field. */
export const FIELD_ALIASES: Readonly<Record<string, string>> = {
  status: 'http.response.status_code',
  method: 'http.request.method',
  path: 'url.path',
  route: 'http.route',
  service: 'service.name',
  version: 'service.version',
  decision: 'weir.decision',
  traffic: 'weir.traffic',
  upstream: 'upstream.address',
  error: 'error.type',
  client: 'client.address',
  user_agent: 'user_agent.original',
  request_id: 'request.id',
};

/**
 * Where events go. `push` must never block or throw: a full sink drops the event and counts it.
 * Implementations: the JSON-lines access log (src/events/jsonl-sink.ts), the event store.
 */
export interface EventSink {
  push(event: WideEvent): void;
  /** Events dropped because the sink was full. */
  readonly dropped: number;
  /** Events waiting to be written. */
  readonly queued: number;
  /** Writes everything queued. */
  flush(): Promise<void>;
  close(): Promise<void>;
}
