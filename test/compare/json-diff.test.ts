import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffJsonBodies } from '../../src/proxy/compare/json-diff.ts';
import { compileRules } from '../../src/proxy/compare/rules.ts';
import { JsonScanError, skipValue } from '../../src/proxy/compare/json-scan.ts';
import { canonicalDiffs, mutate, pick, randomValue, referenceDiff, rng, serialize, type Json } from './helpers.ts';
import { diffBodies } from '../../src/proxy/compare/diff.ts';

const B = (s: string): Buffer => Buffer.from(s);
const rules = compileRules();
const diff = (a: string, b: string, r = rules) => diffJsonBodies(B(a), B(b), r);

test('identical and whitespace-only differences are equal', () => {
  assert.deepEqual(diff('{"a":1}', '{"a":1}'), []);
  assert.deepEqual(diff('{"a":[1, 2]}', ' {\n "a" : [1,2] }\n'), []);
});

test('kind value: scalar changes by path', () => {
  assert.deepEqual(diff('{"user":{"address":{"city":"Paris"}}}', '{"user":{"address":{"city":"Lyon"}}}'), [
    { section: 'body', path: 'user.address.city', kind: 'value', left: 'Paris', right: 'Lyon' },
  ]);
  assert.deepEqual(diff('{"items":[{"price":1},{"price":2}]}', '{"items":[{"price":1},{"price":3}]}'), [
    { section: 'body', path: 'items[1].price', kind: 'value', left: 2, right: 3 },
  ]);
  assert.deepEqual(diff('[true]', '[false]'), [{ section: 'body', path: '[0]', kind: 'value', left: true, right: false }]);
});

test('kind type: different JSON types, subtree not descended', () => {
  assert.deepEqual(diff('{"a":{"b":1}}', '{"a":[1]}'), [{ section: 'body', path: 'a', kind: 'type', left: { b: 1 }, right: [1] }]);
  assert.deepEqual(diff('{"a":"1"}', '{"a":1}'), [{ section: 'body', path: 'a', kind: 'type', left: '1', right: 1 }]);
  assert.deepEqual(diff('{"a":null}', '{"a":0}'), [{ section: 'body', path: 'a', kind: 'type', left: null, right: 0 }]);
});

test('kinds missing and extra, whatever the key order', () => {
  assert.deepEqual(diff('{"a":1,"b":2,"c":3}', '{"c":3,"a":1,"d":4}'), [
    { section: 'body', path: 'b', kind: 'missing', left: 2 },
    { section: 'body', path: 'd', kind: 'extra', right: 4 },
  ]);
});

test('kind array-length: common prefix compared by position, one length difference', () => {
  assert.deepEqual(diff('{"xs":[1,2,3]}', '{"xs":[1,5]}'), [
    { section: 'body', path: 'xs[1]', kind: 'value', left: 2, right: 5 },
    { section: 'body', path: 'xs', kind: 'array-length', left: 3, right: 2 },
  ]);
});

test('numbers compare by value: 1, 1.0, 1e0 and 10E-1 are equal; 12 is not 123', () => {
  assert.deepEqual(diff('[1, 1, 1, -0]', '[1.0, 1e0, 10E-1, 0]'), []);
  assert.deepEqual(diff('[12]', '[123]'), [{ section: 'body', path: '[0]', kind: 'value', left: 12, right: 123 }]);
  assert.deepEqual(diff('{"n":12,"m":1}', '{"n":123,"m":1}').length, 1);
});

test('strings compare decoded: escapes and unicode', () => {
  assert.deepEqual(diff('["A/é😀"]', '["\\u0041\\/\\u00e9\\ud83d\\ude00"]'), []);
  assert.deepEqual(diff('{"s":"a\\"b"}', '{"s":"a\\\\b"}'), [{ section: 'body', path: 's', kind: 'value', left: 'a"b', right: 'a\\b' }]);
  assert.deepEqual(diff('{"k\\"ey":1}', '{"k\\"ey":2}'), [{ section: 'body', path: '["k\\"ey"]', kind: 'value', left: 1, right: 2 }]);
});

test('nested arrays by position', () => {
  assert.deepEqual(diff('[[1,[2,3]],[4]]', '[[1,[2,4]],[4]]'), [{ section: 'body', path: '[0][1][1]', kind: 'value', left: 3, right: 4 }]);
});

test('arrays as sets for configured paths: order ignored, multiset missing/extra at path[*]', () => {
  const r = compileRules({ arraysAsSets: ['tags', 'items[*].labels'] });
  assert.deepEqual(diff('{"tags":["a","b","c"]}', '{"tags":["c","a","b"]}', r), []);
  assert.deepEqual(diff('{"tags":["a","b","b"]}', '{"tags":["b","a","d"]}', r), [
    { section: 'body', path: 'tags[*]', kind: 'missing', left: 'b' },
    { section: 'body', path: 'tags[*]', kind: 'extra', right: 'd' },
  ]);
  assert.deepEqual(diff('{"items":[{"labels":[{"x":1,"y":2},3]}]}', '{"items":[{"labels":[3,{"y":2,"x":1.0}]}]}', r), []);
  // Not configured: by position.
  assert.equal(diff('{"other":[1,2]}', '{"other":[2,1]}', r).length, 2);
});

test('ignore rules by path glob, with their subtrees', () => {
  const r = compileRules({ ignorePaths: ['meta.**', 'items[*].updatedAt', '**.traceId'] });
  const a = '{"meta":{"ts":1},"items":[{"updatedAt":1,"p":1}],"deep":{"x":{"traceId":"a"}},"traceId":"q","n":1}';
  const b = '{"meta":{"ts":2,"new":1},"items":[{"updatedAt":2,"p":1}],"deep":{"x":{"traceId":"b"}},"traceId":"r","n":2}';
  assert.deepEqual(diff(a, b, r), [{ section: 'body', path: 'n', kind: 'value', left: 1, right: 2 }]);
  const r2 = compileRules({ ignorePaths: ['gone', 'added'] });
  assert.deepEqual(diff('{"gone":1,"z":1}', '{"z":1,"added":2}', r2), []);
});

test('maxDifferences caps the output', () => {
  const r = compileRules({ maxDifferences: 3 });
  assert.equal(diff('[1,2,3,4,5,6]', '[2,3,4,5,6,7]', r).length, 3);
});

test('malformed JSON throws JsonScanError', () => {
  assert.throws(() => diff('{"a":1', '{"a":2}'), JsonScanError);
  assert.throws(() => diff('{"a":1}', '{"a" 2}'), JsonScanError);
  assert.throws(() => diff('{"a":1}', '{"a":1} x'), JsonScanError);
  assert.throws(() => diff('{"a":tru}', '{"a":false}'), JsonScanError);
});

test('skipValue finds the end of every value kind', () => {
  for (const s of ['"a\\\\"', '"\\""', '{"a":"}"}', '[[],{}]', 'true', 'false', 'null', '-1.5e+3']) {
    assert.equal(skipValue(B(`${s} ,`), 0), Buffer.byteLength(s), s);
  }
});

test('property: the scanning diff equals the JSON.parse reference on seeded random documents and mutations', () => {
  const big = { maxValueChars: 1e9, maxDifferences: 1e9 };
  const ruleSets = [
    compileRules(big),
    compileRules({ ...big, arraysAsSets: ['tags', '**.items', '[*]'] }),
    compileRules({ ...big, ignorePaths: ['a', '**.b', 'user.**', '[*].c'] }),
  ];
  let cases = 0;
  let differing = 0;
  for (let seed = 1; seed <= 3000; seed++) {
    const r = rng(seed);
    const doc = randomValue(r, 4);
    const other: Json = r() < 0.15 ? doc : mutate(r, doc, 1 + Math.floor(r() * 3));
    // Half the cases share formatting (long identical spans: the fast path), half do not.
    const fmtSeed = Math.floor(r() * 1e9);
    const sameFormat = r() < 0.5;
    const shuffle = r() < 0.3;
    const ta = serialize(rng(fmtSeed), doc, shuffle);
    const tb = serialize(sameFormat ? rng(fmtSeed) : rng(fmtSeed + 1), other, shuffle);
    const rs = ruleSets[seed % ruleSets.length];
    const got = diffJsonBodies(B(ta), B(tb), rs);
    const want = referenceDiff(JSON.parse(ta), JSON.parse(tb), rs);
    assert.deepEqual(canonicalDiffs(got), canonicalDiffs(want), `seed ${seed}\nA: ${ta}\nB: ${tb}`);
    cases++;
    if (want.length > 0) differing++;
  }
  assert.equal(cases, 3000);
  assert.ok(differing > 1500, `most cases differ (${differing})`);
});

test('fuzz: corrupted documents never crash the body diff; when both still parse, it matches the reference', () => {
  const rs = compileRules({ maxValueChars: 1e9, maxDifferences: 1e9, arraysAsSets: ['tags'] });
  const junk = ['"', '\\', '{', '}', '[', ']', ',', ':', 'x', '1', '-', '.', 'e', 't', 'n', ' ', '\\u12', '\\x'];
  let parsed = 0;
  for (let seed = 1; seed <= 3000; seed++) {
    const r = rng(seed * 7919);
    const doc = randomValue(r, 3);
    const ta = serialize(r, doc, false);
    let tb = serialize(r, r() < 0.5 ? doc : mutate(r, doc, 1), false);
    const edits = 1 + Math.floor(r() * 3);
    for (let k = 0; k < edits; k++) {
      const at = Math.floor(r() * (tb.length + 1));
      tb = r() < 0.5 ? tb.slice(0, at) + pick(r, junk) + tb.slice(at) : tb.slice(0, at) + tb.slice(at + 1);
    }
    // Through bytes and back, as a response body would be (a lone surrogate becomes U+FFFD).
    const utf8 = (t: string): string => B(t).toString('utf8');
    const pair: [string, string] = r() < 0.5 ? [utf8(ta), utf8(tb)] : [utf8(tb), utf8(ta)];
    const res = (s: string) => ({ status: 200, headers: { 'content-type': 'application/json' }, body: B(s) });
    const got = diffBodies(res(pair[0]), res(pair[1]), rs);
    let x: unknown;
    let y: unknown;
    try {
      x = JSON.parse(pair[0]);
      y = JSON.parse(pair[1]);
    } catch {
      continue;
    }
    parsed++;
    assert.deepEqual(canonicalDiffs(got), canonicalDiffs(referenceDiff(x, y, rs)), `seed ${seed}\nA: ${pair[0]}\nB: ${pair[1]}`);
  }
  assert.ok(parsed > 100, `some corrupted pairs still parse (${parsed})`);
});
