import type { WideEvent } from '../schema.ts';

/** The OTLP/JSON shapes this mapper reads (a subset of the protocol; unknown fields are ignored). */
export interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number | string;
  bytesValue?: string;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
}
export interface KeyValue {
  key: string;
  value?: AnyValue;
}
interface Resource {
  attributes?: KeyValue[];
}
interface Scope {
  name?: string;
  version?: string;
}
interface Span {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  name?: string;
  kind?: number | string;
  startTimeUnixNano?: string | number;
  endTimeUnixNano?: string | number;
  attributes?: KeyValue[];
  events?: { name?: string; timeUnixNano?: string | number; attributes?: KeyValue[] }[];
  links?: unknown[];
  status?: { code?: number | string; message?: string };
}
interface LogRecord {
  timeUnixNano?: string | number;
  observedTimeUnixNano?: string | number;
  severityNumber?: number | string;
  severityText?: string;
  body?: AnyValue;
  attributes?: KeyValue[];
  traceId?: string;
  spanId?: string;
  eventName?: string;
}
export interface TracesRequest {
  resourceSpans?: { resource?: Resource; scopeSpans?: { scope?: Scope; spans?: Span[] }[] }[];
}
export interface LogsRequest {
  resourceLogs?: { resource?: Resource; scopeLogs?: { scope?: Scope; logRecords?: LogRecord[] }[] }[];
}

/** How ids arrive: hex in OTLP/JSON, base64 after protobuf decoding (protobufjs `bytes: String`). */
export type IdEncoding = 'hex' | 'base64';

const SPAN_KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const SPAN_KIND_NAMES: Record<string, number> = { SPAN_KIND_UNSPECIFIED: 0, SPAN_KIND_INTERNAL: 1, SPAN_KIND_SERVER: 2, SPAN_KIND_CLIENT: 3, SPAN_KIND_PRODUCER: 4, SPAN_KIND_CONSUMER: 5 };
const STATUS_CODES = ['UNSET', 'OK', 'ERROR'];
const STATUS_NAMES: Record<string, number> = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 };
/** Older HTTP semantic-convention names, copied to the current ones when those are absent. */
const LEGACY: Record<string, string> = {
  'http.status_code': 'http.response.status_code',
  'http.method': 'http.request.method',
  'http.target': 'url.path',
  'deployment.environment': 'deployment.environment.name',
};

function id(v: string | undefined, enc: IdEncoding): string | undefined {
  if (!v) return undefined;
  const hex = enc === 'hex' ? v.toLowerCase() : Buffer.from(v, 'base64').toString('hex');
  return /^0*$/.test(hex) ? undefined : hex;
}

/** An int64 nanosecond time (string or number) as a bigint; undefined when absent or zero. */
export function nanos(v: string | number | undefined): bigint | undefined {
  if (v === undefined || v === '' || v === 0 || v === '0') return undefined;
  try {
    return BigInt(typeof v === 'number' ? Math.trunc(v) : v);
  } catch {
    return undefined;
  }
}

/** Nanoseconds → whole milliseconds since the epoch (the event timestamp). */
function toMs(ns: bigint): number {
  return Number(ns / 1_000_000n);
}

/** An AnyValue as a flat field value; arrays and nested lists become JSON text. */
export function anyValue(v: AnyValue | undefined): string | number | boolean | null {
  if (!v) return null;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) {
    const n = Number(v.intValue);
    return Number.isSafeInteger(n) ? n : String(v.intValue);
  }
  if (v.doubleValue !== undefined) return Number(v.doubleValue);
  if (v.bytesValue !== undefined) return v.bytesValue;
  if (v.arrayValue) return JSON.stringify((v.arrayValue.values ?? []).map(anyValue));
  if (v.kvlistValue) return JSON.stringify(Object.fromEntries((v.kvlistValue.values ?? []).map((kv) => [kv.key, anyValue(kv.value)])));
  return null;
}

/** Copies attributes onto an event, flattening key-value lists into dotted names. */
export function addAttributes(event: WideEvent, attrs: KeyValue[] | undefined, prefix = ''): void {
  if (!attrs) return;
  for (const kv of attrs) {
    if (typeof kv?.key !== 'string') continue;
    const name = prefix + kv.key;
    if (kv.value?.kvlistValue) addAttributes(event, kv.value.kvlistValue.values, `${name}.`);
    else {
      const v = anyValue(kv.value);
      if (v !== null) event[name] = v;
    }
  }
}

function applyLegacy(event: WideEvent): void {
  for (const [old, current] of Object.entries(LEGACY)) {
    if (event[old] !== undefined && event[current] === undefined) event[current] = event[old];
  }
  const status = event['http.response.status_code'];
  if (typeof status === 'string' && /^\d+$/.test(status)) event['http.response.status_code'] = Number(status);
}

function enumIndex(v: number | string | undefined, names: Record<string, number>): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return names[v] ?? (Number.isInteger(Number(v)) ? Number(v) : 0);
  return 0;
}

function base(resource: Resource | undefined, scope: Scope | undefined, signal: string): WideEvent {
  const e = {} as WideEvent;
  addAttributes(e, resource?.attributes);
  if (scope?.name) e['otel.scope.name'] = scope.name;
  if (scope?.version) e['otel.scope.version'] = scope.version;
  e['meta.signal_type'] = signal;
  return e;
}

/**
 * OTLP spans → wide events: resource attributes, then span attributes (which win), `name`,
 * `trace.trace_id` / `trace.span_id` / `trace.parent_id` (hex), `span.kind`, `duration_ms`,
 * `otel.status_code` / `otel.status_description`, and the first `exception` span event's
 * `exception.*` attributes. Spans without a start time get none (the store stamps them).
 *
 * @example
 *   spansToEvents(JSON.parse(body), 'hex') // [{ 'service.name': 'shop', name: 'GET /cart', duration_ms: 12.5, ... }]
 */
export function spansToEvents(req: TracesRequest, ids: IdEncoding): WideEvent[] {
  const out: WideEvent[] = [];
  for (const rs of req.resourceSpans ?? []) {
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) {
        const e = base(rs.resource, ss.scope, 'trace');
        addAttributes(e, span.attributes);
        applyLegacy(e);
        const start = nanos(span.startTimeUnixNano);
        const end = nanos(span.endTimeUnixNano);
        if (start !== undefined) e.timestamp = toMs(start);
        // The difference in bigint first: epoch nanoseconds as a double would lose the sub-millisecond part.
        if (start !== undefined && end !== undefined) e.duration_ms = end > start ? Number(end - start) / 1e6 : 0;
        if (span.name !== undefined) e.name = span.name;
        const traceId = id(span.traceId, ids);
        const spanId = id(span.spanId, ids);
        const parent = id(span.parentSpanId, ids);
        if (traceId) e['trace.trace_id'] = traceId;
        if (spanId) e['trace.span_id'] = spanId;
        if (parent) e['trace.parent_id'] = parent;
        e['span.kind'] = SPAN_KINDS[enumIndex(span.kind, SPAN_KIND_NAMES)] ?? 'unspecified';
        const status = enumIndex(span.status?.code, STATUS_NAMES);
        if (status !== 0) e['otel.status_code'] = STATUS_CODES[status] ?? String(status);
        if (span.status?.message) e['otel.status_description'] = span.status.message;
        const events = span.events ?? [];
        if (events.length > 0) e['span.num_events'] = events.length;
        if ((span.links ?? []).length > 0) e['span.num_links'] = (span.links ?? []).length;
        const exception = events.find((ev) => ev.name === 'exception');
        if (exception) {
          const x = {} as WideEvent;
          addAttributes(x, exception.attributes);
          for (const k of ['exception.type', 'exception.message', 'exception.stacktrace', 'exception.escaped']) {
            if (x[k] !== undefined && e[k] === undefined) e[k] = x[k];
          }
        }
        out.push(e);
      }
    }
  }
  return out;
}

/**
 * OTLP log records → wide events: resource and record attributes (exception.* included, as the
 * semantic conventions put them on logs), `body`, `severity_text`, `severity_number`, trace ids.
 */
export function logsToEvents(req: LogsRequest, ids: IdEncoding): WideEvent[] {
  const out: WideEvent[] = [];
  for (const rl of req.resourceLogs ?? []) {
    for (const sl of rl.scopeLogs ?? []) {
      for (const rec of sl.logRecords ?? []) {
        const e = base(rl.resource, sl.scope, 'log');
        addAttributes(e, rec.attributes);
        applyLegacy(e);
        const t = nanos(rec.timeUnixNano) ?? nanos(rec.observedTimeUnixNano);
        if (t !== undefined) e.timestamp = toMs(t);
        const body = anyValue(rec.body);
        if (body !== null) e.body = body;
        if (rec.severityText) e.severity_text = rec.severityText;
        if (rec.severityNumber !== undefined && Number(rec.severityNumber) !== 0) e.severity_number = Number(rec.severityNumber);
        if (rec.eventName) e.name = rec.eventName;
        const traceId = id(rec.traceId, ids);
        const spanId = id(rec.spanId, ids);
        if (traceId) e['trace.trace_id'] = traceId;
        if (spanId) e['trace.span_id'] = spanId;
        out.push(e);
      }
    }
  }
  return out;
}
