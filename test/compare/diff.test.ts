import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRules, diffResponses, fieldOf, generalizePath, compilePathGlobs, diffHeaders } from '../../src/proxy/compare/index.ts';
import type { CompareResponse } from '../../src/proxy/compare/index.ts';
import { matchesAny } from '../../src/proxy/compare/path.ts';

const json = (body: unknown, status = 200, headers: Record<string, string> = {}): CompareResponse => ({
  status,
  headers: { 'content-type': 'application/json', ...headers },
  body: Buffer.from(JSON.stringify(body)),
});

test('status difference', () => {
  assert.deepEqual(diffResponses(json({}, 200), json({}, 500)), [{ section: 'status', path: '', kind: 'value', left: 200, right: 500 }]);
  assert.deepEqual(diffResponses(json({}, 200), json({}, 500), compileRules({ ignoreStatus: true })), []);
});

test('headers: default ignore list, case-insensitive names, rawHeaders lists, missing/extra/value', () => {
  const a: CompareResponse = { status: 200, headers: ['Date', 'Mon', 'X-Version', '1', 'ETag', '"a"', 'X-Gone', 'y', 'traceparent', '00-a'], body: Buffer.alloc(0) };
  const b: CompareResponse = { status: 200, headers: { date: 'Tue', 'x-version': '2', etag: '"b"', 'x-new': 'z', traceparent: '00-b', 'x-b3-traceid': 'q' }, body: Buffer.alloc(0) };
  assert.deepEqual(diffResponses(a, b), [
    { section: 'header', path: 'x-version', kind: 'value', left: '1', right: '2' },
    { section: 'header', path: 'x-gone', kind: 'missing', left: 'y' },
    { section: 'header', path: 'x-new', kind: 'extra', right: 'z' },
  ]);
  const rules = compileRules({ ignoreHeaders: ['X-Ver*', 'x-gone', 'x-new'] });
  assert.deepEqual(diffResponses(a, b, rules), []);
  assert.equal(diffHeaders(a.headers, b.headers, compileRules({ replaceDefaultIgnoredHeaders: true })).length, 7);
});

test('body compared as JSON by content type, as text otherwise, JSON that does not scan as text', () => {
  assert.deepEqual(diffResponses(json({ a: 1 }), json({ a: 2 })), [{ section: 'body', path: 'a', kind: 'value', left: 1, right: 2 }]);
  const text = (s: string): CompareResponse => ({ status: 200, headers: { 'content-type': 'text/html' }, body: Buffer.from(s) });
  const d = diffResponses(text('<p>hello world</p>'), text('<p>hello there</p>'));
  assert.equal(d.length, 1);
  assert.equal(d[0].kind, 'text');
  assert.equal(d[0].offset, 9);
  assert.equal(d[0].left, '<p>hello world</p>');
  assert.deepEqual(diffResponses(text('same'), text('same')), []);
  const broken = { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from('{"a":') };
  assert.equal(diffResponses(broken, json({ a: 1 }))[0].kind, 'text');
  // No content type: sniffed.
  const bare = (s: string): CompareResponse => ({ status: 200, headers: {}, body: Buffer.from(s) });
  assert.deepEqual(diffResponses(bare('{"a":1}'), bare('{"a":2}'))[0].path, 'a');
});

test('text context is short and marks cuts', () => {
  const long = 'x'.repeat(500);
  const d = diffResponses(
    { status: 200, headers: {}, body: Buffer.from(`${long}A${long}`) },
    { status: 200, headers: {}, body: Buffer.from(`${long}B${long}`) },
  );
  assert.equal(d[0].offset, 500);
  assert.ok(typeof d[0].left === 'string' && d[0].left.length < 100 && d[0].left.startsWith('…') && d[0].left.endsWith('…'));
});

test('bodies above maxJsonBytes are compared as text', () => {
  const d = diffResponses(json({ a: 1, pad: 'x'.repeat(100) }), json({ a: 2, pad: 'x'.repeat(100) }), compileRules({ maxJsonBytes: 50 }));
  assert.equal(d[0].kind, 'text');
  assert.equal(d[0].offset, 5);
});

test('long values are cut in differences', () => {
  const d = diffResponses(json({ s: 'a'.repeat(1000) }), json({ s: 'b'.repeat(1000) }), compileRules({ maxValueChars: 10 }));
  assert.equal(d[0].left, 'aaaaaaaaa…');
});

test('field names and path generalisation', () => {
  assert.equal(fieldOf({ section: 'status', path: '', kind: 'value' }), 'status');
  assert.equal(fieldOf({ section: 'header', path: 'etag', kind: 'value' }), 'header.etag');
  assert.equal(fieldOf({ section: 'body', path: '', kind: 'text' }), 'body');
  assert.equal(fieldOf({ section: 'body', path: '[0].a', kind: 'value' }), 'body[0].a');
  assert.equal(fieldOf({ section: 'body', path: 'a.b', kind: 'value' }), 'body.a.b');
  assert.equal(generalizePath('items[3].tags[12]'), 'items[*].tags[*]');
});

test('path globs', () => {
  const m = (glob: string, path: string): boolean => matchesAny(compilePathGlobs([glob]), path);
  assert.ok(m('a.b', 'a.b'));
  assert.ok(!m('a.b', 'a.bc'));
  assert.ok(m('a.*.c', 'a.x.c'));
  assert.ok(!m('a.*.c', 'a.x.y.c'));
  assert.ok(m('items[*].p', 'items[4].p'));
  assert.ok(m('**.ts', 'ts'));
  assert.ok(m('**.ts', 'a.b[2].ts'));
  assert.ok(!m('**.ts', 'a.bts'));
  assert.ok(m('meta.**', 'meta'));
  assert.ok(m('meta.**', 'meta.x.y'));
  assert.ok(m('meta.**', 'meta[0]'));
  assert.ok(!m('meta.**', 'metadata'));
  assert.ok(m('a.**.z', 'a.z'));
  assert.ok(m('a.**.z', 'a.b.c.z'));
  assert.ok(m('[*]', '[3]'));
  assert.ok(m('["x.y"]', '["x.y"]'));
});
