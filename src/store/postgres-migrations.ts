/** The PostgreSQL store's schema, one migration per entry (see openPostgresStore). */
// JSON is kept in TEXT, not jsonb: jsonb reorders object keys, and the control plane compares weights
// by their JSON text (a reordered `configWeights` would look like a config edit and drop the override).
/** Schema migrations, applied in order, each once, under an advisory lock (recorded in weir_schema_migrations). */
export const MIGRATIONS: string[] = [
  `CREATE TABLE service_weights (
     service TEXT PRIMARY KEY,
     weights TEXT NOT NULL,
     config_weights TEXT NOT NULL,
     updated_at BIGINT NOT NULL
   );
   CREATE TABLE audit (
     id BIGSERIAL PRIMARY KEY,
     at BIGINT NOT NULL,
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
     revision BIGINT NOT NULL,
     state TEXT NOT NULL,
     updated_at BIGINT NOT NULL
   );
   CREATE TABLE analysis_runs (
     id BIGSERIAL PRIMARY KEY,
     service TEXT NOT NULL,
     at BIGINT NOT NULL,
     run TEXT NOT NULL
   );
   CREATE INDEX analysis_runs_service ON analysis_runs(service, id);`,
  `CREATE TABLE api_tokens (
     name TEXT PRIMARY KEY,
     scope TEXT NOT NULL,
     hash TEXT NOT NULL UNIQUE,
     created_at BIGINT NOT NULL,
     created_by TEXT NOT NULL
   );`,
  `CREATE TABLE flags (
     key TEXT PRIMARY KEY,
     definition TEXT NOT NULL,
     revision BIGINT NOT NULL,
     updated_at BIGINT NOT NULL,
     updated_by TEXT NOT NULL
   );
   CREATE TABLE flag_schedules (
     id BIGSERIAL PRIMARY KEY,
     key TEXT NOT NULL,
     at BIGINT NOT NULL,
     definition TEXT NOT NULL,
     status TEXT NOT NULL,
     created_by TEXT NOT NULL,
     done_at BIGINT
   );
   CREATE INDEX flag_schedules_pending ON flag_schedules(status, at);
   CREATE TABLE flag_usage (
     key TEXT NOT NULL,
     variant TEXT NOT NULL,
     count BIGINT NOT NULL,
     last_at BIGINT NOT NULL,
     PRIMARY KEY (key, variant)
   );`,
];
