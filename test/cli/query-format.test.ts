import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTable } from '../../src/cli/commands/query.ts';
import type { QueryResult } from '../../src/events/query/shape.ts';

const meta = { start_time: 'a', end_time: 'b', granularity: 60, groups: 2, truncated: false, elapsed_ms: 1 };
const T = ['2026-11-23T10:00:00Z', '2026-11-23T10:01:00Z', '2026-11-23T10:02:00Z', '2026-11-23T10:03:00Z'];

test('weir query draws each group\'s series as a sparkline, one scale per calculation', () => {
  const result: QueryResult = {
    data: {
      results: [
        { data: { version: 'v1', COUNT: 70, 'P99(duration_ms)': 400 } },
        { data: { version: 'v2', COUNT: 40, 'P99(duration_ms)': 200 } },
      ],
      series: [
        { time: T[0], data: { version: 'v1', COUNT: 0, 'P99(duration_ms)': 100 } },
        // v1 has no events in the second bucket: COUNT 0, P99 a gap.
        { time: T[2], data: { version: 'v1', COUNT: 20, 'P99(duration_ms)': 300 } },
        { time: T[3], data: { version: 'v1', COUNT: 40, 'P99(duration_ms)': 400 } },
        { time: T[1], data: { version: 'v1', COUNT: 10, 'P99(duration_ms)': null } },
        { time: T[0], data: { version: 'v2', COUNT: 40, 'P99(duration_ms)': 200 } },
      ],
    },
    meta,
  };
  const lines = formatTable(result).split('\n');
  assert.match(lines[0], /^version +COUNT +P99\(duration_ms\) +COUNT over time +P99\(duration_ms\) over time$/);
  // COUNT scale 0–40: 0 → ▁, 10 → ▃, 20 → ▅, 40 → █. P99 scale 0–400: 100 → ▃, gap, 300 → ▇, 400 → █.
  assert.ok(lines[1].startsWith('v1'), lines[1]);
  assert.ok(lines[1].includes('▁▃▅█'), lines[1]);
  assert.ok(lines[1].includes('▃ ▇█'), lines[1]);
  assert.ok(lines[2].includes('█▁▁▁'), lines[2]);
  assert.ok(lines[2].trimEnd().endsWith('▅'), lines[2]);
});

test('weir query shows a HEATMAP as the field\'s distribution from its min to its max', () => {
  const width = 5;
  const result: QueryResult = {
    data: {
      results: [{ data: { 'HEATMAP(duration_ms)': { min: 0, max: 100, buckets: [{ lower: 0, upper: width, count: 10 }, { lower: 95, upper: 100, count: 5 }] } } }],
      series: [],
    },
    meta,
  };
  const text = formatTable(result);
  assert.ok(text.includes(`█${'▁'.repeat(18)}▅ 0–100 (n=15)`), text);
});
