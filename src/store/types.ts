/**
 * The control plane's durable state. Two implementations share one contract test suite:
 * SQLite (node:sqlite, the embedded default, in dataDir) and PostgreSQL (scale-out).
 * Every method is async so both fit; every write that changes traffic also appends an audit entry
 * in the same transaction.
 */
export interface StateStore {
  /** Live weight overrides per service, with the configured weights they were set against. */
  getWeightOverrides(): Promise<Record<string, WeightOverride>>;
  /** Sets a service's weights and records the change in the audit log, atomically. */
  setWeights(service: string, override: WeightOverride, audit: AuditInput): Promise<void>;
  /** Removes an override (the config's weights apply again), with an audit entry. */
  clearWeights(service: string, audit: AuditInput): Promise<void>;
  appendAudit(entry: AuditInput): Promise<AuditEntry>;
  /** The stored rollout of a service (its state is the rollout module's JSON), if any. */
  getRollout(service: string): Promise<RolloutRecord | undefined>;
  listRollouts(): Promise<RolloutRecord[]>;
  /**
   * Writes a rollout's state if its revision is still `expectedRevision` (null: none stored yet) —
   * optimistic concurrency, so two controllers can never both apply a step. Also writes `weights`
   * (when given) and the audit entry, all in one transaction. Throws WeirError CONFLICT on a stale revision.
   */
  putRollout(service: string, state: unknown, expectedRevision: number | null, audit: AuditInput, weights?: WeightOverride): Promise<RolloutRecord>;
  appendAnalysisRun(service: string, run: unknown): Promise<AnalysisRunRecord>;
  listAnalysisRuns(service: string, limit?: number): Promise<AnalysisRunRecord[]>;
  listAudit(filter?: { target?: string; limit?: number; before?: number }): Promise<AuditEntry[]>;
  /** Stores an API token (its SHA-256 hash, never the token), with an audit entry. Throws CONFLICT if the name is taken. */
  createToken(token: TokenRecord, audit: AuditInput): Promise<void>;
  /** Every stored token, by name (hashes included: the control server matches presented tokens against them). */
  listTokens(): Promise<TokenRecord[]>;
  /** Removes a token, with an audit entry; false if there was none by that name. */
  deleteToken(name: string, audit: AuditInput): Promise<boolean>;
  close(): Promise<void>;
}

/** A stored API token: a name, what it may do, and the hex SHA-256 of the secret. */
export interface TokenRecord {
  name: string;
  scope: 'admin' | 'operator' | 'read';
  /** Hex SHA-256 of the token; the token itself is shown once and never stored. */
  hash: string;
  createdAt: number;
  /** Who created it (a token's name). */
  createdBy: string;
}

export interface WeightOverride {
  weights: Record<string, number>;
  /** The config's weights when the override was set: a config edit of this service's weights replaces the override. */
  configWeights: Record<string, number>;
}

export interface AuditInput {
  /** Who: a token's name, `config`, `controller`, … */
  actor: string;
  /** What: `weights.set`, `config.reload`, `rollout.start`, … */
  action: string;
  /** On what: a service name, a flag key, … */
  target: string;
  before?: unknown;
  after?: unknown;
  reason?: string;
}

export interface AuditEntry extends AuditInput {
  id: number;
  /** ms since the epoch. */
  at: number;
}

export interface RolloutRecord {
  service: string;
  /** Grows by one with every write. */
  revision: number;
  state: unknown;
  updatedAt: number;
}

export interface AnalysisRunRecord {
  id: number;
  service: string;
  at: number;
  run: unknown;
}
