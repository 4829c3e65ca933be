/**
 * SQL over the event store for an experiment: exposures → units and arms, and each metric's per-unit
 * values summarised per arm. Pure: builds text and positional parameters. Field names reach SQL only
 * as quoted identifiers of columns the store's catalog knows (unknown names are refused with a
 * reason); filter values only as parameters (the query specification's own validation and SQL).
 */
import { WeirError } from '../errors.ts';
import type { FieldCatalog, FieldInfo } from '../events/columns.ts';
import { quoteIdent } from '../events/columns.ts';
import { EVENTS_TABLE, Params, filtersSql } from '../events/query/plan.ts';
import { validateQuery } from '../events/query/spec.ts';
import type { Scalar } from '../events/query/spec.ts';
import type { ExperimentConfig, FilterConfig, MetricConfig } from './config.ts';
import { armsOf } from './analyze.ts';

/** The OpenTelemetry `feature_flag.evaluation` fields an exposure carries. */
export const EXPOSURE_FIELDS = {
  key: 'feature_flag.key',
  variant: 'feature_flag.result.variant',
  unit: 'feature_flag.context.id',
} as const;

export interface SqlPlan {
  sql: string;
  params: Scalar[];
}

/** The window analysed: exposures in [startMs, endMs), metric events up to endMs. */
export interface Window {
  startMs: number;
  endMs: number;
}

/**
 * The window of an experiment at `now`: from `start` (or the epoch) to the earlier of `end` and now
 * (inclusive of events stamped now).
 * @example
 * windowOf({ start: 1000, end: 5000 } as ExperimentConfig, 3000); // { startMs: 1000, endMs: 3001 }
 */
export function windowOf(exp: ExperimentConfig, now: number): Window {
  return { startMs: exp.start ?? 0, endMs: Math.min(exp.end ?? Number.POSITIVE_INFINITY, now + 1) };
}

const NUMERIC = new Set(['BIGINT', 'INTEGER', 'DOUBLE']);
const text = (f: FieldInfo) => `CAST(${quoteIdent(f.name)} AS VARCHAR)`;

function field(catalog: FieldCatalog, name: string, what: string): FieldInfo {
  const f = catalog.resolve(name);
  if (!f) throw new WeirError('QUERY_INVALID', `${what}: no event has carried the field "${name}" yet`);
  return f;
}

/** The exposures' units: one row per unit with its first arm, first exposure time and distinct arms. */
function unitsCte(exp: ExperimentConfig, catalog: FieldCatalog, w: Window, p: Params): string {
  const key = field(catalog, EXPOSURE_FIELDS.key, 'exposures');
  const variant = field(catalog, EXPOSURE_FIELDS.variant, 'exposures');
  const unit = field(catalog, EXPOSURE_FIELDS.unit, 'exposures');
  const arms = armsOf(exp).map((a) => p.add(a)).join(', ');
  return `x AS (
  SELECT ${text(unit)} AS u, ${text(variant)} AS v, "timestamp" AS ts FROM ${EVENTS_TABLE}
  WHERE ${text(key)} = ${p.add(exp.flag)} AND "timestamp" >= ${p.add(w.startMs)} AND "timestamp" < ${p.add(w.endMs)}
    AND ${quoteIdent(unit.name)} IS NOT NULL AND ${text(variant)} IN (${arms})
), units AS (
  SELECT u, arg_min(v, ts) AS arm, min(ts) AS t0, count(DISTINCT v) AS k FROM x GROUP BY u
), a AS (SELECT u, arm, t0 FROM units WHERE k = 1)`;
}

/**
 * Units per arm (first exposure in the window), and units exposed to several arms.
 * Columns: arm, n, multi.
 * @example
 * const { sql, params } = exposuresSql(exp, store.catalog, windowOf(exp, Date.now()));
 */
export function exposuresSql(exp: ExperimentConfig, catalog: FieldCatalog, w: Window): SqlPlan {
  const p = new Params();
  const sql = `WITH ${unitsCte(exp, catalog, w, p)}
SELECT arm, CAST(count(*) FILTER (WHERE k = 1) AS DOUBLE) AS n, CAST(count(*) FILTER (WHERE k > 1) AS DOUBLE) AS multi FROM units GROUP BY arm`;
  return { sql, params: p.values };
}

/**
 * Exposure events of the flag whose variant is not an arm (a disabled flag's default, a variant the
 * experiment does not name): ignored by the analysis, counted for a warning. Columns: variant, n.
 * @example
 * const { sql, params } = otherVariantsSql(exp, store.catalog, windowOf(exp, Date.now()));
 */
export function otherVariantsSql(exp: ExperimentConfig, catalog: FieldCatalog, w: Window): SqlPlan {
  const p = new Params();
  const key = field(catalog, EXPOSURE_FIELDS.key, 'exposures');
  const variant = field(catalog, EXPOSURE_FIELDS.variant, 'exposures');
  const arms = armsOf(exp).map((a) => p.add(a)).join(', ');
  const sql = `SELECT coalesce(${text(variant)}, '(none)') AS variant, CAST(count(*) AS DOUBLE) AS n FROM ${EVENTS_TABLE}
WHERE ${text(key)} = ${p.add(exp.flag)} AND "timestamp" >= ${p.add(w.startMs)} AND "timestamp" < ${p.add(w.endMs)}
  AND (${quoteIdent(variant.name)} IS NULL OR ${text(variant)} NOT IN (${arms}))
GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20`;
  return { sql, params: p.values };
}

/** The filters as SQL, validated like a query's (`filters[0].column: unknown field …`). */
function filterExpr(filters: readonly FilterConfig[] | undefined, catalog: FieldCatalog, p: Params, path: string): string {
  if (!filters || filters.length === 0) return 'true';
  try {
    const nq = validateQuery({ calculations: [{ op: 'COUNT' }], filters }, catalog, 0);
    return filtersSql(nq.filters, 'AND', p);
  } catch (e) {
    if (e instanceof WeirError && Array.isArray(e.details)) {
      const list = e.details as { path: string; message: string }[];
      throw new WeirError('QUERY_INVALID', list.map((d) => `${path}.${d.path}: ${d.message}`).join('; '), { details: list.map((d) => ({ ...d, path: `${path}.${d.path}` })) });
    }
    throw e;
  }
}

function valueExpr(name: string | undefined, catalog: FieldCatalog, path: string): string {
  if (name === undefined) return '1.0';
  const f = field(catalog, name, path);
  if (!NUMERIC.has(f.type)) throw new WeirError('QUERY_INVALID', `${path}: "${f.name}" holds ${f.type.toLowerCase()} values; a metric sums a numeric field`);
  return `CAST(${quoteIdent(f.name)} AS DOUBLE)`;
}

/** Matching events per unit id: `name` CTE with columns u, ts, val. */
function eventsCte(name: string, unit: FieldInfo, sel: { filters?: FilterConfig[]; field?: string }, catalog: FieldCatalog, w: Window, p: Params, path: string): string {
  const val = valueExpr(sel.field, catalog, `${path}.field`);
  const where = filterExpr(sel.filters, catalog, p, path);
  return `${name} AS (
  SELECT ${text(unit)} AS u, "timestamp" AS ts, ${val} AS val FROM ${EVENTS_TABLE}
  WHERE "timestamp" >= ${p.add(w.startMs)} AND "timestamp" < ${p.add(w.endMs)} AND ${quoteIdent(unit.name)} IS NOT NULL AND ${where}
)`;
}

/** Per-unit aggregate of `e` joined to the units `a` after each unit's first exposure. */
function perUnit(name: string, ev: string, agg: string, m: MetricConfig, p: Params): string {
  const win = m.window === undefined ? '' : ` AND ${ev}.ts < a.t0 + ${p.add(m.window)}`;
  return `${name} AS (
  SELECT a.u, a.arm, ${agg} AS y FROM a LEFT JOIN ${ev} ON ${ev}.u = a.u AND ${ev}.ts >= a.t0${win} GROUP BY a.u, a.arm
)`;
}

/**
 * One metric's per-arm summary. Conversion and mean metrics give columns arm, n, mean, var and, with
 * CUPED, mx, vx, cxy (pre-period covariate, units without pre-period events imputed with the mean);
 * ratio metrics give arm, n, my, mx, vy, vx, cxy (numerator y, denominator x).
 * @example
 * const plan = metricSql(exp, exp.metrics[0], store.catalog, windowOf(exp, now), 'metrics[0]');
 * const rows = await store.sql(plan.sql, plan.params);
 */
export function metricSql(exp: ExperimentConfig, m: MetricConfig, catalog: FieldCatalog, w: Window, path: string): SqlPlan {
  const p = new Params();
  const unit = field(catalog, exp.unit ?? EXPOSURE_FIELDS.unit, `${path}: the unit field`);
  const ctes = [unitsCte(exp, catalog, w, p)];
  if (m.type === 'ratio') {
    ctes.push(eventsCte('en', unit, m.numerator ?? {}, catalog, w, p, `${path}.numerator`));
    ctes.push(eventsCte('ed', unit, m.denominator ?? {}, catalog, w, p, `${path}.denominator`));
    ctes.push(perUnit('num', 'en', 'coalesce(sum(en.val), 0)', m, p));
    ctes.push(perUnit('den', 'ed', 'coalesce(sum(ed.val), 0)', m, p));
    const sql = `WITH ${ctes.join(',\n')}
SELECT num.arm, CAST(count(*) AS DOUBLE) AS n, avg(num.y) AS my, avg(den.y) AS mx,
  coalesce(var_samp(num.y), 0) AS vy, coalesce(var_samp(den.y), 0) AS vx, coalesce(covar_samp(num.y, den.y), 0) AS cxy
FROM num JOIN den ON num.u = den.u GROUP BY num.arm`;
    return { sql, params: p.values };
  }
  ctes.push(eventsCte('e', unit, { filters: m.filters, field: m.field }, catalog, w, p, path));
  const agg = m.type === 'conversion' ? 'CASE WHEN count(e.ts) > 0 THEN 1.0 ELSE 0.0 END' : 'coalesce(sum(e.val), 0)';
  ctes.push(perUnit('per', 'e', agg, m, p));
  if (!exp.cuped || exp.start === undefined) {
    const sql = `WITH ${ctes.join(',\n')}
SELECT arm, CAST(count(*) AS DOUBLE) AS n, avg(y) AS mean, coalesce(var_samp(y), 0) AS var FROM per GROUP BY arm`;
    return { sql, params: p.values };
  }
  // CUPED covariate: the same metric over [start − preperiod, start), per unit id. "Has pre-period
  // data" means the unit id appears on any event then; the others get the mean of those that do.
  const where = filterExpr(m.filters, catalog, p, path);
  const val = valueExpr(m.field, catalog, `${path}.field`);
  const preAgg = m.type === 'conversion' ? `max(CASE WHEN ${where} THEN 1.0 ELSE 0.0 END)` : `coalesce(sum(CASE WHEN ${where} THEN ${val} END), 0)`;
  ctes.push(`pre AS (
  SELECT ${text(unit)} AS u, ${preAgg} AS x FROM ${EVENTS_TABLE}
  WHERE "timestamp" >= ${p.add(exp.start - exp.cuped.preperiod)} AND "timestamp" < ${p.add(exp.start)} AND ${quoteIdent(unit.name)} IS NOT NULL GROUP BY 1
), cov AS (
  SELECT per.arm, per.y, coalesce(pre.x, avg(pre.x) OVER ()) AS x FROM per LEFT JOIN pre ON pre.u = per.u
)`);
  const sql = `WITH ${ctes.join(',\n')}
SELECT arm, CAST(count(*) AS DOUBLE) AS n, avg(y) AS mean, coalesce(var_samp(y), 0) AS var,
  avg(x) AS mx, coalesce(var_samp(x), 0) AS vx, coalesce(covar_samp(y, x), 0) AS cxy FROM cov GROUP BY arm`;
  return { sql, params: p.values };
}
