/**
 * How should custom fields be stored? Measures, on the same generated events, (a) one column per
 * custom field, added as fields appear, (b) one MAP(VARCHAR, VARCHAR) column and (c) one JSON column:
 * ingest rate through the appender and the time of a filter + group-by on a custom field.
 * The answer is written down in docs/events.md.
 *
 *   node bench/events-custom-fields.ts [--events 500000]
 */
import { DuckDBInstance, DuckDBDataChunk, DOUBLE, VARCHAR, MAP } from '@duckdb/node-api';
import type { DuckDBType, DuckDBConnection } from '@duckdb/node-api';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { events: { type: 'string', default: '500000' } } });
const N = Number(values.events);
const CUSTOM = ['app.plan', 'app.region', 'app.user_id', 'app.cart_items', 'app.feature'];

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}
const r = rng(7);
const events = Array.from({ length: N }, (_, i) => ({
  timestamp: 1_700_000_000_000 + i,
  duration_ms: r() * 500,
  'app.plan': ['free', 'pro', 'enterprise'][Math.floor(r() * 3)],
  'app.region': `region-${Math.floor(r() * 8)}`,
  'app.user_id': `u${Math.floor(r() * 100_000)}`,
  'app.cart_items': Math.floor(r() * 20),
  'app.feature': r() < 0.5 ? 'on' : 'off',
}));

async function appendChunks(c: DuckDBConnection, table: string, types: DuckDBType[], fill: (rows: typeof events, col: number) => unknown[]) {
  const app = await c.createAppender(table);
  for (let s = 0; s < events.length; s += 2048) {
    const part = events.slice(s, s + 2048);
    const chunk = DuckDBDataChunk.create(types, part.length);
    chunk.setColumns(types.map((_, i) => fill(part, i)) as never);
    app.appendDataChunk(chunk);
  }
  app.flushSync();
  app.closeSync();
}

async function timeOnce(label: string, f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  const ms = performance.now() - t0;
  console.log(`${label.padEnd(44)} ${ms.toFixed(0).padStart(7)} ms`);
  return ms;
}

async function time(label: string, f: () => Promise<unknown>): Promise<number> {
  await f(); // warm: the second run is measured
  const t0 = performance.now();
  await f();
  const ms = performance.now() - t0;
  console.log(`${label.padEnd(44)} ${ms.toFixed(0).padStart(7)} ms`);
  return ms;
}

const dir = mkdtempSync(join(tmpdir(), 'weir-custom-'));
try {
  const inst = await DuckDBInstance.create(join(dir, 'db'));
  const c = await inst.connect();
  console.log(`${N} events, ${CUSTOM.length} custom fields`);

  await c.run(`CREATE TABLE cols (timestamp DOUBLE, duration_ms DOUBLE, ${CUSTOM.map((f) => `"${f}" ${f === 'app.cart_items' ? 'DOUBLE' : 'VARCHAR'}`).join(', ')})`);
  const colTypes = [DOUBLE, DOUBLE, ...CUSTOM.map((f) => (f === 'app.cart_items' ? DOUBLE : VARCHAR))];
  const keys = ['timestamp', 'duration_ms', ...CUSTOM] as const;
  const ingCols = await timeOnce('ingest: a column per field', () => appendChunks(c, 'cols', colTypes, (rows, i) => rows.map((e) => (e as Record<string, unknown>)[keys[i]])));

  await c.run(`CREATE TABLE maps (timestamp DOUBLE, duration_ms DOUBLE, attrs MAP(VARCHAR, VARCHAR))`);
  const mapType = MAP(VARCHAR, VARCHAR);
  const { mapValue } = await import('@duckdb/node-api');
  const ingMap = await timeOnce('ingest: MAP(VARCHAR, VARCHAR)', () => appendChunks(c, 'maps', [DOUBLE, DOUBLE, mapType], (rows, i) =>
    i === 0 ? rows.map((e) => e.timestamp) : i === 1 ? rows.map((e) => e.duration_ms) : rows.map((e) => mapValue(CUSTOM.map((k) => ({ key: k, value: String(e[k as keyof typeof e]) }))))));

  await c.run(`CREATE TABLE jsons (timestamp DOUBLE, duration_ms DOUBLE, attrs JSON)`);
  const ingJson = await timeOnce('ingest: JSON', () => appendChunks(c, 'jsons', [DOUBLE, DOUBLE, VARCHAR], (rows, i) =>
    i === 0 ? rows.map((e) => e.timestamp) : i === 1 ? rows.map((e) => e.duration_ms) : rows.map((e) => JSON.stringify(Object.fromEntries(CUSTOM.map((k) => [k, (e as Record<string, unknown>)[k]]))))));

  const qCols = await time('query: columns  P99 by plan where cart>10', () => c.run(`SELECT "app.plan", quantile_cont(duration_ms, 0.99) FROM cols WHERE "app.cart_items" > 10 GROUP BY 1`));
  const qMap = await time('query: MAP      P99 by plan where cart>10', () => c.run(`SELECT attrs['app.plan'], quantile_cont(duration_ms, 0.99) FROM maps WHERE TRY_CAST(attrs['app.cart_items'] AS DOUBLE) > 10 GROUP BY 1`));
  const qJson = await time('query: JSON     P99 by plan where cart>10', () => c.run(`SELECT attrs->>'$."app.plan"', quantile_cont(duration_ms, 0.99) FROM jsons WHERE TRY_CAST(attrs->>'$."app.cart_items"' AS DOUBLE) > 10 GROUP BY 1`));
  const hCols = await time('query: columns  top users', () => c.run(`SELECT "app.user_id", count(*) n FROM cols GROUP BY 1 ORDER BY n DESC LIMIT 100`));
  const hMap = await time('query: MAP      top users', () => c.run(`SELECT attrs['app.user_id'] u, count(*) n FROM maps GROUP BY 1 ORDER BY n DESC LIMIT 100`));
  const hJson = await time('query: JSON     top users', () => c.run(`SELECT attrs->>'$."app.user_id"' u, count(*) n FROM jsons GROUP BY 1 ORDER BY n DESC LIMIT 100`));
  const size = async (t: string) => (await c.runAndReadAll(`SELECT count(DISTINCT block_id) * 262144 FROM pragma_storage_info('${t}') WHERE persistent`)).getRows()[0][0];
  await c.run('CHECKPOINT');
  console.log(`\nstorage bytes: columns ${await size('cols')}, map ${await size('maps')}, json ${await size('jsons')}`);
  console.log(`ingest ratio map/columns ${(ingMap / ingCols).toFixed(2)}x, json/columns ${(ingJson / ingCols).toFixed(2)}x`);
  console.log(`query ratio  map/columns ${((qMap + hMap) / (qCols + hCols)).toFixed(2)}x, json/columns ${((qJson + hJson) / (qCols + hCols)).toFixed(2)}x`);
  c.closeSync();
  inst.closeSync();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
