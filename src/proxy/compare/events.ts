import type { CompareRecord } from './collector.ts';

/**
 * Compare events: the proxy's only output is events, and findings can be rebuilt from them. One event
 * per compared request carries the endpoint and the fields that differed (as JSON arrays in strings, since
 * wide-event values are scalars); `collector.recordFields` counts them back.
 */

/** Most fields listed per event; the rest are dropped from the event (the counts stay exact). */
export const MAX_EVENT_FIELDS = 50;

/** The flat wide-event fields of one compare. */
export interface CompareEventFields {
  'weir.compare.endpoint': string;
  /** Candidate-vs-primary differences in this request. */
  'weir.compare.differences': number;
  /** Secondary-vs-primary differences in this request. */
  'weir.compare.noise_differences': number;
  /** JSON array of the fields the candidate differed in, e.g. `["body.plan","status"]`. */
  'weir.compare.fields': string;
  /** JSON array of the fields the secondary differed in. */
  'weir.compare.noise_fields': string;
  [field: string]: string | number;
}

/**
 * The wide-event fields of a compare record, to merge into the compare event the proxy emits.
 * @example sink.push({ ...baseEvent, ...compareEventFields(collector.record(undefined, req, p, s, c)) });
 */
export function compareEventFields(record: CompareRecord): CompareEventFields {
  return {
    'weir.compare.endpoint': record.endpoint,
    'weir.compare.differences': record.candidate.length,
    'weir.compare.noise_differences': record.noise.length,
    'weir.compare.fields': JSON.stringify(record.candidateFields.slice(0, MAX_EVENT_FIELDS)),
    'weir.compare.noise_fields': JSON.stringify(record.noiseFields.slice(0, MAX_EVENT_FIELDS)),
  };
}

/**
 * Reads a field list back from an event value; anything malformed reads as no fields.
 * @example eventFieldList('["body.plan"]') // → ['body.plan']
 */
export function eventFieldList(value: unknown): string[] {
  if (typeof value !== 'string') return [];
  try {
    const v: unknown = JSON.parse(value);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}
