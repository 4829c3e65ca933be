// PostgreSQL for tests: 127.0.0.1:5432, user postgres, database test (trust auth), or WEIR_TEST_PG.
// Each fixture gets its own random schema, dropped after the test, so parallel runs never collide.
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import pg from 'pg';

export const PG_URL = process.env.WEIR_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Null when PostgreSQL answers; otherwise why not. */
export async function pgUnavailable(): Promise<string | null> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  c.on('error', () => {});
  try {
    await c.connect();
    await c.query('SELECT 1');
    return null;
  } catch (e) {
    return `PostgreSQL at ${PG_URL} is unreachable (${(e as Error).message})`;
  } finally {
    await c.end().catch(() => {});
  }
}

/**
 * Options for tests that need PostgreSQL: in CI (CI=true) an unreachable server fails the test;
 * elsewhere the test is skipped with the reason.
 */
export async function pgTestOptions(): Promise<{ skip?: string }> {
  const why = await pgUnavailable();
  if (!why) return {};
  if (process.env.CI === 'true') return {};
  return { skip: `${why}; start it or set WEIR_TEST_PG (in CI this fails)` };
}

/** Creates a fresh schema for this test and drops it (with everything in it) afterwards. */
export async function freshSchema(t: TestContext): Promise<string> {
  const schema = `weir_t_${randomBytes(6).toString('hex')}`;
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(`CREATE SCHEMA ${schema}`);
  } finally {
    await c.end();
  }
  t.after(async () => {
    const d = new pg.Client({ connectionString: PG_URL });
    await d.connect();
    try {
      await d.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    } finally {
      await d.end();
    }
  });
  return schema;
}
