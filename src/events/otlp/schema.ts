import protobuf from 'protobufjs';

/**
 * Weir's own description of the part of the OTLP wire protocol it speaks (OTLP/HTTP protobuf, traces
 * and logs), as a protobufjs JSON descriptor. It names only the messages and fields Weir reads from
 * an SDK or writes to a collector; protobufjs skips any other field it meets on the wire, so requests
 * from newer SDKs still decode. Field names are lowerCamelCase, as in OTLP/JSON, so decoded messages
 * and JSON requests share one mapper (map.ts).
 *
 * Field numbers and wire types follow the OTLP specification (https://opentelemetry.io/docs/specs/otlp/).
 * Enumerations (span kind, status code, severity number) are declared as int32: the wire encoding is
 * the same varint, and the mapper wants numbers anyway.
 */

/** A field of a message: its protobuf type, field number and, for lists, `rule: 'repeated'`. */
interface FieldDescriptor {
  type: string;
  id: number;
  rule?: 'repeated';
}

const f = (type: string, id: number): FieldDescriptor => ({ type, id });
const list = (type: string, id: number): FieldDescriptor => ({ type, id, rule: 'repeated' });

const descriptor = {
  nested: {
    // Common: attribute values and the resource / scope every span and log record hangs under.
    AnyValue: {
      oneofs: { value: { oneof: ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'arrayValue', 'kvlistValue', 'bytesValue'] } },
      fields: {
        stringValue: f('string', 1),
        boolValue: f('bool', 2),
        intValue: f('int64', 3),
        doubleValue: f('double', 4),
        arrayValue: f('ArrayValue', 5),
        kvlistValue: f('KeyValueList', 6),
        bytesValue: f('bytes', 7),
      },
    },
    ArrayValue: { fields: { values: list('AnyValue', 1) } },
    KeyValueList: { fields: { values: list('KeyValue', 1) } },
    KeyValue: { fields: { key: f('string', 1), value: f('AnyValue', 2) } },
    Resource: { fields: { attributes: list('KeyValue', 1) } },
    InstrumentationScope: { fields: { name: f('string', 1), version: f('string', 2), attributes: list('KeyValue', 3) } },

    // Traces.
    ExportTraceServiceRequest: { fields: { resourceSpans: list('ResourceSpans', 1) } },
    ExportTraceServiceResponse: { fields: { partialSuccess: f('ExportTracePartialSuccess', 1) } },
    ExportTracePartialSuccess: { fields: { rejectedSpans: f('int64', 1), errorMessage: f('string', 2) } },
    ResourceSpans: { fields: { resource: f('Resource', 1), scopeSpans: list('ScopeSpans', 2), schemaUrl: f('string', 3) } },
    ScopeSpans: { fields: { scope: f('InstrumentationScope', 1), spans: list('Span', 2), schemaUrl: f('string', 3) } },
    Span: {
      fields: {
        traceId: f('bytes', 1), // 16 bytes; base64 after decoding, hex in OTLP/JSON
        spanId: f('bytes', 2), // 8 bytes
        traceState: f('string', 3),
        parentSpanId: f('bytes', 4),
        name: f('string', 5),
        kind: f('int32', 6), // 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer
        startTimeUnixNano: f('fixed64', 7),
        endTimeUnixNano: f('fixed64', 8),
        attributes: list('KeyValue', 9),
        events: list('Event', 11),
        links: list('Link', 13),
        status: f('Status', 15),
        flags: f('fixed32', 16),
      },
      nested: {
        Event: { fields: { timeUnixNano: f('fixed64', 1), name: f('string', 2), attributes: list('KeyValue', 3) } },
        Link: { fields: { traceId: f('bytes', 1), spanId: f('bytes', 2), traceState: f('string', 3), attributes: list('KeyValue', 4), flags: f('fixed32', 6) } },
      },
    },
    // A span's outcome; code 0 unset, 1 ok, 2 error. Field 1 is unused on the wire.
    Status: { fields: { message: f('string', 2), code: f('int32', 3) } },

    // Logs.
    ExportLogsServiceRequest: { fields: { resourceLogs: list('ResourceLogs', 1) } },
    ExportLogsServiceResponse: { fields: { partialSuccess: f('ExportLogsPartialSuccess', 1) } },
    ExportLogsPartialSuccess: { fields: { rejectedLogRecords: f('int64', 1), errorMessage: f('string', 2) } },
    ResourceLogs: { fields: { resource: f('Resource', 1), scopeLogs: list('ScopeLogs', 2), schemaUrl: f('string', 3) } },
    ScopeLogs: { fields: { scope: f('InstrumentationScope', 1), logRecords: list('LogRecord', 2), schemaUrl: f('string', 3) } },
    LogRecord: {
      fields: {
        timeUnixNano: f('fixed64', 1),
        severityNumber: f('int32', 2), // 1–24: TRACE…FATAL4 (17 is ERROR)
        severityText: f('string', 3),
        body: f('AnyValue', 5),
        attributes: list('KeyValue', 6),
        flags: f('fixed32', 8),
        traceId: f('bytes', 9),
        spanId: f('bytes', 10),
        observedTimeUnixNano: f('fixed64', 11),
        eventName: f('string', 12),
      },
    },

    // The body of an OTLP/HTTP error response: google.rpc.Status without its details.
    RpcStatus: { fields: { code: f('int32', 1), message: f('string', 2) } },
  },
};

/** The message types, by the names decode.ts looks up. */
export const OTLP_TYPES = {
  tracesRequest: 'ExportTraceServiceRequest',
  tracesResponse: 'ExportTraceServiceResponse',
  logsRequest: 'ExportLogsServiceRequest',
  logsResponse: 'ExportLogsServiceResponse',
  rpcStatus: 'RpcStatus',
} as const;

let root: protobuf.Root | undefined;

/**
 * The OTLP messages as a protobufjs Root, built once on first use.
 *
 * @example
 *   const req = otlpRoot().lookupType(OTLP_TYPES.tracesRequest);
 *   const msg = req.toObject(req.decode(body), { longs: String, bytes: String });
 */
export function otlpRoot(): protobuf.Root {
  if (!root) {
    root = protobuf.Root.fromJSON(descriptor);
    root.resolveAll();
  }
  return root;
}
