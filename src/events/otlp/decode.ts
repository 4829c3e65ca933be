import type protobuf from 'protobufjs';
import { OTLP_TYPES, otlpRoot } from './schema.ts';

/**
 * OTLP protobuf encoding and decoding with protobufjs and Weir's own description of the OTLP messages
 * (./schema.ts). Decoded messages are turned into the OTLP/JSON shape (lowerCamelCase keys, int64 as
 * strings, enums as numbers) so one mapper serves both encodings; the only difference left is that ids
 * arrive as base64 instead of hex.
 */
const load = otlpRoot;

const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: Number, bytes: String, defaults: false, arrays: true };

export type OtlpSignal = 'traces' | 'logs';

const REQUEST = { traces: OTLP_TYPES.tracesRequest, logs: OTLP_TYPES.logsRequest } as const;
const RESPONSE = { traces: OTLP_TYPES.tracesResponse, logs: OTLP_TYPES.logsResponse } as const;

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
  const type = load().lookupType(OTLP_TYPES.rpcStatus);
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
