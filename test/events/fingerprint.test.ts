import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fingerprint, inAppFrames, normalizeMessage } from '../../src/events/fingerprint.ts';
import type { WideEvent } from '../../src/events/schema.ts';

const base: WideEvent = {
  timestamp: 0, 'request.id': 'r', 'service.name': 'shop', 'http.request.method': 'GET', 'url.path': '/x',
  'http.response.status_code': 200, duration_ms: 1, 'weir.traffic': 'live', 'http.request.body.size': 0, 'http.response.body.size': 0,
};

test('messages lose their variable parts', () => {
  assert.equal(normalizeMessage('user 42 not found: "bob"'), 'user <n> not found: <str>');
  assert.equal(normalizeMessage('GET https://api.example.com/v1/users/77?x=1 failed for a@b.co'), 'GET <url> failed for <email>');
  assert.equal(normalizeMessage('order 3fa85f64-5717-4562-b3fc-2c963f66afa6 missing, trace 4bf92f3577b34da6a3ce929d0e0e4736'), 'order <uuid> missing, trace <id>');
  assert.equal(normalizeMessage("timeout after 1500ms on 'db-1'"), 'timeout after <n>ms on <str>');
});

test('stack fingerprints use the exception type and in-app frames, not line numbers or library frames', () => {
  const stack = (line: number) => `TypeError: Cannot read properties of undefined (reading 'id')
    at getUser (/srv/app/src/users.js:${line}:15)
    at async handler (/srv/app/src/routes/users.js:12:3)
    at Layer.handle [as handle_request] (/srv/app/node_modules/express/lib/router/layer.js:95:5)
    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)`;
  assert.deepEqual(inAppFrames(stack(40)), ['getUser@users.js', 'handler@users.js']);
  const a = fingerprint({ ...base, 'exception.type': 'TypeError', 'exception.message': 'id 1', 'exception.stacktrace': stack(40) })!;
  const b = fingerprint({ ...base, 'exception.type': 'TypeError', 'exception.message': 'id 2', 'exception.stacktrace': stack(41) })!;
  assert.equal(a.basis, 'stack');
  assert.equal(a.id, b.id, 'a moved line is the same error');
  const c = fingerprint({ ...base, 'exception.type': 'RangeError', 'exception.stacktrace': stack(40) })!;
  assert.notEqual(a.id, c.id);
});

test('Python and JVM frames are understood', () => {
  assert.deepEqual(inAppFrames(`Traceback (most recent call last):
  File "/app/shop/views.py", line 12, in checkout
  File "/usr/lib/python3.12/site-packages/django/core.py", line 5, in run`), ['checkout@views.py']);
  assert.deepEqual(inAppFrames(`java.lang.IllegalStateException: boom
	at com.shop.Cart.total(Cart.java:42)
	at java.base/java.lang.Thread.run(Thread.java:833)`), ['com.shop.Cart.total@Cart.java']);
});

test('without a stack the normalised message decides; a bare 5xx gets a status fingerprint; 2xx none', () => {
  const m1 = fingerprint({ ...base, 'exception.type': 'DbError', 'exception.message': 'row 17 locked by "tx-9"' })!;
  const m2 = fingerprint({ ...base, 'exception.type': 'DbError', 'exception.message': 'row 99 locked by "tx-1"' })!;
  assert.equal(m1.basis, 'message');
  assert.equal(m1.id, m2.id);
  assert.equal(m1.normalized, 'DbError: row <n> locked by <str>');
  const s = fingerprint({ ...base, 'http.response.status_code': 503, 'error.type': 'UPSTREAM_TIMEOUT', 'http.route': 'shop/api' })!;
  assert.equal(s.basis, 'status');
  assert.equal(s.normalized, 'HTTP 503 UPSTREAM_TIMEOUT GET shop/api');
  assert.match(s.id, /^[0-9a-f]{16}$/);
  assert.equal(fingerprint(base), undefined);
  assert.equal(fingerprint({ ...base, 'http.response.status_code': 404 }), undefined);
});

test('a span with status ERROR is an error: its status description, or its name, decides', () => {
  const span: WideEvent = { ...base, 'otel.status_code': 'ERROR', 'otel.status_description': 'deadline exceeded after 30s', name: 'GET /cart' };
  assert.equal(fingerprint(span)!.normalized, 'Error: deadline exceeded after <n>s');
  assert.equal(fingerprint({ timestamp: 0, 'otel.status_code': 'ERROR', name: 'charge card' })!.normalized, 'ERROR charge card');
});
