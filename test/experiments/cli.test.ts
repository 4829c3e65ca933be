import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../src/cli/main.ts';
import { formatResults } from '../../src/cli/commands/experiment.ts';
import { analyzeExperiment, experimentSchema } from '../../src/experiments/index.ts';
import type { ExperimentResults } from '../../src/experiments/index.ts';

function io() {
  const o = { out: '', err: '' };
  return { o, io: { stdout: (s: string) => { o.out += s; }, stderr: (s: string) => { o.err += s; }, env: { WEIR_URL: 'http://127.0.0.1:9', WEIR_TOKEN: 'x' }, cwd: '/nonexistent', signal: new AbortController().signal } };
}

test('weir experiment: usage errors exit 2 with a hint', async () => {
  for (const args of [['experiment'], ['experiment', 'results'], ['experiment', 'frobnicate'], ['experiment', 'list', 'extra']]) {
    const { o, io: x } = io();
    assert.equal(await main(args, x), 2, args.join(' '));
    assert.match(o.err, /weir experiment: .*\nRun 'weir experiment --help' for usage\./);
  }
  const { o, io: x } = io();
  assert.equal(await main(['experiment', '--help'], x), 0);
  assert.match(o.out, /weir experiment results ID/);
});

test('formatResults: status, SRM, per-arm table and verdicts; NaN from JSON shows as -', () => {
  const exp = experimentSchema.parse({ id: 'x', flag: 'f', arms: ['control', 'treatment'], test: 'fixed', metrics: [{ name: 'conv', type: 'conversion' }, { name: 'none', type: 'conversion' }] });
  const arm = (n: number, mean: number) => ({ n, mean, variance: mean * (1 - mean) });
  const r = analyzeExperiment(exp, {
    units: { control: 1200, treatment: 800 }, excludedUnits: 0,
    metrics: {
      conv: { kind: 'conversion', arms: { control: arm(1200, 0.3), treatment: arm(800, 0.4) } },
      none: { kind: 'conversion', arms: { control: arm(1200, 0), treatment: arm(800, 0) } },
    },
  }, Date.UTC(2026, 10, 1));
  const text = formatResults(JSON.parse(JSON.stringify(r)) as ExperimentResults);
  assert.match(text, /^experiment x on flag f: running — collecting data\n/);
  assert.match(text, /sample ratio: mismatch \(p = \d\.\de-\d+\)/);
  assert.match(text, /warning: sample ratio mismatch/);
  assert.match(text, /treatment\s+800\s+0\.4\s+33\.3%\s+17\.2% – 49\.5%\s+3\.7e-6/);
  assert.match(text, /→ treatment raises conv by 33\.3% \(95% CI/);
  assert.match(text, /\n {2}treatment\s+800\s+0\s+n\/a\s+n\/a – n\/a\s+-\s+1\.0000/);
  assert.match(text, /→ no detectable difference yet: control is 0 so far/);
});
