import type { WideEvent } from './schema.ts';

/** Per-event answer, as Honeycomb's batch API gives it. */
export interface BatchStatus {
  status: 202 | 400 | 429;
  error?: string;
}

const MAX_DEPTH = 4;

function flatten(into: WideEvent, obj: Record<string, unknown>, prefix: string, depth: number): void {
  for (const [k, v] of Object.entries(obj)) {
    const name = prefix + k;
    if (v === null || v === undefined) continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') into[name] = v;
    else if (Array.isArray(v) || depth >= MAX_DEPTH) into[name] = JSON.stringify(v);
    else if (typeof v === 'object') flatten(into, v as Record<string, unknown>, `${name}.`, depth + 1);
  }
}

function toMs(t: unknown): number | undefined {
  if (typeof t === 'number' && Number.isFinite(t)) return t < 1e11 ? t * 1000 : t; // seconds or ms
  if (typeof t === 'string') {
    const ms = Date.parse(t);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

/**
 * Parses `POST /api/v1/events`: a JSON array whose items are flat objects (`{ "service.name": "shop",
 * "duration_ms": 12 }`) or Honeycomb batch items (`{ "time": "2024-…Z", "data": { … } }`). Nested
 * objects are flattened with dots, arrays kept as JSON text. `timestamp` / `time` may be ms, seconds or
 * ISO 8601; without one the store stamps the event when it is written.
 *
 * @example
 *   parseEventBatch([{ time: '2024-05-01T10:00:00Z', data: { 'service.name': 'shop' } }])
 *   // { events: [{ 'service.name': 'shop', timestamp: 1714557600000 }], statuses: [{ status: 202 }] }
 */
export function parseEventBatch(body: unknown): { events: WideEvent[]; statuses: BatchStatus[] } | { error: string } {
  if (!Array.isArray(body)) return { error: 'body must be a JSON array of events' };
  const events: WideEvent[] = [];
  const statuses: BatchStatus[] = [];
  body.forEach((item: unknown, i) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      statuses.push({ status: 400, error: `[${i}]: must be an object` });
      return;
    }
    const obj = item as Record<string, unknown>;
    const honeycomb = typeof obj.data === 'object' && obj.data !== null && !Array.isArray(obj.data);
    const e = {} as WideEvent;
    flatten(e, honeycomb ? (obj.data as Record<string, unknown>) : obj, '', 0);
    const t = toMs(honeycomb ? obj.time ?? e.timestamp : e.timestamp ?? e.time);
    if (t !== undefined) e.timestamp = Math.floor(t);
    else delete (e as Record<string, unknown>).timestamp;
    if (!honeycomb && e.time !== undefined && t !== undefined) delete (e as Record<string, unknown>).time;
    events.push(e);
    statuses.push({ status: 202 });
  });
  return { events, statuses };
}
