/**
 * Pure mapping from evaluations to OFREP response bodies (open-feature/protocol service/openapi.yaml v0.3),
 * with flagd's choices: a flag without a value (DISABLED, code default) omits `value` and `variant`
 * (the spec's codeDefaultFlag), FLAG_NOT_FOUND is 404, every other evaluation error 400.
 */
import type { FlagErrorCode, FlagMetadata, FlagValue, Reason, Resolution } from '../types.ts';

export interface OfrepSuccess {
  key: string;
  reason: Exclude<Reason, 'ERROR'>;
  value?: FlagValue;
  variant?: string;
  metadata: FlagMetadata;
}

export interface OfrepFailure {
  key: string;
  errorCode: FlagErrorCode;
  errorDetails: string;
  metadata?: FlagMetadata;
}

export interface OfrepEventStream {
  type: 'sse';
  url?: string;
  endpoint?: { origin?: string; requestUri: string };
  inactivityDelaySec?: number;
}

export interface OfrepBulkSuccess {
  flags: (OfrepSuccess | OfrepFailure)[];
  metadata: FlagMetadata;
  eventStreams?: OfrepEventStream[];
}

/** Body and status for one flag's evaluation. */
export function toOfrep(key: string, r: Resolution): { status: number; body: OfrepSuccess | OfrepFailure } {
  if (r.reason === 'ERROR') {
    const code = r.errorCode ?? 'GENERAL';
    return {
      status: code === 'FLAG_NOT_FOUND' ? 404 : 400,
      body: { key, errorCode: code, errorDetails: r.errorMessage ?? code, metadata: r.flagMetadata },
    };
  }
  const body: OfrepSuccess = { key, reason: r.reason, metadata: r.flagMetadata };
  if (r.value !== undefined) {
    body.value = r.value;
    if (r.variant !== undefined) body.variant = r.variant;
  }
  return { status: 200, body };
}

/** A bulk evaluation response: every flag, success or failure item, in key order. */
export function toOfrepBulk(
  results: readonly [string, Resolution][],
  metadata: FlagMetadata,
  eventStreams?: OfrepEventStream[],
): OfrepBulkSuccess {
  const body: OfrepBulkSuccess = { flags: results.map(([k, r]) => toOfrep(k, r).body), metadata };
  if (eventStreams && eventStreams.length) body.eventStreams = eventStreams;
  return body;
}

/** The `data` of the SSE change notification (ADR-0008). */
export function refetchEvent(etag: string, lastModifiedSec: number): string {
  return JSON.stringify({ type: 'refetchEvaluation', etag, lastModified: lastModifiedSec });
}
