import type { DuckDBConnection } from '@duckdb/node-api';
import { EVENTS_TABLE } from './query/plan.ts';

export interface RetentionOptions {
  /** Events older than this (by their timestamp) are deleted. */
  maxAgeMs?: number;
  /** When the table's blocks take more than this, the oldest events are deleted until it fits. */
  maxBytes?: number;
  /** How often retention runs in the background. Default 60 s. */
  intervalMs?: number;
}

export interface RetentionResult {
  deletedByAge: number;
  deletedBySize: number;
  /** Bytes in use after the run (DuckDB's used blocks × block size). */
  bytes: number;
}

async function usedBytes(conn: DuckDBConnection): Promise<number> {
  const r = await conn.runAndReadAll('SELECT used_blocks, block_size FROM pragma_database_size()');
  const [used, size] = r.getRows()[0] ?? [0, 0];
  return Number(used) * Number(size);
}

async function count(conn: DuckDBConnection): Promise<number> {
  return Number((await conn.runAndReadAll(`SELECT count(*) FROM ${EVENTS_TABLE}`)).getRows()[0][0]);
}

/**
 * Deletes events past `maxAgeMs`, then, while the store uses more than `maxBytes`, the oldest share
 * of events in proportion to the excess (at least 5% per round), checkpointing so freed blocks are
 * reused. DuckDB reuses freed blocks but does not shrink the file, so `maxBytes` bounds the data, and
 * the file stays at its high-water mark.
 */
export async function enforceRetention(conn: DuckDBConnection, opts: RetentionOptions, clock: () => number): Promise<RetentionResult> {
  const result: RetentionResult = { deletedByAge: 0, deletedBySize: 0, bytes: 0 };
  if (opts.maxAgeMs !== undefined) {
    const r = await conn.run(`DELETE FROM ${EVENTS_TABLE} WHERE "timestamp" < $1`, [clock() - opts.maxAgeMs]);
    result.deletedByAge = Number(r.rowsChanged);
  }
  if (result.deletedByAge > 0) await conn.run('CHECKPOINT');
  if (opts.maxBytes !== undefined) {
    await conn.run('CHECKPOINT'); // recent writes sit in the WAL until checkpointed; measure the table itself
    for (let round = 0; round < 20; round++) {
      const bytes = await usedBytes(conn);
      if (bytes <= opts.maxBytes) break;
      const rows = await count(conn);
      if (rows === 0) break;
      const share = Math.min(1, Math.max(0.05, (bytes - opts.maxBytes) / bytes));
      const n = Math.max(1, Math.ceil(rows * share));
      const r = await conn.run(
        `DELETE FROM ${EVENTS_TABLE} WHERE rowid IN (SELECT rowid FROM ${EVENTS_TABLE} ORDER BY "timestamp" LIMIT $1)`, [n]);
      result.deletedBySize += Number(r.rowsChanged);
      await conn.run('CHECKPOINT');
    }
  }
  result.bytes = await usedBytes(conn);
  return result;
}
