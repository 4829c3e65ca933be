import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/validate.ts';
import { standardCatalog } from '../../src/events/columns.ts';
import { WeirError } from '../../src/errors.ts';
import { exposuresSql, experimentSchema, metricSql, windowOf } from '../../src/experiments/index.ts';

const services = `services:
  shop:
    match: { pathPrefix: / }
    versions: { stable: http://127.0.0.1:9001 }
`;

test('weir.yaml experiments: every problem at once, each at its path', () => {
  const r = parseConfig(`experiments:
  - id: checkout
    flag: new-checkout
    arms: [a, b]
    allocation: { a: 50, c: 50 }
    start: 2026-11-02T00:00:00Z
    end: 2026-11-01T00:00:00Z
    metrics:
      - { name: conv, type: conversion, field: amount }
      - { name: rpu, type: ratio, numerator: { field: amount } }
      - { name: conv, type: mean, window: soon, direction: up }
  - id: checkout
    flag: other
    arms: [control, treatment]
    cuped: { preperiod: 7d }
    colour: blue
${services}`, {});
  assert.equal(r.ok, false);
  const issues = r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`);
  const expect = [
    /^experiments\[0\]\.arms: name one arm "control"/,
    /^experiments\[0\]\.allocation\.c: no arm named "c" \(arms: a, b\)/,
    /^experiments\[0\]\.allocation: give arm "b" a share too/,
    /^experiments\[0\]\.end: is not after start/,
    /^experiments\[0\]\.metrics\[0\]\.field: a conversion counts units/,
    /^experiments\[0\]\.metrics\[1\]\.denominator: a ratio metric needs a denominator/,
    /^experiments\[0\]\.metrics\[2\]\.name: "conv" is already metrics\[0\]/,
    /^experiments\[0\]\.metrics\[2\]\.window: "soon" is not a duration/,
    /^experiments\[0\]\.metrics\[2\]\.direction: /,
    /^experiments\[1\]\.id: "checkout" is already the id of experiments\[0\]/,
    /^experiments\[1\]\.cuped: CUPED needs a start/,
    /^experiments\[1\]\.colour: unknown key/,
    /^experiments\[1\]: declare at least one metric/,
  ];
  for (const re of expect) assert.ok(issues.some((i) => re.test(i)), `missing ${re}\n${issues.join('\n')}`);
});

test('a valid experiments block parses: durations in ms, times as epoch ms', () => {
  const r = parseConfig(`experiments:
  - id: checkout
    flag: new-checkout
    arms: [control, treatment]
    allocation: { control: 90, treatment: 10 }
    start: "2026-11-01T00:00:00Z"
    cuped: { preperiod: 14d }
    metrics:
      - { name: conversion, type: conversion, filters: [{ column: name, op: "=", value: purchase }], window: 7d }
    guardrails:
      - { name: errors, type: conversion, filters: [{ column: name, op: "=", value: error }], direction: decrease }
${services}`, {});
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.issues));
  const e = r.config.experiments![0];
  assert.equal(e.start, Date.UTC(2026, 10, 1));
  assert.equal(e.cuped!.preperiod, 14 * 86_400_000);
  assert.equal(e.metrics![0].window, 7 * 86_400_000);
});

function catalog() {
  const c = standardCatalog();
  for (const name of ['feature_flag.key', 'feature_flag.result.variant', 'feature_flag.context.id', 'user.id']) c.add({ name, type: 'VARCHAR', standard: false });
  c.add({ name: 'amount', type: 'DOUBLE', standard: false });
  return c;
}

const exp = experimentSchema.parse({
  id: 'x', flag: "f'; DROP TABLE events; --", arms: ['control', 'treatment'], unit: 'user.id',
  metrics: [{ name: 'conv', type: 'conversion', filters: [{ column: 'name', op: '=', value: "purchase' OR 1=1 --" }] }],
});

test('SQL: values are parameters, field names quoted columns from the catalog', () => {
  const w = windowOf(exp, 10_000);
  assert.deepEqual(w, { startMs: 0, endMs: 10_001 });
  const ex = exposuresSql(exp, catalog(), w);
  assert.ok(!ex.sql.includes('DROP TABLE'));
  assert.ok(ex.params.includes("f'; DROP TABLE events; --"));
  const m = metricSql(exp, exp.metrics![0], catalog(), w, 'metrics[0]');
  assert.ok(!m.sql.includes('OR 1=1'));
  assert.ok(m.params.includes("purchase' OR 1=1 --"));
  assert.match(m.sql, /CAST\("user\.id" AS VARCHAR\) AS u/);
});

test('SQL: unknown or non-numeric fields are refused with a reason, never spliced into SQL', () => {
  const w = windowOf(exp, 10_000);
  const bad = (metric: unknown, unit?: string) => {
    const e = experimentSchema.parse({ id: 'x', flag: 'f', arms: ['control', 'b'], unit, metrics: [metric] });
    try {
      metricSql(e, e.metrics![0], catalog(), w, 'metrics[0]');
    } catch (err) {
      assert.ok(err instanceof WeirError && err.code === 'QUERY_INVALID');
      return err.message;
    }
    assert.fail('expected QUERY_INVALID');
  };
  assert.match(bad({ name: 'm', type: 'conversion', filters: [{ column: 'nmae', op: '=', value: 'x' }] }), /^metrics\[0\]\.filters\[0\]\.column: unknown field "nmae"/);
  assert.match(bad({ name: 'm', type: 'conversion', filters: [{ column: 'x" OR 1=1 --', op: '=', value: 'x' }] }), /unknown field/);
  assert.match(bad({ name: 'm', type: 'mean', field: 'service.name' }), /^metrics\[0\]\.field: "service\.name" holds varchar values/);
  assert.match(bad({ name: 'm', type: 'mean', field: 'revenue' }), /no event has carried the field "revenue"/);
  assert.match(bad({ name: 'm', type: 'conversion' }, 'account.id'), /the unit field: no event has carried the field "account\.id"/);
});
