import { DatabaseSync } from 'node:sqlite';
import { WeirError } from '../errors.ts';
import type { AnalysisRunRecord, AuditEntry, AuditInput, FlagSchedule, FlagUsage, RolloutRecord, StateStore, StoredFlag, TokenRecord, WeightOverride } from './types.ts';
import { groupUsage, scheduleRow } from './flag-rows.ts';
import type { ScheduleRow, UsageRow } from './flag-rows.ts';

/** Schema migrations, applied in order, each once (recorded in schema_migrations). */
const MIGRATIONS: string[] = [
  `CREATE TABLE service_weights (
     service TEXT PRIMARY KEY,
     weights TEXT NOT NULL,
     config_weights TEXT NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE TABLE audit (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at INTEGER NOT NULL,
     actor TEXT NOT NULL,
     action TEXT NOT NULL,
     target TEXT NOT NULL,
     before TEXT,
     after TEXT,
     reason TEXT
   );
   CREATE INDEX audit_target ON audit(target, id);`,
  `CREATE TABLE rollouts (
     service TEXT PRIMARY KEY,
     revision INTEGER NOT NULL,
     state TEXT NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE TABLE analysis_runs (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     service TEXT NOT NULL,
     at INTEGER NOT NULL,
     run TEXT NOT NULL
   );
   CREATE INDEX analysis_runs_service ON analysis_runs(service, id);`,
  `CREATE TABLE api_tokens (
     name TEXT PRIMARY KEY,
     scope TEXT NOT NULL,
     hash TEXT NOT NULL UNIQUE,
     created_at INTEGER NOT NULL,
     created_by TEXT NOT NULL
   );`,
  `CREATE TABLE flags (
     key TEXT PRIMARY KEY,
     definition TEXT NOT NULL,
     revision INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     updated_by TEXT NOT NULL
   );
   CREATE TABLE flag_schedules (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     key TEXT NOT NULL,
     at INTEGER NOT NULL,
     definition TEXT NOT NULL,
     status TEXT NOT NULL,
     created_by TEXT NOT NULL,
     done_at INTEGER
   );
   CREATE INDEX flag_schedules_pending ON flag_schedules(status, at);
   CREATE TABLE flag_usage (
     key TEXT NOT NULL,
     variant TEXT NOT NULL,
     count INTEGER NOT NULL,
     last_at INTEGER NOT NULL,
     PRIMARY KEY (key, variant)
   );`,
];

/**
 * The embedded state store: one SQLite file in WAL mode with synchronous=FULL, so a committed change
 * survives a crash or power loss.
 *
 * @example
 *   const store = openSqliteStore('.weir/state.db', Date.now);
 */
export function openSqliteStore(path: string, now: () => number = Date.now): StateStore {
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;');
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
  const applied = new Set((db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: number }>).map((r) => r.version));
  MIGRATIONS.forEach((sql, i) => {
    if (applied.has(i + 1)) return;
    db.exec('BEGIN');
    try {
      db.exec(sql);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(i + 1, now());
      db.exec('COMMIT');
    } catch (e) {
      db.exec('ROLLBACK');
      throw e;
    }
  });
  return new SqliteStore(db, now);
}

class SqliteStore implements StateStore {
  readonly #db: DatabaseSync;
  readonly #now: () => number;

  constructor(db: DatabaseSync, now: () => number) {
    this.#db = db;
    this.#now = now;
  }

  #tx<T>(fn: () => T): T {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const out = fn();
      this.#db.exec('COMMIT');
      return out;
    } catch (e) {
      this.#db.exec('ROLLBACK');
      throw e;
    }
  }

  #insertAudit(e: AuditInput): AuditEntry {
    const at = this.#now();
    const r = this.#db.prepare('INSERT INTO audit (at, actor, action, target, before, after, reason) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
      at, e.actor, e.action, e.target, e.before === undefined ? null : JSON.stringify(e.before), e.after === undefined ? null : JSON.stringify(e.after), e.reason ?? null);
    return { ...e, id: Number(r.lastInsertRowid), at };
  }

  async getWeightOverrides(): Promise<Record<string, WeightOverride>> {
    const rows = this.#db.prepare('SELECT service, weights, config_weights FROM service_weights').all() as Array<{ service: string; weights: string; config_weights: string }>;
    return Object.fromEntries(rows.map((r) => [r.service, { weights: JSON.parse(r.weights), configWeights: JSON.parse(r.config_weights) }]));
  }

  async setWeights(service: string, o: WeightOverride, audit: AuditInput): Promise<void> {
    this.#tx(() => {
      this.#db.prepare(`INSERT INTO service_weights (service, weights, config_weights, updated_at) VALUES (?, ?, ?, ?)
        ON CONFLICT(service) DO UPDATE SET weights = excluded.weights, config_weights = excluded.config_weights, updated_at = excluded.updated_at`)
        .run(service, JSON.stringify(o.weights), JSON.stringify(o.configWeights), this.#now());
      this.#insertAudit(audit);
    });
  }

  async clearWeights(service: string, audit: AuditInput): Promise<void> {
    this.#tx(() => {
      this.#db.prepare('DELETE FROM service_weights WHERE service = ?').run(service);
      this.#insertAudit(audit);
    });
  }

  async appendAudit(entry: AuditInput): Promise<AuditEntry> {
    return this.#insertAudit(entry);
  }

  async listAudit(filter: { target?: string; limit?: number; before?: number } = {}): Promise<AuditEntry[]> {
    const where: string[] = [];
    const args: Array<string | number> = [];
    if (filter.target !== undefined) { where.push('target = ?'); args.push(filter.target); }
    if (filter.before !== undefined) { where.push('id < ?'); args.push(filter.before); }
    const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    args.push(Math.min(filter.limit ?? 100, 1000));
    const rows = this.#db.prepare(sql).all(...args) as Array<Record<string, unknown>>;
    return rows.map((r) => ({
      id: Number(r.id), at: Number(r.at), actor: String(r.actor), action: String(r.action), target: String(r.target),
      before: r.before === null ? undefined : JSON.parse(String(r.before)),
      after: r.after === null ? undefined : JSON.parse(String(r.after)),
      reason: r.reason === null ? undefined : String(r.reason),
    }));
  }

  async getRollout(service: string): Promise<RolloutRecord | undefined> {
    const r = this.#db.prepare('SELECT service, revision, state, updated_at FROM rollouts WHERE service = ?').get(service) as { service: string; revision: number; state: string; updated_at: number } | undefined;
    return r && { service: r.service, revision: Number(r.revision), state: JSON.parse(r.state), updatedAt: Number(r.updated_at) };
  }

  async listRollouts(): Promise<RolloutRecord[]> {
    const rows = this.#db.prepare('SELECT service, revision, state, updated_at FROM rollouts ORDER BY service').all() as Array<{ service: string; revision: number; state: string; updated_at: number }>;
    return rows.map((r) => ({ service: r.service, revision: Number(r.revision), state: JSON.parse(r.state), updatedAt: Number(r.updated_at) }));
  }

  async putRollout(service: string, state: unknown, expectedRevision: number | null, audit: AuditInput, weights?: WeightOverride): Promise<RolloutRecord> {
    return this.#tx(() => {
      const cur = this.#db.prepare('SELECT revision FROM rollouts WHERE service = ?').get(service) as { revision: number } | undefined;
      const actual = cur === undefined ? null : Number(cur.revision);
      if (actual !== expectedRevision) throw new WeirError('CONFLICT', `the rollout of ${service} changed meanwhile (revision ${actual}, expected ${expectedRevision})`);
      const revision = (actual ?? 0) + 1;
      const at = this.#now();
      this.#db.prepare(`INSERT INTO rollouts (service, revision, state, updated_at) VALUES (?, ?, ?, ?)
        ON CONFLICT(service) DO UPDATE SET revision = excluded.revision, state = excluded.state, updated_at = excluded.updated_at`)
        .run(service, revision, JSON.stringify(state), at);
      if (weights) {
        this.#db.prepare(`INSERT INTO service_weights (service, weights, config_weights, updated_at) VALUES (?, ?, ?, ?)
          ON CONFLICT(service) DO UPDATE SET weights = excluded.weights, config_weights = excluded.config_weights, updated_at = excluded.updated_at`)
          .run(service, JSON.stringify(weights.weights), JSON.stringify(weights.configWeights), at);
      }
      this.#insertAudit(audit);
      return { service, revision, state, updatedAt: at };
    });
  }

  async appendAnalysisRun(service: string, run: unknown): Promise<AnalysisRunRecord> {
    const at = this.#now();
    const r = this.#db.prepare('INSERT INTO analysis_runs (service, at, run) VALUES (?, ?, ?)').run(service, at, JSON.stringify(run));
    return { id: Number(r.lastInsertRowid), service, at, run };
  }

  async listAnalysisRuns(service: string, limit = 50): Promise<AnalysisRunRecord[]> {
    const rows = this.#db.prepare('SELECT id, service, at, run FROM analysis_runs WHERE service = ? ORDER BY id DESC LIMIT ?').all(service, Math.min(limit, 1000)) as Array<{ id: number; service: string; at: number; run: string }>;
    return rows.map((r) => ({ id: Number(r.id), service: r.service, at: Number(r.at), run: JSON.parse(r.run) }));
  }

  async createToken(t: TokenRecord, audit: AuditInput): Promise<void> {
    this.#tx(() => {
      if (this.#db.prepare('SELECT 1 FROM api_tokens WHERE name = ?').get(t.name)) throw new WeirError('CONFLICT', `a token named "${t.name}" exists; delete it first or choose another name`);
      this.#db.prepare('INSERT INTO api_tokens (name, scope, hash, created_at, created_by) VALUES (?, ?, ?, ?, ?)').run(t.name, t.scope, t.hash, t.createdAt, t.createdBy);
      this.#insertAudit(audit);
    });
  }

  async listTokens(): Promise<TokenRecord[]> {
    const rows = this.#db.prepare('SELECT name, scope, hash, created_at, created_by FROM api_tokens ORDER BY name').all() as Array<{ name: string; scope: TokenRecord['scope']; hash: string; created_at: number; created_by: string }>;
    return rows.map((r) => ({ name: r.name, scope: r.scope, hash: r.hash, createdAt: Number(r.created_at), createdBy: r.created_by }));
  }

  async deleteToken(name: string, audit: AuditInput): Promise<boolean> {
    return this.#tx(() => {
      const r = this.#db.prepare('DELETE FROM api_tokens WHERE name = ?').run(name);
      if (r.changes === 0) return false;
      this.#insertAudit(audit);
      return true;
    });
  }

  async listFlags(): Promise<StoredFlag[]> {
    const rows = this.#db.prepare('SELECT key, definition, revision, updated_at, updated_by FROM flags ORDER BY key').all() as Array<{ key: string; definition: string; revision: number; updated_at: number; updated_by: string }>;
    return rows.map((r) => ({ key: r.key, definition: JSON.parse(r.definition), revision: Number(r.revision), updatedAt: Number(r.updated_at), updatedBy: r.updated_by }));
  }

  #putFlag(key: string, definition: unknown, actor: string, at: number): StoredFlag {
    const cur = this.#db.prepare('SELECT revision FROM flags WHERE key = ?').get(key) as { revision: number } | undefined;
    const revision = (cur ? Number(cur.revision) : 0) + 1;
    this.#db.prepare(`INSERT INTO flags (key, definition, revision, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT(key) DO UPDATE SET definition = excluded.definition, revision = excluded.revision, updated_at = excluded.updated_at, updated_by = excluded.updated_by`)
      .run(key, JSON.stringify(definition), revision, at, actor);
    return { key, definition, revision, updatedAt: at, updatedBy: actor };
  }

  async putFlag(key: string, definition: unknown, audit: AuditInput): Promise<StoredFlag> {
    return this.#tx(() => {
      const out = this.#putFlag(key, definition, audit.actor, this.#now());
      this.#insertAudit(audit);
      return out;
    });
  }

  async deleteFlag(key: string, audit: AuditInput): Promise<boolean> {
    return this.#tx(() => {
      if (this.#db.prepare('DELETE FROM flags WHERE key = ?').run(key).changes === 0) return false;
      this.#insertAudit(audit);
      return true;
    });
  }

  async addFlagSchedule(s: { key: string; at: number; definition: unknown; createdBy: string }, audit: AuditInput): Promise<FlagSchedule> {
    return this.#tx(() => {
      const r = this.#db.prepare("INSERT INTO flag_schedules (key, at, definition, status, created_by) VALUES (?, ?, ?, 'pending', ?)").run(s.key, s.at, JSON.stringify(s.definition), s.createdBy);
      this.#insertAudit(audit);
      return { id: Number(r.lastInsertRowid), key: s.key, at: s.at, definition: s.definition, status: 'pending' as const, createdBy: s.createdBy };
    });
  }

  async listFlagSchedules(filter: { key?: string; pending?: boolean } = {}): Promise<FlagSchedule[]> {
    const where: string[] = [];
    const args: string[] = [];
    if (filter.key !== undefined) { where.push('key = ?'); args.push(filter.key); }
    if (filter.pending) where.push("status = 'pending'");
    const rows = this.#db.prepare(`SELECT * FROM flag_schedules ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at, id`).all(...args) as unknown as ScheduleRow[];
    return rows.map(scheduleRow);
  }

  async finishFlagSchedule(id: number, outcome: 'applied' | 'cancelled', audit: AuditInput): Promise<boolean> {
    return this.#tx(() => {
      const row = this.#db.prepare("SELECT key, definition FROM flag_schedules WHERE id = ? AND status = 'pending'").get(id) as { key: string; definition: string } | undefined;
      if (!row) return false;
      const at = this.#now();
      this.#db.prepare('UPDATE flag_schedules SET status = ?, done_at = ? WHERE id = ?').run(outcome, at, id);
      if (outcome === 'applied') this.#putFlag(row.key, JSON.parse(row.definition), audit.actor, at);
      this.#insertAudit(audit);
      return true;
    });
  }

  async addFlagUsage(usage: FlagUsage[]): Promise<void> {
    this.#tx(() => {
      const up = this.#db.prepare(`INSERT INTO flag_usage (key, variant, count, last_at) VALUES (?, ?, ?, ?)
        ON CONFLICT(key, variant) DO UPDATE SET count = count + excluded.count, last_at = max(last_at, excluded.last_at)`);
      for (const u of usage) for (const [variant, n] of Object.entries(u.variants)) up.run(u.key, variant, n, u.lastEvaluatedAt);
    });
  }

  async listFlagUsage(): Promise<FlagUsage[]> {
    return groupUsage(this.#db.prepare('SELECT key, variant, count, last_at FROM flag_usage ORDER BY key, variant').all() as unknown as UsageRow[]);
  }

  async close(): Promise<void> {
    this.#db.close();
  }
}
