import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WeirError } from '../../src/errors.ts';
import { FieldCatalog, standardCatalog } from '../../src/events/columns.ts';
import { planSeries, planTotals } from '../../src/events/query/plan.ts';
import { groupKey, planWindowTotals, seriesGroups } from '../../src/events/query/series-first.ts';
import { parseCalc, validateQuery } from '../../src/events/query/spec.ts';

const NOW = Date.UTC(2026, 0, 15, 12);
const EVIL = 'x"; DROP TABLE events; --';

function catalog(): FieldCatalog {
  const c = standardCatalog();
  c.add({ name: EVIL, type: 'VARCHAR', standard: false });
  c.add({ name: 'app.plan', type: 'VARCHAR', standard: false });
  return c;
}

test('field names are quoted identifiers and values are parameters: no injection either way', () => {
  const q = validateQuery({
    calculations: [{ op: 'COUNT' }],
    filters: [{ column: EVIL, op: '=', value: "'; DROP TABLE events; --" }, { column: 'app.plan', op: 'in', value: ["a') OR 1=1 --", 'b'] }],
    breakdowns: [EVIL],
  }, catalog(), NOW);
  const { sql, params } = planTotals(q);
  assert.ok(sql.includes('"x""; DROP TABLE events; --"'), sql);
  assert.ok(!sql.includes("'; DROP"), 'values never appear in the SQL text');
  assert.ok(!sql.includes('OR 1=1'));
  assert.ok(params.includes("'; DROP TABLE events; --"));
  assert.ok(params.includes("a') OR 1=1 --"));
  assert.equal((sql.match(/\$\d+/g) ?? []).length, params.length, 'every parameter is referenced once');
});

test('series first: group values from the series reach the totals query as parameters, bucket values summed per group', () => {
  const q = validateQuery({ calculations: ['P99(duration_ms)', 'COUNT'], breakdowns: [EVIL], time_range: 3600 }, catalog(), NOW);
  const group = "'; DROP TABLE events; --";
  const groups = seriesGroups(q, [
    { g0: group, t: 0, c0: 12.5, n0: 100n, c1: 100n },
    { g0: group, t: 60_000, c0: 9.5, n0: 50n, c1: 50n },
    { g0: null, t: 0, c0: null, n0: 0n, c1: 3n },
  ]);
  assert.deepEqual(groups.map((g) => [g.values, g.windows.get(0)]), [[[group], { n: 150, lo: 9.5, hi: 12.5 }], [[null], { n: 0, lo: null, hi: null }]]);
  assert.equal(groups[0].windows.has(1), false, 'COUNT needs no window');
  const { sql, params } = planWindowTotals(q, groups);
  assert.ok(!sql.includes("'; DROP"), 'values never appear in the SQL text');
  assert.ok(params.includes(group));
  assert.deepEqual([...new Set(sql.match(/\$\d+/g))].sort(), params.map((_, i) => `$${i + 1}`).sort(), 'every parameter is referenced (the time range by both reads)');
});

test('series first: group keys keep NaN, ±Infinity, null and bigint apart', () => {
  const keys = [[NaN], [Infinity], [-Infinity], [null], [1n], ['1n'], [1]].map(groupKey);
  assert.equal(new Set(keys).size, keys.length - 1, 'only the bigint 1n and the string "1n" share a key (a column holds one type)');
  assert.equal(groupKey([NaN]), groupKey([Number('x')]));
});

test('unknown fields are rejected rather than passed through to SQL', () => {
  assert.throws(() => validateQuery({ breakdowns: ['"; DROP TABLE events; --'] }, catalog(), NOW), (e: unknown) => e instanceof WeirError && e.code === 'QUERY_INVALID');
  // Times past what a date can hold are the caller's error, not the server's (a random-query run found a 500).
  assert.throws(() => validateQuery({ end_time: 1e15, series: true }, catalog(), NOW), (e: unknown) => e instanceof WeirError && e.code === 'QUERY_INVALID' && /end_time: must be at most/.test(e.message));
});

test('aliases resolve to canonical columns; results keep the names the spec used', () => {
  const q = validateQuery({ calculations: [{ op: 'P99', column: 'duration_ms' }], filters: [{ column: 'status', op: '>=', value: '500' }], breakdowns: ['version'] }, catalog(), NOW);
  assert.equal(q.breakdowns[0].field.name, 'service.version');
  assert.equal(q.breakdowns[0].name, 'version');
  assert.equal(q.filters[0].field.name, 'http.response.status_code');
  assert.equal(q.filters[0].value, 500, 'coerced to the numeric column type');
  assert.equal(q.calculations[0].name, 'P99(duration_ms)');
  const { sql } = planTotals(q);
  assert.match(sql, /quantile_cont\("duration_ms", 0\.99\)/);
  assert.match(sql, /"service\.version" AS g0/);
});

test('time: Honeycomb semantics of time_range, start_time and end_time; granularity defaults to ~100 buckets', () => {
  const a = validateQuery({}, catalog(), NOW);
  assert.equal(a.endMs - a.startMs, 7200_000);
  assert.equal(a.endMs, NOW + 1, 'relative ranges include events stamped exactly now');
  assert.equal(a.granularityMs, 120_000);
  const b = validateQuery({ start_time: 1000, time_range: 60 }, catalog(), NOW);
  assert.deepEqual([b.startMs, b.endMs], [1_000_000, 1_060_000]);
  const c = validateQuery({ end_time: 2000, time_range: 60 }, catalog(), NOW);
  assert.deepEqual([c.startMs, c.endMs], [1_940_000, 2_000_000]);
  assert.throws(() => validateQuery({ time_range: 86400, granularity: 1 }, catalog(), NOW), /granularity/);
  assert.throws(() => validateQuery({ start_time: 10, end_time: 5 }, catalog(), NOW), /end_time/);
});

test('the series query restricts to the kept groups, null groups included', () => {
  const q = validateQuery({ calculations: ['COUNT', 'CONCURRENCY'], breakdowns: ['app.plan'], granularity: 60 }, catalog(), NOW);
  const { sql, params } = planSeries(q, [['pro'], [null]], 1000);
  assert.match(sql, /"app\.plan" IN \(\$3\) OR "app\.plan" IS NULL/);
  assert.match(sql, /\("timestamp" \/\/ 60000\) \* 60000 AS t/);
  assert.match(sql, /coalesce\(sum\("duration_ms"\), 0\) \/ 60000/);
  assert.deepEqual(params.slice(2), ['pro']);
  assert.match(sql, /LIMIT 1001$/);
  const two = validateQuery({ breakdowns: ['version', 'route'] }, catalog(), NOW);
  assert.match(planSeries(two, [['v1', null]], 10).sql, /\("service\.version" = \$3 AND "http\.route" IS NULL\)/);
});

test('parseCalc reads Honeycomb names', () => {
  assert.deepEqual(parseCalc('P99(duration_ms)'), { op: 'P99', column: 'duration_ms' });
  assert.deepEqual(parseCalc('count'), { op: 'COUNT' });
  assert.deepEqual(parseCalc('count_distinct( app.user_id )'), { op: 'COUNT_DISTINCT', column: 'app.user_id' });
});

test('orders and havings on HEATMAP or RATE_* are refused with a reason', () => {
  assert.throws(() => validateQuery({ calculations: [{ op: 'HEATMAP', column: 'duration_ms' }], orders: [{ op: 'HEATMAP', column: 'duration_ms' }] }, catalog(), NOW), /cannot order by HEATMAP/);
  assert.throws(() => validateQuery({ calculations: [{ op: 'RATE_SUM', column: 'duration_ms' }], havings: [{ calculate_op: 'RATE_SUM', column: 'duration_ms', op: '>', value: 1 }] }, catalog(), NOW), /cannot filter groups on RATE_SUM/);
});

test('one pass: GROUPING SETS for totals and series, ranks after HAVING, series only for kept groups', async () => {
  const { planOnePass } = await import('../../src/events/query/plan.ts');
  const q = validateQuery({ calculations: ['COUNT', 'CONCURRENCY'], breakdowns: ['version'], havings: [{ calculate_op: 'COUNT', op: '>', value: 3 }], limit: 5, granularity: 60 }, catalog(), NOW);
  const { sql, params } = planOnePass(q, 1000);
  assert.ok(sql.includes('GROUP BY GROUPING SETS (("service.version", ("timestamp" // 60000) * 60000), ("service.version"))'), 'grouped by columns, not aliases');
  assert.match(sql, /WHERE grp = 1 AND c0 > \$4 QUALIFY ord <= 5/);
  assert.ok(sql.includes('CASE WHEN GROUPING(("timestamp" // 60000) * 60000) = 1 THEN $3 ELSE 60000 END'));
  assert.match(sql, /SEMI JOIN kept k ON a\.g0 IS NOT DISTINCT FROM k\.g0 WHERE a\.grp = 0 LIMIT 1001/);
  assert.deepEqual(params.slice(2), [7200_000, 3]);
});
