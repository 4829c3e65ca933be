import pg from 'pg';
import type { PoolClient, ClientConfig } from 'pg';
import { WeirError } from '../errors.ts';
import type { AnalysisRunRecord, AuditEntry, AuditInput, FlagSchedule, FlagUsage, RolloutRecord, StateStore, StoredFlag, TokenRecord, WeightOverride } from './types.ts';
import { groupUsage, scheduleRow } from './flag-rows.ts';
import type { ScheduleRow, UsageRow } from './flag-rows.ts';

import { MIGRATIONS } from './postgres-migrations.ts';

export interface PostgresStoreOptions {
  /** Schema to use (set as search_path); default: the connection's own search_path (usually `public`). */
  schema?: string;
  /** Most connections in the pool. Default 5. */
  maxConnections?: number;
}

/**
 * The advisory-lock key, as SQL: one per purpose and database schema, so two Weir installations in one
 * database stay apart.
 *
 * @example
 *   await client.query(`SELECT pg_try_advisory_lock(${lockKeySql('leader')})`);
 */
export function lockKeySql(purpose: 'migrate' | 'leader'): string {
  return `hashtext('weir:${purpose}:' || coalesce(current_schema(), ''))`;
}

/**
 * Connection settings for a `postgres://` URL, with the schema (if any) as search_path. Shared by the
 * store's pool and the leader-election connection so both see the same schema.
 *
 * @example
 *   const client = new pg.Client(pgClientConfig('postgres://weir@db/weir', 'weir'));
 */
export function pgClientConfig(url: string, schema?: string): ClientConfig {
  const cfg: ClientConfig = { connectionString: url, application_name: 'weir', keepAlive: true, connectionTimeoutMillis: 5_000 };
  if (schema !== undefined) {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) throw new WeirError('CONFIG_INVALID', `schema "${schema}" must be a plain identifier (letters, digits, _)`);
    cfg.options = `-c search_path=${schema}`;
  }
  return cfg;
}

/**
 * The scale-out state store: PostgreSQL, shared by every `weir server` replica. Migrations run once
 * under an advisory lock, so replicas that start together do not race; `putRollout` is a conditional
 * write inside a transaction, so of two concurrent writers with the same expected revision exactly one wins.
 *
 * @example
 *   const store = await openPostgresStore('postgres://weir:secret@db:5432/weir', Date.now);
 */
export async function openPostgresStore(url: string, now: () => number = Date.now, opts: PostgresStoreOptions = {}): Promise<StateStore> {
  const pool = new pg.Pool({ ...pgClientConfig(url, opts.schema), max: opts.maxConnections ?? 5, idleTimeoutMillis: 30_000 });
  // A dropped idle connection is replaced by the pool; without a listener the error would crash the process.
  pool.on('error', () => {});
  try {
    await migrate(pool, now);
  } catch (cause) {
    await pool.end();
    if (cause instanceof WeirError) throw cause;
    throw new WeirError('UPSTREAM_UNAVAILABLE', `cannot open the PostgreSQL state store: ${(cause as Error).message}`, { cause });
  }
  return new PostgresStore(pool, now);
}

async function migrate(pool: pg.Pool, now: () => number): Promise<void> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    // Held until COMMIT: a second replica starting at the same moment waits here, then finds nothing to do.
    await c.query(`SELECT pg_advisory_xact_lock(${lockKeySql('migrate')})`);
    await c.query('CREATE TABLE IF NOT EXISTS weir_schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
    const applied = new Set((await c.query<{ version: number }>('SELECT version FROM weir_schema_migrations')).rows.map((r) => Number(r.version)));
    for (let i = 0; i < MIGRATIONS.length; i++) {
      if (applied.has(i + 1)) continue;
      await c.query(MIGRATIONS[i]);
      await c.query('INSERT INTO weir_schema_migrations (version, applied_at) VALUES ($1, $2)', [i + 1, now()]);
    }
    await c.query('COMMIT');
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    c.release();
  }
}

const json = (v: unknown): string | null => (v === undefined ? null : JSON.stringify(v));
const unjson = (v: string | null): unknown => (v === null ? undefined : JSON.parse(v));

class PostgresStore implements StateStore {
  readonly #pool: pg.Pool;
  readonly #now: () => number;

  constructor(pool: pg.Pool, now: () => number) {
    this.#pool = pool;
    this.#now = now;
  }

  async #tx<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    const c = await this.#pool.connect();
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      c.release();
    }
  }

  async #insertAudit(c: PoolClient | pg.Pool, e: AuditInput): Promise<AuditEntry> {
    const at = this.#now();
    const r = await c.query<{ id: string }>('INSERT INTO audit (at, actor, action, target, before, after, reason) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id',
      [at, e.actor, e.action, e.target, json(e.before), json(e.after), e.reason ?? null]);
    return { ...e, id: Number(r.rows[0].id), at };
  }

  async #upsertWeights(c: PoolClient, service: string, o: WeightOverride, at: number): Promise<void> {
    await c.query(`INSERT INTO service_weights (service, weights, config_weights, updated_at) VALUES ($1, $2, $3, $4)
      ON CONFLICT (service) DO UPDATE SET weights = excluded.weights, config_weights = excluded.config_weights, updated_at = excluded.updated_at`,
    [service, JSON.stringify(o.weights), JSON.stringify(o.configWeights), at]);
  }

  async getWeightOverrides(): Promise<Record<string, WeightOverride>> {
    const { rows } = await this.#pool.query<{ service: string; weights: string; config_weights: string }>('SELECT service, weights, config_weights FROM service_weights ORDER BY service');
    return Object.fromEntries(rows.map((r) => [r.service, { weights: JSON.parse(r.weights), configWeights: JSON.parse(r.config_weights) }]));
  }

  async setWeights(service: string, o: WeightOverride, audit: AuditInput): Promise<void> {
    await this.#tx(async (c) => {
      await this.#upsertWeights(c, service, o, this.#now());
      await this.#insertAudit(c, audit);
    });
  }

  async clearWeights(service: string, audit: AuditInput): Promise<void> {
    await this.#tx(async (c) => {
      await c.query('DELETE FROM service_weights WHERE service = $1', [service]);
      await this.#insertAudit(c, audit);
    });
  }

  async appendAudit(entry: AuditInput): Promise<AuditEntry> {
    return this.#insertAudit(this.#pool, entry);
  }

  async listAudit(filter: { target?: string; limit?: number; before?: number } = {}): Promise<AuditEntry[]> {
    const where: string[] = [];
    const args: Array<string | number> = [];
    if (filter.target !== undefined) { args.push(filter.target); where.push(`target = $${args.length}`); }
    if (filter.before !== undefined) { args.push(filter.before); where.push(`id < $${args.length}`); }
    args.push(Math.min(filter.limit ?? 100, 1000));
    const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${args.length}`;
    const { rows } = await this.#pool.query<Record<string, string | null>>(sql, args);
    return rows.map((r) => ({
      id: Number(r.id), at: Number(r.at), actor: String(r.actor), action: String(r.action), target: String(r.target),
      before: unjson(r.before), after: unjson(r.after), reason: r.reason === null ? undefined : r.reason,
    }));
  }

  async getRollout(service: string): Promise<RolloutRecord | undefined> {
    const { rows } = await this.#pool.query<{ service: string; revision: string; state: string; updated_at: string }>('SELECT service, revision, state, updated_at FROM rollouts WHERE service = $1', [service]);
    const r = rows[0];
    return r && { service: r.service, revision: Number(r.revision), state: JSON.parse(r.state), updatedAt: Number(r.updated_at) };
  }

  async listRollouts(): Promise<RolloutRecord[]> {
    const { rows } = await this.#pool.query<{ service: string; revision: string; state: string; updated_at: string }>('SELECT service, revision, state, updated_at FROM rollouts ORDER BY service');
    return rows.map((r) => ({ service: r.service, revision: Number(r.revision), state: JSON.parse(r.state), updatedAt: Number(r.updated_at) }));
  }

  async putRollout(service: string, state: unknown, expectedRevision: number | null, audit: AuditInput, weights?: WeightOverride): Promise<RolloutRecord> {
    return this.#tx(async (c) => {
      const at = this.#now();
      const text = JSON.stringify(state);
      // A conditional write: under READ COMMITTED a concurrent writer waits for the row (or the key),
      // then re-checks the condition against the committed row, so only one of them writes.
      const r = expectedRevision === null
        ? await c.query('INSERT INTO rollouts (service, revision, state, updated_at) VALUES ($1, 1, $2, $3) ON CONFLICT (service) DO NOTHING RETURNING revision', [service, text, at])
        : await c.query('UPDATE rollouts SET revision = revision + 1, state = $3, updated_at = $4 WHERE service = $1 AND revision = $2 RETURNING revision', [service, expectedRevision, text, at]);
      if (r.rowCount !== 1) {
        const cur = await c.query<{ revision: string }>('SELECT revision FROM rollouts WHERE service = $1', [service]);
        const actual = cur.rows[0] ? Number(cur.rows[0].revision) : null;
        throw new WeirError('CONFLICT', `the rollout of ${service} changed meanwhile (revision ${actual}, expected ${expectedRevision})`);
      }
      if (weights) await this.#upsertWeights(c, service, weights, at);
      await this.#insertAudit(c, audit);
      return { service, revision: Number(r.rows[0].revision), state, updatedAt: at };
    });
  }

  async appendAnalysisRun(service: string, run: unknown): Promise<AnalysisRunRecord> {
    const at = this.#now();
    const r = await this.#pool.query<{ id: string }>('INSERT INTO analysis_runs (service, at, run) VALUES ($1, $2, $3) RETURNING id', [service, at, JSON.stringify(run)]);
    return { id: Number(r.rows[0].id), service, at, run };
  }

  async listAnalysisRuns(service: string, limit = 50): Promise<AnalysisRunRecord[]> {
    const { rows } = await this.#pool.query<{ id: string; service: string; at: string; run: string }>('SELECT id, service, at, run FROM analysis_runs WHERE service = $1 ORDER BY id DESC LIMIT $2', [service, Math.min(limit, 1000)]);
    return rows.map((r) => ({ id: Number(r.id), service: r.service, at: Number(r.at), run: JSON.parse(r.run) }));
  }

  async createToken(t: TokenRecord, audit: AuditInput): Promise<void> {
    await this.#tx(async (c) => {
      const r = await c.query('INSERT INTO api_tokens (name, scope, hash, created_at, created_by) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING', [t.name, t.scope, t.hash, t.createdAt, t.createdBy]);
      if (r.rowCount !== 1) throw new WeirError('CONFLICT', `a token named "${t.name}" exists; delete it first or choose another name`);
      await this.#insertAudit(c, audit);
    });
  }

  async listTokens(): Promise<TokenRecord[]> {
    const { rows } = await this.#pool.query<{ name: string; scope: TokenRecord['scope']; hash: string; created_at: string; created_by: string }>('SELECT name, scope, hash, created_at, created_by FROM api_tokens ORDER BY name');
    return rows.map((r) => ({ name: r.name, scope: r.scope, hash: r.hash, createdAt: Number(r.created_at), createdBy: r.created_by }));
  }

  async deleteToken(name: string, audit: AuditInput): Promise<boolean> {
    return this.#tx(async (c) => {
      const r = await c.query('DELETE FROM api_tokens WHERE name = $1', [name]);
      if (r.rowCount !== 1) return false;
      await this.#insertAudit(c, audit);
      return true;
    });
  }

  async listFlags(): Promise<StoredFlag[]> {
    const { rows } = await this.#pool.query<{ key: string; definition: string; revision: string; updated_at: string; updated_by: string }>('SELECT key, definition, revision, updated_at, updated_by FROM flags ORDER BY key COLLATE "C"');
    return rows.map((r) => ({ key: r.key, definition: JSON.parse(r.definition), revision: Number(r.revision), updatedAt: Number(r.updated_at), updatedBy: r.updated_by }));
  }

  async #putFlag(c: PoolClient, key: string, definition: unknown, actor: string, at: number): Promise<StoredFlag> {
    const r = await c.query<{ revision: string }>(`INSERT INTO flags (key, definition, revision, updated_at, updated_by) VALUES ($1, $2, 1, $3, $4)
      ON CONFLICT (key) DO UPDATE SET definition = excluded.definition, revision = flags.revision + 1, updated_at = excluded.updated_at, updated_by = excluded.updated_by
      RETURNING revision`, [key, JSON.stringify(definition), at, actor]);
    return { key, definition, revision: Number(r.rows[0].revision), updatedAt: at, updatedBy: actor };
  }

  async putFlag(key: string, definition: unknown, audit: AuditInput): Promise<StoredFlag> {
    return this.#tx(async (c) => {
      const out = await this.#putFlag(c, key, definition, audit.actor, this.#now());
      await this.#insertAudit(c, audit);
      return out;
    });
  }

  async deleteFlag(key: string, audit: AuditInput): Promise<boolean> {
    return this.#tx(async (c) => {
      if ((await c.query('DELETE FROM flags WHERE key = $1', [key])).rowCount !== 1) return false;
      await this.#insertAudit(c, audit);
      return true;
    });
  }

  async addFlagSchedule(s: { key: string; at: number; definition: unknown; createdBy: string }, audit: AuditInput): Promise<FlagSchedule> {
    return this.#tx(async (c) => {
      const r = await c.query<{ id: string }>("INSERT INTO flag_schedules (key, at, definition, status, created_by) VALUES ($1, $2, $3, 'pending', $4) RETURNING id", [s.key, s.at, JSON.stringify(s.definition), s.createdBy]);
      await this.#insertAudit(c, audit);
      return { id: Number(r.rows[0].id), key: s.key, at: s.at, definition: s.definition, status: 'pending' as const, createdBy: s.createdBy };
    });
  }

  async listFlagSchedules(filter: { key?: string; pending?: boolean } = {}): Promise<FlagSchedule[]> {
    const where: string[] = [];
    const args: string[] = [];
    if (filter.key !== undefined) { args.push(filter.key); where.push(`key = $${args.length}`); }
    if (filter.pending) where.push("status = 'pending'");
    const { rows } = await this.#pool.query<ScheduleRow>(`SELECT * FROM flag_schedules ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at, id`, args);
    return rows.map(scheduleRow);
  }

  async finishFlagSchedule(id: number, outcome: 'applied' | 'cancelled', audit: AuditInput): Promise<boolean> {
    return this.#tx(async (c) => {
      const at = this.#now();
      // Conditional: of two controllers (or a retry after a crash) only the one that flips `pending` writes.
      const r = await c.query<{ key: string; definition: string }>("UPDATE flag_schedules SET status = $2, done_at = $3 WHERE id = $1 AND status = 'pending' RETURNING key, definition", [id, outcome, at]);
      if (r.rowCount !== 1) return false;
      if (outcome === 'applied') await this.#putFlag(c, r.rows[0].key, JSON.parse(r.rows[0].definition), audit.actor, at);
      await this.#insertAudit(c, audit);
      return true;
    });
  }

  async addFlagUsage(usage: FlagUsage[]): Promise<void> {
    if (usage.length === 0) return;
    await this.#tx(async (c) => {
      for (const u of usage) {
        for (const [variant, n] of Object.entries(u.variants)) {
          await c.query(`INSERT INTO flag_usage (key, variant, count, last_at) VALUES ($1, $2, $3, $4)
            ON CONFLICT (key, variant) DO UPDATE SET count = flag_usage.count + excluded.count, last_at = greatest(flag_usage.last_at, excluded.last_at)`, [u.key, variant, n, u.lastEvaluatedAt]);
        }
      }
    });
  }

  async listFlagUsage(): Promise<FlagUsage[]> {
    return groupUsage((await this.#pool.query<UsageRow>('SELECT key, variant, count, last_at FROM flag_usage ORDER BY key COLLATE "C", variant COLLATE "C"')).rows);
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
