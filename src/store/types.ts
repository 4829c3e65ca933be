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
  listAudit(filter?: { target?: string; limit?: number; before?: number }): Promise<AuditEntry[]>;
  close(): Promise<void>;
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
