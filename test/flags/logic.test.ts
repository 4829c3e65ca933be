import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileLogic } from '../../src/flags/logic/compile.ts';
import type { FlagIssue } from '../../src/flags/types.ts';

function run(rule: unknown, ctx: Record<string, unknown> = {}, flagKey = 'f', timestamp = 1_700_000_000): unknown {
  const issues: FlagIssue[] = [];
  const c = compileLogic(rule, 'rule', issues);
  assert.ok(c, JSON.stringify(issues));
  return c.rule(ctx, { ctx, flagKey, timestamp });
}

test('examples from flagd flag-definitions docs: conditions', () => {
  assert.equal(run({ if: [true, 'yes', 'no'] }), 'yes');
  assert.equal(run({ if: [false, 'yes', 'no'] }), 'no');
  assert.equal(run({ if: [false, 'yes', false, 'no', 'maybe'] }), 'maybe');
  assert.equal(run({ if: [false, 'yes', false, 'no', false, 'maybe', 'who knows'] }), 'who knows');
  assert.equal(run({ or: [true, false] }), true);
  assert.equal(run({ or: [false, false] }), false);
  assert.equal(run({ and: [true, false] }), false);
  assert.equal(run({ and: [true, true] }), true);
});

test('examples from flagd flag-definitions docs: operations', () => {
  const cases: [unknown, unknown][] = [
    [{ '==': [1, 1] }, true], [{ '==': [1, '1'] }, true], [{ '===': [1, 1] }, true], [{ '===': [1, '1'] }, false],
    [{ '!=': [1, 2] }, true], [{ '!=': [1, '1'] }, false], [{ '!==': [1, 2] }, true], [{ '!==': [1, '1'] }, true],
    [{ '!!': ['mike'] }, true], [{ '!!': [''] }, false], [{ '!': ['mike'] }, false], [{ '!': [''] }, true],
    [{ '>': [2, 1] }, true], [{ '>': [1, 2] }, false], [{ '>=': [2, 1] }, true], [{ '>=': [1, 1] }, true],
    [{ '<': [1, 2] }, true], [{ '<': [2, 1] }, false], [{ '<=': [1, 1] }, true], [{ '<=': [2, 1] }, false],
    [{ '<': [1, 5, 10] }, true], [{ '<': [1, 11, 10] }, false], [{ '<=': [1, 1, 10] }, true], [{ '<=': [1, 11, 10] }, false],
    [{ in: ['Spring', 'Springfield'] }, true], [{ in: ['Illinois', 'Springfield'] }, false],
    [{ '!': { in: ['Spring', 'Springfield'] } }, false], [{ in: ['Mike', ['Bob', 'Mike']] }, true],
    [{ in: ['Todd', ['Bob', 'Mike']] }, false], [{ '!': { in: ['Todd', ['Bob', 'Mike']] } }, true],
    [{ starts_with: ['192.168.0.1', '192.168'] }, true], [{ starts_with: ['10.0.0.1', '192.168'] }, false],
    [{ ends_with: ['noreply@example.com', '@example.com'] }, true], [{ ends_with: ['noreply@example.com', '@test.com'] }, false],
    [{ sem_ver: ['1.1.2', '>=', '1.0.0'] }, true],
  ];
  for (const [rule, want] of cases) assert.equal(run(rule), want, JSON.stringify(rule));
});

test('var: dotted paths, defaults, arrays, whole data, $flagd injection that the caller cannot override', () => {
  const ctx = { user: { email: 'a@b.c', tags: ['x', 'y'] }, n: null, targetingKey: 'k' };
  assert.equal(run({ var: 'user.email' }, ctx), 'a@b.c');
  assert.equal(run({ var: 'user.tags.1' }, ctx), 'y');
  assert.equal(run({ var: ['user.phone', 'none'] }, ctx), 'none');
  assert.equal(run({ var: ['n', 'dflt'] }, ctx), 'dflt', 'null takes the default, as in flagd Go');
  assert.equal(run({ var: 'missing.deep.path' }, ctx), null);
  assert.equal(run({ var: ['email'] }, { email: 'e' }), 'e');
  assert.equal(run({ var: '$flagd.flagKey' }, { $flagd: { flagKey: 'spoofed' } }, 'real'), 'real');
  assert.equal(run({ var: '$flagd.timestamp' }, {}, 'f', 42), 42);
  assert.deepEqual(run({ var: '' }, { a: 1 }, 'f', 7), { a: 1, $flagd: { flagKey: 'f', timestamp: 7 } });
  assert.equal(run({ var: { cat: ['us', 'er.email'] } }, ctx), 'a@b.c');
  assert.equal(run({ var: 'constructor' }, {}), null, 'only own properties are visible');
  assert.equal(run({ var: 'user.tags.length' }, ctx), null);
});

test('missing, missing_some', () => {
  assert.deepEqual(run({ missing: ['a', 'b', 'c.d'] }, { a: 1, c: { d: '' } }), ['b']);
  assert.deepEqual(run({ missing: [['a', 'z']] }, { a: 1 }), ['z']);
  assert.deepEqual(run({ missing_some: [1, ['a', 'b']] }, { b: 1 }), []);
  assert.deepEqual(run({ missing_some: [2, ['a', 'b', 'c']] }, { b: 1 }), ['a', 'c']);
});

test('arithmetic, min/max, cat, substr, merge', () => {
  assert.equal(run({ '+': [1, '2', 3] }), 6);
  assert.equal(run({ '-': [5, 2] }), 3);
  assert.equal(run({ '-': [5] }), -5);
  assert.equal(run({ '*': [2, 3, 4] }), 24);
  assert.equal(run({ '/': [9, 3] }), 3);
  assert.equal(run({ '%': [7, 3] }), 1);
  assert.equal(run({ max: [1, 9, 3] }), 9);
  assert.equal(run({ min: [4, 2, 8] }), 2);
  assert.equal(run({ cat: ['I love', ' pie'] }), 'I love pie');
  assert.equal(run({ cat: ['a', { var: 'missing' }, 1.5, true] }), 'a1.5true', 'null/undefined concatenate as "" (flagd Go)');
  assert.equal(run({ substr: ['jsonlogic', 4] }), 'logic');
  assert.equal(run({ substr: ['jsonlogic', -5] }), 'logic');
  assert.equal(run({ substr: ['jsonlogic', 1, 3] }), 'son');
  assert.equal(run({ substr: ['jsonlogic', 4, -2] }), 'log');
  assert.deepEqual(run({ merge: [[1, 2], [3], 4] }), [1, 2, 3, 4]);
});

test('map, filter, reduce, all, none, some: inner var sees the element', () => {
  const ctx = { xs: [1, 2, 3, 4], users: [{ age: 20 }, { age: 40 }] };
  assert.deepEqual(run({ map: [{ var: 'xs' }, { '*': [{ var: '' }, 2] }] }, ctx), [2, 4, 6, 8]);
  assert.deepEqual(run({ filter: [{ var: 'xs' }, { '%': [{ var: '' }, 2] }] }, ctx), [1, 3]);
  assert.equal(run({ reduce: [{ var: 'xs' }, { '+': [{ var: 'current' }, { var: 'accumulator' }] }, 0] }, ctx), 10);
  assert.equal(run({ all: [{ var: 'users' }, { '>=': [{ var: 'age' }, 18] }] }, ctx), true);
  assert.equal(run({ all: [[], true] }), false);
  assert.equal(run({ none: [{ var: 'users' }, { '>': [{ var: 'age' }, 50] }] }, ctx), true);
  assert.equal(run({ some: [{ var: 'users' }, { '>': [{ var: 'age' }, 30] }] }, ctx), true);
  assert.deepEqual(run({ map: [{ var: 'nothing' }, 1] }, ctx), []);
});

test('truthiness: empty array is false, "0" is true (JsonLogic)', () => {
  assert.equal(run({ if: [[], 'y', 'n'] }), 'n');
  assert.equal(run({ if: ['0', 'y', 'n'] }), 'y');
  assert.equal(run({ if: [0, 'y', 'n'] }), 'n');
  assert.equal(run({ or: [0, '', 'z'] }), 'z');
  assert.equal(run({ and: [1, 0, 2] }), 0);
});

test('compile errors carry precise paths and advice; hostile rules are refused', () => {
  const issues: FlagIssue[] = [];
  assert.equal(compileLogic({ if: [{ nope: [1] }, 'a', { a: 1, b: 2 }] }, 'flags.x.targeting', issues), null);
  assert.deepEqual(issues.map((i) => i.path), ['flags.x.targeting.if[0].nope', 'flags.x.targeting.if[2]']);
  assert.match(issues[0].message, /unknown operator "nope" — supported: var/);

  let deep: unknown = 'on';
  for (let i = 0; i < 200; i++) deep = { if: [true, deep] };
  const deepIssues: FlagIssue[] = [];
  assert.equal(compileLogic(deep, 'flags.d.targeting', deepIssues), null);
  assert.equal(deepIssues.length, 1);
  assert.match(deepIssues[0].message, /nests deeper than 40 levels/);

  const wide = { or: Array.from({ length: 30_000 }, () => false) };
  const wideIssues: FlagIssue[] = [];
  assert.equal(compileLogic(wide, 'flags.w.targeting', wideIssues), null);
  assert.match(wideIssues[0].message, /more than 20000 nodes/);

  const custom: FlagIssue[] = [];
  compileLogic({ sem_ver: ['1.0.0', '=>', '1.0.0'] }, 't', custom);
  compileLogic({ starts_with: ['a'] }, 't', custom);
  assert.deepEqual(custom.map((i) => i.path), ['t.sem_ver[1]', 't.starts_with']);
});
