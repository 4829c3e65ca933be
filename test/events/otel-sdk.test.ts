import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import type { OTLPExporterNodeConfigBase } from '@opentelemetry/otlp-exporter-base';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { createEventsRoutes } from '../../src/events/routes.ts';
import { decodeRequest, encodeRequest } from '../../src/events/otlp/decode.ts';
import { NOW, openStore, serve } from './helpers.ts';

const resource = (version: string) => resourceFromAttributes({ 'service.name': 'checkout', 'service.version': version, 'deployment.environment.name': 'prod' });

async function sendSpans(url: string, exporter: 'json' | 'proto', version: string, compression: 'gzip' | 'none') {
  // The SDK's CompressionAlgorithm enum has exactly these string values.
  const opts: OTLPExporterNodeConfigBase = { url: `${url}/v1/traces`, compression: compression as OTLPExporterNodeConfigBase['compression'] };
  const exp = exporter === 'json' ? new JsonTraceExporter(opts) : new ProtoTraceExporter(opts);
  const provider = new BasicTracerProvider({ resource: resource(version), spanProcessors: [new SimpleSpanProcessor(exp)] });
  const tracer = provider.getTracer('weir-test', '1.0.0');
  const t0 = NOW - 60_000;
  const root = tracer.startSpan('POST /cart', { kind: SpanKind.SERVER, startTime: t0, attributes: { 'http.request.method': 'POST', 'http.response.status_code': 500, 'app.items': 3, 'app.vip': true } });
  const child = tracer.startSpan('SELECT cart', { kind: SpanKind.CLIENT, startTime: t0 + 5, attributes: { 'db.system': 'postgresql' } }, trace.setSpan(ROOT_CONTEXT, root));
  child.end(t0 + 25);
  const err = new TypeError(`Cannot read properties of undefined (reading 'sku') in cart 1234 (${exporter})`);
  root.recordException(err);
  root.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
  root.end(t0 + 120.5);
  await provider.forceFlush();
  await provider.shutdown();
  return { traceId: root.spanContext().traceId, rootId: root.spanContext().spanId, childId: child.spanContext().spanId };
}

async function sendLog(url: string, exporter: 'json' | 'proto') {
  const opts = { url: `${url}/v1/logs` };
  const exp = exporter === 'json' ? new JsonLogExporter(opts) : new ProtoLogExporter(opts);
  const provider = new LoggerProvider({ resource: resource('v9'), processors: [new BatchLogRecordProcessor({ exporter: exp })] });
  provider.getLogger('weir-test').emit({
    timestamp: NOW - 30_000, severityText: 'ERROR', severityNumber: 17, body: `payment failed (${exporter})`,
    attributes: { 'exception.type': 'PaymentError', 'exception.message': 'card 4242 declined', 'app.amount': 12.5 },
  });
  await provider.forceFlush();
  await provider.shutdown();
}

test('spans from the OpenTelemetry SDK over OTLP/HTTP JSON and protobuf, gzip or not, become queryable events', async (t) => {
  const store = await openStore(t);
  const url = await serve(t, createEventsRoutes(store));
  const sent = [
    await sendSpans(url, 'json', 'v1', 'none'),
    await sendSpans(url, 'proto', 'v2', 'none'),
    await sendSpans(url, 'json', 'v3', 'gzip'),
    await sendSpans(url, 'proto', 'v4', 'gzip'),
  ];
  await store.flush();
  const r = await store.query({ calculations: ['COUNT', 'MAX(duration_ms)'], breakdowns: ['version', 'name'], time_range: 600, orders: [{ column: 'version' }, { column: 'name' }] });
  assert.deepEqual(r.data.results.map((x) => [x.data.version, x.data.name, x.data.COUNT]), [
    ['v1', 'POST /cart', 1], ['v1', 'SELECT cart', 1], ['v2', 'POST /cart', 1], ['v2', 'SELECT cart', 1],
    ['v3', 'POST /cart', 1], ['v3', 'SELECT cart', 1], ['v4', 'POST /cart', 1], ['v4', 'SELECT cart', 1],
  ]);
  const rows = await store.sql(`SELECT * FROM events WHERE "service.version" = 'v2' ORDER BY name`);
  const [root, child] = rows;
  assert.equal(root['trace.trace_id'], sent[1].traceId);
  assert.equal(root['trace.span_id'], sent[1].rootId);
  assert.equal(child['trace.parent_id'], sent[1].rootId);
  assert.equal(child['trace.span_id'], sent[1].childId);
  assert.equal(root['trace.parent_id'], null);
  assert.equal(root['service.name'], 'checkout');
  assert.equal(root['deployment.environment.name'], 'prod');
  assert.equal(root['span.kind'], 'server');
  assert.equal(root['otel.status_code'], 'ERROR');
  assert.equal(root.duration_ms, 120.5);
  assert.equal(Number(root.timestamp), NOW - 60_000);
  assert.equal(root['http.response.status_code'], 500);
  assert.equal(root['app.items'], 3);
  assert.equal(root['app.vip'], true);
  assert.equal(root['exception.type'], 'TypeError');
  assert.match(String(root['exception.stacktrace']), /otel-sdk\.test\.ts/);
  assert.equal(child['db.system'], 'postgresql');
  assert.equal(child.duration_ms, 20);
  assert.equal(root['meta.signal_type'], 'trace');
  const fps = await store.sql(`SELECT DISTINCT "error.fingerprint" AS f FROM events WHERE name = 'POST /cart'`);
  assert.equal(fps.length, 1, 'the same exception from four exporters is one fingerprint');
});

test('log records over OTLP/HTTP JSON and protobuf keep body, severity and exception attributes', async (t) => {
  const store = await openStore(t);
  const url = await serve(t, createEventsRoutes(store));
  await sendLog(url, 'json');
  await sendLog(url, 'proto');
  await store.flush();
  const rows = await store.sql(`SELECT * FROM events ORDER BY body`);
  assert.deepEqual(rows.map((r) => r.body), ['payment failed (json)', 'payment failed (proto)']);
  for (const r of rows) {
    assert.equal(r.severity_text, 'ERROR');
    assert.equal(r.severity_number, 17);
    assert.equal(r['meta.signal_type'], 'log');
    assert.equal(r['app.amount'], 12.5);
    assert.equal(Number(r.timestamp), NOW - 30_000);
    assert.equal(r['service.version'], 'v9');
  }
  assert.equal(rows[0]['error.fingerprint'], rows[1]['error.fingerprint']);
});

test('OTLP edge cases: partial success and 429 with Retry-After when the queue is full, 400 for garbage, int64 strings', async (t) => {
  const store = await openStore(t, { maxQueue: 3, flushIntervalMs: 3_600_000 });
  const url = await serve(t, createEventsRoutes(store, { retryAfterSeconds: 7 }));
  const span = (i: number) => ({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: `b7ad6b716920333${i}`, name: `s${i}`, kind: 2, startTimeUnixNano: String(BigInt(NOW) * 1_000_000n + 123n), endTimeUnixNano: String(BigInt(NOW + 2) * 1_000_000n), attributes: [{ key: 'big', value: { intValue: '9007199254740993' } }] });
  const body = { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }] }, scopeSpans: [{ spans: [0, 1, 2, 3, 4].map(span) }] }] };
  const res = await fetch(`${url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { partialSuccess: { rejectedSpans: '2', errorMessage: '2 dropped: the event store queue is full' } });
  // A store whose queue is full (the real one flushes early, so make "full" deterministic).
  const fullUrl = await serve(t, createEventsRoutes(Object.create(store, { full: { value: true } }), { retryAfterSeconds: 7 }));
  const full = await fetch(`${fullUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' }, body: gzipSync(encodeRequest('traces', { resourceSpans: [] })) });
  assert.equal(full.status, 429);
  assert.equal(full.headers.get('retry-after'), '7');
  assert.equal(full.headers.get('content-type'), 'application/x-protobuf');
  await full.arrayBuffer();
  await store.flush();
  const rows = await store.sql('SELECT * FROM events ORDER BY name');
  assert.equal(rows.length, 3);
  assert.equal(rows[0].big, '9007199254740993', 'an int64 past 2^53 is kept exactly, as text');
  assert.equal(rows[0].duration_ms, 1.999877);
  const bad = await fetch(`${url}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: new Uint8Array([0xff, 0xff, 0xff]) });
  assert.equal(bad.status, 400);
  await bad.arrayBuffer();
  const badJson = await fetch(`${url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"resourceSpans": [' });
  assert.equal(badJson.status, 400);
  assert.equal(((await badJson.json()) as { code: number }).code, 3);
  assert.deepEqual(decodeRequest('traces', encodeRequest('traces', {})), { resourceSpans: [] });
});
