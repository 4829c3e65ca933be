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
  /** Flags defined through the API (flagd flag definitions, by key), in key order. */
  listFlags(): Promise<StoredFlag[]>;
  /** Creates or replaces a flag's definition with an audit entry, atomically; the revision grows by one. */
  putFlag(key: string, definition: unknown, audit: AuditInput): Promise<StoredFlag>;
  /** Removes a stored flag with an audit entry; false (and no entry) if there was none. */
  deleteFlag(key: string, audit: AuditInput): Promise<boolean>;
  /** Records a change to apply at `at` (status `pending`), with an audit entry. */
  addFlagSchedule(s: { key: string; at: number; definition: unknown; createdBy: string }, audit: AuditInput): Promise<FlagSchedule>;
  /** Scheduled changes, by time then id; `key` filters, `pending` keeps only those not yet applied or cancelled. */
  listFlagSchedules(filter?: { key?: string; pending?: boolean }): Promise<FlagSchedule[]>;
  /**
   * Moves a pending schedule to `applied` (writing its definition as the flag, with the audit entry) or to
   * `cancelled`, in one transaction and only if it is still pending: false when it was not (applied
   * already, cancelled, unknown) — so a crash or a second controller can never apply it twice.
   */
  finishFlagSchedule(id: number, outcome: 'applied' | 'cancelled', audit: AuditInput): Promise<boolean>;
  /** Adds evaluation counts (per flag and variant) and moves last-evaluated times forward. */
  addFlagUsage(usage: FlagUsage[]): Promise<void>;
  /** Every flag's accumulated evaluation counts. */
  listFlagUsage(): Promise<FlagUsage[]>;
  close(): Promise<void>;
}

/** A flag defined through the API. */
export interface StoredFlag {
  key: string;
  /** A flagd flag definition (state, variants, defaultVariant, targeting, metadata, prerequisites). */
  definition: unknown;
  /** Grows by one with every write of this key. */
  revision: number;
  updatedAt: number;
  updatedBy: string;
}

/** A change to a flag that the controller applies at `at`. */
export interface FlagSchedule {
  id: number;
  key: string;
  /** ms since the epoch. */
  at: number;
  definition: unknown;
  status: 'pending' | 'applied' | 'cancelled';
  createdBy: string;
  /** When it was applied or cancelled. */
  doneAt?: number;
}

/** Evaluations of one flag: per-variant counts (`''` for no variant: the code default) and the last time seen. */
export interface FlagUsage {
  key: string;
  variants: Record<string, number>;
  /** ms since the epoch. */
  lastEvaluatedAt: number;
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
