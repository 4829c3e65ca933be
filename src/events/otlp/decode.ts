import protobuf from 'protobufjs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * OTLP protobuf decoding with protobufjs and the official .proto files (vendored unchanged from
 * open-telemetry/opentelemetry-proto v1.11, Apache-2.0, under ./proto). Decoded messages are turned into
 * the OTLP/JSON shape (lowerCamelCase keys, int64 as strings, enums as numbers) so one mapper serves
 * both encodings; the only difference left is that ids arrive as base64 instead of hex.
 */
const PROTO_DIR = join(dirname(fileURLToPath(import.meta.url)), 'proto');

let root: protobuf.Root | undefined;
function load(): protobuf.Root {
  if (root) return root;
  const r = new protobuf.Root();
  r.resolvePath = (_origin, target) => join(PROTO_DIR, target);
  r.loadSync([
    'opentelemetry/proto/collector/trace/v1/trace_service.proto',
    'opentelemetry/proto/collector/logs/v1/logs_service.proto',
  ], { keepCase: false });
  // google.rpc.Status, the body of OTLP error responses (two fields; declared here rather than vendored).
  r.add(protobuf.Type.fromJSON('Status', { fields: { code: { type: 'int32', id: 1 }, message: { type: 'string', id: 2 } } }));
  root = r;
  return r;
}

const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: Number, bytes: String, defaults: false, arrays: true };

export type OtlpSignal = 'traces' | 'logs';

const REQUEST = {
  traces: 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest',
  logs: 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest',
} as const;
const RESPONSE = {
  traces: 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse',
  logs: 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse',
} as const;

/** Decodes an Export*ServiceRequest; throws protobufjs's error on malformed input. */
export function decodeRequest(signal: OtlpSignal, body: Uint8Array): Record<string, unknown> {
  const type = load().lookupType(REQUEST[signal]);
  return type.toObject(type.decode(body), TO_OBJECT);
}

/** Encodes an Export*ServiceResponse (with partialSuccess when something was rejected). */
export function encodeResponse(signal: OtlpSignal, partial?: { rejected: number; errorMessage: string }): Uint8Array {
  const type = load().lookupType(RESPONSE[signal]);
  const key = signal === 'traces' ? 'rejectedSpans' : 'rejectedLogRecords';
  const obj = partial ? { partialSuccess: { [key]: partial.rejected, errorMessage: partial.errorMessage } } : {};
  return type.encode(type.fromObject(obj)).finish();
}

/** Encodes a google.rpc.Status for an error response. */
export function encodeStatus(code: number, message: string): Uint8Array {
  const type = load().lookupType('Status');
  return type.encode(type.fromObject({ code, message })).finish();
}

/** Encodes a request; used by tests and the exporter (src/events/otlp/export.ts), not by ingest. */
export function encodeRequest(signal: OtlpSignal, json: Record<string, unknown>): Uint8Array {
  const type = load().lookupType(REQUEST[signal]);
  return type.encode(type.fromObject(json)).finish();
}

/** Rejected spans or log records in an Export*ServiceResponse's partial_success (0 when none). */
export function decodeResponse(signal: OtlpSignal, body: Uint8Array): number {
  if (body.length === 0) return 0;
  const type = load().lookupType(RESPONSE[signal]);
  const obj = type.toObject(type.decode(body), TO_OBJECT) as { partialSuccess?: { rejectedSpans?: string; rejectedLogRecords?: string } };
  return Number(obj.partialSuccess?.rejectedSpans ?? obj.partialSuccess?.rejectedLogRecords ?? 0);
}
