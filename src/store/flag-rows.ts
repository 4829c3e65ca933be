/** Row shapes of the flag tables, shared by the SQLite and PostgreSQL stores (numbers may arrive as text from pg). */
import type { FlagSchedule, FlagUsage } from './types.ts';

export interface ScheduleRow {
  id: number | string;
  key: string;
  at: number | string;
  definition: string;
  status: FlagSchedule['status'];
  created_by: string;
  done_at: number | string | null;
}

export interface UsageRow {
  key: string;
  variant: string;
  count: number | string;
  last_at: number | string;
}

/**
 * @example
 *   rows.map(scheduleRow) // [{ id: 1, key: 'checkout', at: 1700000000000, status: 'pending', … }]
 */
export function scheduleRow(r: ScheduleRow): FlagSchedule {
  const out: FlagSchedule = { id: Number(r.id), key: r.key, at: Number(r.at), definition: JSON.parse(r.definition), status: r.status, createdBy: r.created_by };
  if (r.done_at !== null) out.doneAt = Number(r.done_at);
  return out;
}

/**
 * Rows (one per flag and variant, sorted by key) grouped into one FlagUsage per flag.
 *
 * @example
 *   groupUsage([{ key: 'a', variant: 'on', count: 3, last_at: 5 }]) // [{ key: 'a', variants: { on: 3 }, lastEvaluatedAt: 5 }]
 */
export function groupUsage(rows: readonly UsageRow[]): FlagUsage[] {
  const out: FlagUsage[] = [];
  for (const r of rows) {
    let u = out.at(-1);
    if (!u || u.key !== r.key) out.push((u = { key: r.key, variants: {}, lastEvaluatedAt: 0 }));
    u.variants[r.variant] = Number(r.count);
    u.lastEvaluatedAt = Math.max(u.lastEvaluatedAt, Number(r.last_at));
  }
  return out;
}
