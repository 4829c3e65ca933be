import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openPostgresStore } from '../../src/store/postgres.ts';
import { runStoreContract } from './contract.ts';
import { PG_URL, freshSchema, pgUnavailable } from './pg-helpers.ts';

const why = await pgUnavailable();
if (why && process.env.CI === 'true') {
  test('PostgreSQL is reachable (required in CI)', () => assert.fail(`${why}: CI must run the PostgreSQL store contract`));
} else if (why) {
  test('postgres store contract', { skip: `${why}; start PostgreSQL or set WEIR_TEST_PG to run these tests` }, () => {});
} else {
  runStoreContract('postgres', async (t) => {
    const schema = await freshSchema(t);
    return { open: (now) => openPostgresStore(PG_URL, now, { schema }) };
  });
}
