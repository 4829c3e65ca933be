import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { openPostgresStore } from './postgres.ts';
import { openSqliteStore } from './sqlite.ts';
import type { StateStore } from './types.ts';

export type { StateStore, WeightOverride, AuditInput, AuditEntry, RolloutRecord, AnalysisRunRecord, TokenRecord, StoredFlag, FlagSchedule, FlagUsage } from './types.ts';
export { openSqliteStore } from './sqlite.ts';
export { openPostgresStore, pgClientConfig } from './postgres.ts';

/**
 * True for a PostgreSQL connection URL (`postgres://` or `postgresql://`).
 *
 * @example
 *   isPostgresUrl('postgres://db/weir') // true
 */
export function isPostgresUrl(s: string): boolean {
  return /^postgres(ql)?:\/\//i.test(s);
}

/**
 * Splits Weir's own `schema` parameter off a PostgreSQL URL: `postgres://h/db?schema=weir` →
 * `{ url: 'postgres://h/db', schema: 'weir' }` (the tables live in that schema, via search_path).
 *
 * @example
 *   splitSchema('postgres://127.0.0.1/test?schema=t1') // { url: 'postgres://127.0.0.1/test', schema: 't1' }
 */
export function splitSchema(url: string): { url: string; schema?: string } {
  const u = new URL(url);
  const schema = u.searchParams.get('schema') ?? undefined;
  u.searchParams.delete('schema');
  return { url: u.toString(), schema };
}

/**
 * Opens the state store: a `postgres://…` URL opens PostgreSQL (optionally `?schema=NAME`), anything
 * else is a SQLite file path (its directory is created if missing).
 *
 * @example
 *   const store = await openStore(process.env.WEIR_STORE ?? '.weir/state.db', Date.now);
 */
export async function openStore(urlOrPath: string, now: () => number = Date.now): Promise<StateStore> {
  if (!isPostgresUrl(urlOrPath)) {
    mkdirSync(dirname(urlOrPath), { recursive: true, mode: 0o700 });
    return openSqliteStore(urlOrPath, now);
  }
  const { url, schema } = splitSchema(urlOrPath);
  return openPostgresStore(url, now, { schema });
}
