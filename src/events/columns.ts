import { FIELD_ALIASES } from './schema.ts';

/** The column types the event store uses. Custom numeric fields are DOUBLE. */
export type ColumnType = 'BIGINT' | 'INTEGER' | 'DOUBLE' | 'VARCHAR' | 'BOOLEAN';

/** One column of the events table, as the query planner sees it. */
export interface FieldInfo {
  name: string;
  type: ColumnType;
  /** A standard field (created with the table) rather than one added when first seen. */
  standard: boolean;
}

/**
 * The standard fields: the proxy's wide event (schema.ts) plus what OTLP spans, logs and error
 * fingerprints bring. Everything else becomes a column the first time it is seen.
 */
export const STANDARD_COLUMNS: readonly (readonly [string, ColumnType])[] = [
  ['timestamp', 'BIGINT'],
  ['request.id', 'VARCHAR'],
  ['service.name', 'VARCHAR'],
  ['service.version', 'VARCHAR'],
  ['http.request.method', 'VARCHAR'],
  ['url.path', 'VARCHAR'],
  ['http.route', 'VARCHAR'],
  ['http.response.status_code', 'INTEGER'],
  ['duration_ms', 'DOUBLE'],
  ['upstream.duration_ms', 'DOUBLE'],
  ['weir.decision', 'VARCHAR'],
  ['weir.traffic', 'VARCHAR'],
  ['upstream.address', 'VARCHAR'],
  ['http.request.body.size', 'DOUBLE'],
  ['http.response.body.size', 'DOUBLE'],
  ['error.type', 'VARCHAR'],
  ['client.address', 'VARCHAR'],
  ['user_agent.original', 'VARCHAR'],
  ['weir.sticky_key_hash', 'VARCHAR'],
  ['weir.sticky_key', 'VARCHAR'],
  ['deployment.environment.name', 'VARCHAR'],
  ['meta.signal_type', 'VARCHAR'],
  ['name', 'VARCHAR'],
  ['trace.trace_id', 'VARCHAR'],
  ['trace.span_id', 'VARCHAR'],
  ['trace.parent_id', 'VARCHAR'],
  ['exception.type', 'VARCHAR'],
  ['exception.message', 'VARCHAR'],
  ['exception.stacktrace', 'VARCHAR'],
  ['error.fingerprint', 'VARCHAR'],
];

/** Field names longer than this are not stored (they are almost always a bug upstream). */
export const MAX_FIELD_NAME_LENGTH = 256;

/** Quotes an identifier for DuckDB; the only way a field name reaches SQL. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The column type a JS value would get as a new custom column, or undefined for null/undefined. */
export function inferType(value: unknown): ColumnType | undefined {
  switch (typeof value) {
    case 'number':
    case 'bigint':
      return 'DOUBLE';
    case 'boolean':
      return 'BOOLEAN';
    case 'string':
      return 'VARCHAR';
    default:
      return value === null || value === undefined ? undefined : 'VARCHAR';
  }
}

/** True when a value of `value`'s JS type can be stored in a column of `type` without widening. */
export function fits(type: ColumnType, value: unknown): boolean {
  if (value === null || value === undefined) return true;
  switch (type) {
    case 'VARCHAR':
      return true;
    case 'BOOLEAN':
      return typeof value === 'boolean';
    default:
      return typeof value === 'number' || typeof value === 'bigint' || (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)));
  }
}

/** The field catalog: canonical names, case-insensitive lookup (DuckDB identifiers are), aliases. */
export class FieldCatalog {
  readonly #byLower = new Map<string, FieldInfo>();

  constructor(fields: Iterable<FieldInfo> = []) {
    for (const f of fields) this.add(f);
  }

  add(field: FieldInfo): void {
    this.#byLower.set(field.name.toLowerCase(), field);
  }

  /** The column for a field name or alias (`status` → `http.response.status_code`). */
  resolve(name: string): FieldInfo | undefined {
    const direct = this.#byLower.get(name.toLowerCase());
    if (direct) return direct;
    const alias = FIELD_ALIASES[name];
    return alias === undefined ? undefined : this.#byLower.get(alias.toLowerCase());
  }

  get(name: string): FieldInfo | undefined {
    return this.#byLower.get(name.toLowerCase());
  }

  list(): FieldInfo[] {
    return [...this.#byLower.values()];
  }

  get size(): number {
    return this.#byLower.size;
  }
}

/** A catalog holding only the standard columns: what a fresh store has. */
export function standardCatalog(): FieldCatalog {
  return new FieldCatalog(STANDARD_COLUMNS.map(([name, type]) => ({ name, type, standard: true })));
}
