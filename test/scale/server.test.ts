// weir server in process: scoped tokens over the API, and replicas sharing PostgreSQL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { startServer } from '../../src/runtime/server.ts';
import type { WeirServer } from '../../src/runtime/server.ts';
import { backend, echo } from '../proxy/helpers.ts';
import { PG_URL, freshSchema, pgTestOptions } from '../store/pg-helpers.ts';
import { api, configDir, eventually } from './helpers.ts';

const ADMIN = 'admin-token-for-scale-tests';
const url = (s: WeirServer) => `http://127.0.0.1:${s.controlAddress.port}`;

test('tokens: admin creates read/operator tokens, shown once, stored as hashes; scopes are enforced; deleted tokens stop working', async (t) => {
  const a = await backend(t, echo('stable'));
  const dir = configDir(t, a.url, a.url);
  const server = await startServer({ configPath: 'weir.yaml', cwd: dir, env: { WEIR_ADMIN_TOKEN: ADMIN } });
  t.after(() => server.close());
  const c = url(server);
  const reader = await api(c, ADMIN, 'POST', '/api/v1/tokens', { name: 'dashboards', scope: 'read' });
  assert.equal(reader.status, 201);
  assert.match(reader.body.token, /^weir_/);
  const op = (await api(c, ADMIN, 'POST', '/api/v1/tokens', { name: 'deployer', scope: 'operator' })).body.token as string;
  assert.equal((await api(c, ADMIN, 'POST', '/api/v1/tokens', { name: 'dashboards', scope: 'read' })).body.error.code, 'CONFLICT');
  assert.equal((await api(c, ADMIN, 'POST', '/api/v1/tokens', { name: 'x', scope: 'root' })).body.error.code, 'VALIDATION_FAILED');
  assert.equal((await api(c, ADMIN, 'POST', '/api/v1/tokens', { name: 'admin', scope: 'read' })).body.error.code, 'VALIDATION_FAILED');

  assert.equal((await api(c, reader.body.token, 'GET', '/api/v1/services')).status, 200);
  const forbidden = await api(c, reader.body.token, 'PUT', '/api/v1/services/shop/weights', { stable: 0, canary: 100 });
  assert.deepEqual([forbidden.status, forbidden.body.error.code], [403, 'FORBIDDEN']);
  assert.equal((await api(c, op, 'PUT', '/api/v1/services/shop/weights', { stable: 0, canary: 100 })).status, 200);
  assert.equal((await api(c, op, 'POST', '/api/v1/tokens', { name: 'sneaky', scope: 'admin' })).body.error.code, 'FORBIDDEN');
  assert.equal((await api(c, reader.body.token, 'GET', '/api/v1/routing-table')).status, 403, 'the table holds test tokens and shadow credentials: not for read tokens');
  assert.equal((await api(c, op, 'GET', '/api/v1/routing-table')).status, 200, 'a proxy follows the table with an operator token');
  assert.equal((await api(c, null, 'GET', '/api/v1/tokens')).body.error.code, 'UNAUTHORIZED');

  const list = await api(c, ADMIN, 'GET', '/api/v1/tokens');
  assert.deepEqual(list.body.tokens.map((x: { name: string; scope: string }) => [x.name, x.scope]), [['dashboards', 'read'], ['deployer', 'operator']]);
  assert.ok(!JSON.stringify(list.body).includes(op) && !JSON.stringify(list.body).includes('hash'), 'never the token, nor its hash');
  const db = readFileSync(join(server.dataDir, 'state.db'));
  assert.ok(!db.includes(op) && !db.includes(reader.body.token), 'the raw token is not in the store');
  const audit = await api(c, ADMIN, 'GET', '/api/v1/audit?target=token:deployer');
  assert.deepEqual(audit.body.entries.map((e: { action: string; actor: string }) => [e.action, e.actor]), [['token.create', 'admin']]);
  assert.equal((await api(c, ADMIN, 'GET', '/api/v1/audit?target=shop')).body.entries[0].actor, 'deployer', 'changes are audited under the token\'s name');

  assert.equal((await api(c, ADMIN, 'DELETE', '/api/v1/tokens/deployer')).status, 200);
  assert.equal((await api(c, op, 'GET', '/api/v1/services')).body.error.code, 'UNAUTHORIZED');
  assert.equal((await api(c, ADMIN, 'DELETE', '/api/v1/tokens/deployer')).body.error.code, 'NOT_FOUND');
});

test('replicas on one PostgreSQL: one leader; tokens and weights written on one are served by the other; the leader\'s lost session hands over', await pgTestOptions(), async (t) => {
  const a = await backend(t, echo('stable'));
  const b = await backend(t, echo('canary'));
  const dir = configDir(t, a.url, b.url);
  const schema = await freshSchema(t);
  const store = `${PG_URL}?schema=${schema}`;
  // Replicas share PostgreSQL, not a disk: each keeps its own data directory (its event store and
  // access log), as replicas on separate machines do. Two event stores opening one DuckDB file at the
  // same moment raced ("Could not read enough bytes"); it failed one CI run.
  const start = (name: string) => startServer({ configPath: 'weir.yaml', cwd: dir, dataDir: join(dir, `.weir-${name}`), env: { WEIR_ADMIN_TOKEN: ADMIN }, store, replica: name, pollMs: 100, leaderIntervalMs: 100 });
  const [r1, r2] = await Promise.all([start('r1'), start('r2')]);
  t.after(() => r2.close());
  t.after(() => r1.close());
  await eventually(() => r1.isLeader() !== r2.isLeader(), 'exactly one leader');

  const token = (await api(url(r1), ADMIN, 'POST', '/api/v1/tokens', { name: 'ops', scope: 'operator' })).body.token as string;
  await eventually(async () => (await api(url(r2), token, 'GET', '/api/v1/services')).status === 200, 'the other replica to accept the new token');
  assert.equal((await api(url(r2), token, 'PUT', '/api/v1/services/shop/weights', { stable: 25, canary: 75 })).status, 200);
  await eventually(() => r1.plane.table.services[0].weights.canary === 75, 'the first replica to pick up the weights');
  assert.equal((await api(url(r1), ADMIN, 'GET', '/api/v1/services/shop')).body.weights.canary, 75);

  const [leader, follower] = r1.isLeader() ? [r1, r2] : [r2, r1];
  const status = await api(url(leader), ADMIN, 'GET', '/api/v1/leader');
  assert.equal(status.body.leader, true);
  assert.equal((await api(url(follower), null, 'GET', '/readyz')).body.leader, false);
  // End the leader's database session, as a network cut or a database restart would.
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  t.after(() => admin.end());
  const killed = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted
    AND objid = (hashtext('weir:leader:' || $1::text)::bigint & 4294967295)`, [schema]);
  assert.equal(killed.rowCount, 1);
  await eventually(() => follower.isLeader(), 'the follower to take over');
  assert.equal(leader.isLeader(), false, 'the old leader stepped down');
});

test('store: in weir.yaml picks the state store (a SQLite path relative to the config file)', async (t) => {
  const a = await backend(t, echo('stable'));
  const dir = configDir(t, a.url, a.url);
  writeFileSync(join(dir, 'weir.yaml'), `store: state/custom.db\n${readFileSync(join(dir, 'weir.yaml'), 'utf8')}`);
  const server = await startServer({ configPath: 'weir.yaml', cwd: dir, env: { WEIR_ADMIN_TOKEN: ADMIN } });
  t.after(() => server.close());
  assert.equal((await api(url(server), ADMIN, 'PUT', '/api/v1/services/shop/weights', { stable: 0, canary: 100 })).status, 200);
  assert.ok(existsSync(join(dir, 'state', 'custom.db')));
  assert.ok(!existsSync(join(server.dataDir, 'state.db')));
});
