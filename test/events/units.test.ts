import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWhere, specFromFlags, formatTable } from '../../src/cli/commands/query.ts';
import { UsageError } from '../../src/cli/command.ts';
import { parseEventBatch } from '../../src/events/batch.ts';
import { totalVariation } from '../../src/events/bubbleup.ts';
import { anyValue, logsToEvents, spansToEvents } from '../../src/events/otlp/map.ts';
import type { EventSink } from '../../src/events/schema.ts';
import { event } from './helpers.ts';

test('OTLP/JSON spans map to wide events: resource + span attributes, hex ids, kinds, status, exceptions, legacy names', () => {
  const [e] = spansToEvents({
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'cart' } }, { key: 'deployment.environment', value: { stringValue: 'prod' } }, { key: 'k', value: { stringValue: 'resource' } }] },
      scopeSpans: [{
        scope: { name: 'lib', version: '2' },
        spans: [{
          traceId: '5B8EFFF798038103D269B633813FC60C', spanId: 'EEE19B7EC3C1B174', parentSpanId: '', name: 'GET /cart', kind: 'SPAN_KIND_SERVER',
          startTimeUnixNano: '1544712660000000000', endTimeUnixNano: '1544712661000000500',
          attributes: [{ key: 'k', value: { stringValue: 'span' } }, { key: 'http.status_code', value: { intValue: 502 } }, { key: 'list', value: { arrayValue: { values: [{ intValue: '1' }, { stringValue: 'a' }] } } }, { key: 'obj', value: { kvlistValue: { values: [{ key: 'x', value: { doubleValue: 1.5 } }] } } }],
          events: [{ name: 'log' }, { name: 'exception', attributes: [{ key: 'exception.type', value: { stringValue: 'Boom' } }, { key: 'exception.message', value: { stringValue: 'bad' } }] }],
          status: { code: 2, message: 'upstream failed' },
        }],
      }],
    }],
  }, 'hex');
  assert.deepEqual(e, {
    'service.name': 'cart', 'deployment.environment': 'prod', 'deployment.environment.name': 'prod', k: 'span',
    'otel.scope.name': 'lib', 'otel.scope.version': '2', 'meta.signal_type': 'trace',
    'http.status_code': 502, 'http.response.status_code': 502, list: '[1,"a"]', 'obj.x': 1.5,
    timestamp: 1544712660000, duration_ms: 1000.0005, name: 'GET /cart',
    'trace.trace_id': '5b8efff798038103d269b633813fc60c', 'trace.span_id': 'eee19b7ec3c1b174', 'span.kind': 'server',
    'otel.status_code': 'ERROR', 'otel.status_description': 'upstream failed', 'span.num_events': 2,
    'exception.type': 'Boom', 'exception.message': 'bad',
  });
});

test('OTLP logs map with body, severity and trace context; protobuf base64 ids become hex', () => {
  const [e] = logsToEvents({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ observedTimeUnixNano: '1700000000123000000', severityNumber: 9, severityText: 'INFO', body: { kvlistValue: { values: [{ key: 'a', value: { boolValue: true } }] } }, traceId: Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex').toString('base64') }] }] }] }, 'base64');
  assert.equal(e.timestamp, 1700000000123);
  assert.equal(e.body, '{"a":true}');
  assert.equal(e.severity_number, 9);
  assert.equal(e['trace.trace_id'], '0af7651916cd43dd8448eb211c80319c');
  assert.equal(anyValue({ intValue: '12345678901234567890' }), '12345678901234567890');
});

test('event batches: flat or Honeycomb items, nested objects flattened, times in ms, s or ISO', () => {
  const r = parseEventBatch([{ a: { b: { c: 1 } }, timestamp: 1700000000 }, { time: '2024-01-01T00:00:00Z', data: { x: [1, 2] } }, { time: 1700000000123, y: 1 }]);
  assert.ok(!('error' in r));
  assert.deepEqual(r.events, [{ 'a.b.c': 1, timestamp: 1700000000000 }, { x: '[1,2]', timestamp: 1704067200000 }, { y: 1, timestamp: 1700000000123 }]);
  assert.deepEqual(parseEventBatch({}), { error: 'body must be a JSON array of events' });
});

test('total variation distance', () => {
  assert.equal(totalVariation(new Map([['a', 5]]), new Map([['a', 50]])), 0);
  assert.equal(totalVariation(new Map([['a', 5]]), new Map([['b', 5]])), 1);
  assert.ok(Math.abs(totalVariation(new Map([['a', 9], ['b', 1]]), new Map([['a', 1], ['b', 9]])) - 0.8) < 1e-12);
});

test('weir query flags become a Honeycomb spec; bad flags are usage errors', () => {
  assert.deepEqual(specFromFlags({ calc: ['P99(duration_ms)', 'count'], where: ['status>=500', 'path starts-with /api', 'error exists', 'method in GET,POST', 'version != "2"'], by: ['version'], last: '15m', order: ['P99(duration_ms)'], having: ['COUNT>10'], granularity: '1m', limit: '5', any: true }), {
    calculations: [{ op: 'P99', column: 'duration_ms' }, { op: 'COUNT' }],
    filters: [{ column: 'status', op: '>=', value: 500 }, { column: 'path', op: 'starts-with', value: '/api' }, { column: 'error', op: 'exists' }, { column: 'method', op: 'in', value: ['GET', 'POST'] }, { column: 'version', op: '!=', value: '2' }],
    filter_combination: 'OR', breakdowns: ['version'],
    orders: [{ op: 'P99', column: 'duration_ms', order: 'descending' }],
    havings: [{ calculate_op: 'COUNT', column: undefined, op: '>', value: 10 }],
    time_range: 900, granularity: 60, limit: 5,
  });
  assert.deepEqual(parseWhere('duration_ms < 2.5'), { column: 'duration_ms', op: '<', value: 2.5 });
  assert.throws(() => parseWhere('nonsense'), UsageError);
  assert.throws(() => specFromFlags({ last: 'soon' }), UsageError);
  const text = formatTable({ data: { results: [{ data: { version: 'v1', COUNT: 3, 'P99(duration_ms)': 12.3456789 } }], series: [] }, meta: { start_time: 'a', end_time: 'b', granularity: 60, groups: 1, truncated: false, elapsed_ms: 1 } });
  assert.match(text, /^version {2}COUNT {2}P99\(duration_ms\)\nv1 {7}3 {6}12\.3457\n/);
});

test('teeSinks fans out, sums counts and survives a throwing observer', async () => {
  const { teeSinks } = await import('../../src/events/tee.ts');
  const got: string[][] = [[], []];
  const mk = (i: number): EventSink => ({ push: (e) => void got[i].push(e['request.id']), dropped: i, queued: 2 * i, flush: async () => undefined, close: async () => undefined });
  const sink = teeSinks([mk(0), mk(1)], () => { throw new Error('observer bug'); });
  sink.push(event({ 'request.id': 'a' }));
  assert.deepEqual(got, [['a'], ['a']]);
  assert.equal(sink.dropped, 1);
  assert.equal(sink.queued, 2);
  await sink.flush();
});

test('BubbleUp dimension: the tail past the 50 most frequent values is merged before scoring', async () => {
  const { dimension, SCORE_VALUES } = await import('../../src/events/bubbleup.ts');
  const field = { name: 'app.user', type: 'VARCHAR' as const, standard: false };
  // 50 common values, equal on both sides; 100 rare ones seen only in the selection or only in the baseline.
  const counts = [
    ...Array.from({ length: SCORE_VALUES }, (_, i) => ({ v: `c${i}`, s: 2, b: 2 })),
    ...Array.from({ length: 100 }, (_, i) => ({ v: `r${i}`, s: i % 2, b: 1 - (i % 2) })),
  ];
  const S = counts.reduce((a, c) => a + c.s, 0);
  const B = counts.reduce((a, c) => a + c.b, 0);
  const d = dimension(field, undefined, counts, S, B, 3);
  assert.equal(d.cardinality, 150);
  assert.ok(Math.abs(d.score) < 1e-12, `rare values split evenly between sides merge to no difference (${d.score})`);
  assert.equal(d.values.length, 3);
  assert.ok(d.values[0].value!.toString().startsWith('r'), 'the top values shown are the most different ones');
  const unmerged = counts.reduce((a, c) => a + Math.abs(c.s / S - c.b / B), 0) / 2;
  assert.ok(unmerged > 0.3, `without merging the same data would look different (${unmerged})`);
});
