import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { queryPrometheus, fillTemplate, webhookMetric } from '../../src/analysis/remote-sources.ts';
import { createAnalyzer } from '../../src/analysis/analyzer.ts';
import { rolloutSpec } from '../../src/rollout/spec.ts';
import { INITIAL_SEQUENTIAL_STATE } from '../../src/stats/index.ts';

const hasPrometheus = spawnSync('prometheus', ['--version']).status === 0;
// In CI a missing Prometheus is a failure, not a skip (.ci/run installs it from Debian).
if (!hasPrometheus && process.env.CI === 'true') throw new Error('prometheus is not installed: .ci/run should have installed it (apt-get install -y prometheus)');

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

test('Prometheus metric source against a real Prometheus scraping an exporter', { skip: hasPrometheus ? false : 'prometheus is not installed (apt-get install -y prometheus)' }, async (t) => {
  // A tiny exporter: per-version request and error counters, as an app would expose them.
  const exporter = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end('# TYPE shop_requests_total counter\nshop_requests_total{version="stable"} 1000\nshop_requests_total{version="canary"} 200\n# TYPE shop_errors_total counter\nshop_errors_total{version="stable"} 1\nshop_errors_total{version="canary"} 30\n');
  });
  await new Promise<void>((r) => exporter.listen(0, '127.0.0.1', () => r()));
  t.after(() => exporter.close());
  const dir = mkdtempSync(join(tmpdir(), 'weir-prom-'));
  writeFileSync(join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: shop\n    static_configs:\n      - targets: ['127.0.0.1:${(exporter.address() as AddressInfo).port}']\n`);
  const port = await freePort();
  const prom = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
  t.after(() => { prom.kill('SIGKILL'); });
  const address = `http://127.0.0.1:${port}`;
  const query = fillTemplate('100 * sum(shop_errors_total{version="{{version}}"}) / sum(shop_requests_total{version="{{version}}"})', { service: 'shop', version: 'canary', baseline: 'stable', interval: '10s' });
  const start = Date.now();
  let value: number | null = null;
  while (value === null) {
    if (Date.now() - start > 60_000) throw new Error('Prometheus never answered with data');
    value = await queryPrometheus(address, query, Date.now()).catch(() => null);
    if (value === null) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(value, 15);
  assert.equal(await queryPrometheus(address, 'shop_requests_total{version="nope"}', Date.now()), null, 'an empty vector is no data');
  await assert.rejects(queryPrometheus(address, 'sum(', Date.now()), /Prometheus answered 400/);

  const settings = rolloutSpec({ analysis: { minSamples: 0, metrics: [{ name: 'error-pct', prometheus: { address, query: '100 * sum(shop_errors_total{version="{{version}}"}) / sum(shop_requests_total{version="{{version}}"})' }, thresholdRange: { max: 5 } }] } }).analysis;
  const analyzer = createAnalyzer({ events: () => undefined });
  const { run } = await analyzer.run({ runId: 'r1', rolloutId: 'x', service: 'shop', step: 1, baseline: 'stable', canary: 'canary', from: Date.now() - 10_000, to: Date.now(), traffic: 'live', canaryShare: 0.1, settings, sequential: INITIAL_SEQUENTIAL_STATE });
  assert.equal(run.metrics[0].canary, 15);
  assert.equal(run.metrics[0].phase, 'Failed');
  assert.equal(run.phase, 'Failed', 'a metric over its threshold fails even without an event store');
});

test('webhook metric: a number or {"value": n}; errors become the run\'s Error', async (t) => {
  let answer = '{"value": 0.4}';
  const hook = createServer((req, res) => {
    req.resume();
    res.writeHead(answer === 'boom' ? 500 : 200, { 'content-type': 'application/json' });
    res.end(answer);
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
  t.after(() => hook.close());
  const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/`;
  assert.equal(await webhookMetric(url, {}), 0.4);
  answer = '7';
  assert.equal(await webhookMetric(url, {}), 7);
  answer = '{"value": null}';
  assert.equal(await webhookMetric(url, {}), null);
  answer = 'boom';
  await assert.rejects(webhookMetric(url, {}), /HTTP 500/);
});
