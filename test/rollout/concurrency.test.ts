import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { ControlPlane } from '../../src/control/plane.ts';
import { validateConfig } from '../../src/config/validate.ts';
import { RolloutController } from '../../src/rollout/controller.ts';
import type { Analyzer } from '../../src/analysis/analyzer.ts';
import type { RolloutState } from '../../src/rollout/types.ts';

test('two controllers on one store (a leader change): every step is applied exactly once', async (t) => {
  const r = validateConfig({
    services: { shop: {
      match: { pathPrefix: '/' }, versions: { stable: 'http://127.0.0.1:9001', canary: 'http://127.0.0.1:9002' },
      rollout: { steps: [{ setWeight: 10 }, { pause: { duration: 1000 } }, { setWeight: 20 }, { pause: { duration: 1000 } }, { setWeight: 40 }, { analysis: { interval: 1000, count: 3 } }] },
    } },
  }, {});
  assert.ok(r.ok);
  const clock = { t: Date.UTC(2026, 0, 5, 10) };
  const now = () => clock.t;
  const path = join(mkdtempSync(join(tmpdir(), 'weir-conc-')), 'state.db');
  // Two processes' worth: separate store connections and planes over the same database file.
  const stores = [openSqliteStore(path, now), openSqliteStore(path, now)];
  t.after(async () => { for (const s of stores) await s.close(); });
  let runs = 0;
  const analyzer: Analyzer = {
    async run(req) {
      runs++;
      return { run: { id: req.runId, rolloutId: req.rolloutId, service: req.service, step: req.step, baseline: req.baseline, canary: req.canary, traffic: req.traffic, window: { from: req.from, to: req.to }, phase: 'Successful', summary: 'ok', reasons: [], samples: { baseline: 500, canary: 500 }, metrics: [] }, sequential: req.sequential };
    },
  };
  const leading = [true, true];
  const controllers = await Promise.all(stores.map(async (store, i) => {
    const plane = await ControlPlane.create(r.config, store, now);
    const c = new RolloutController({ plane, store, config: () => r.config, now, analyzer, isLeader: () => leading[i] });
    await c.init();
    return { c, plane };
  }));
  await controllers[0].c.start('shop', 'canary', 'test');
  for (let i = 0; i < 40; i++) {
    clock.t += 250;
    await Promise.all(controllers.flatMap(({ c }) => [c.tick(), c.tick()]));
    await Promise.all(controllers.map(({ c }) => c.idle()));
  }
  const final = (await stores[0].getRollout('shop'))!.state as RolloutState;
  assert.equal(final.phase, 'Succeeded', final.message);
  const entries = await stores[0].listAudit({ target: 'shop', limit: 1000 });
  // Each transition that moves the rollout (a step, a phase) is written once, by one of the two.
  const moves = entries.filter((e) => e.action === 'rollout.step' || e.action === 'rollout.start' || (e.action === 'rollout.analysis' && JSON.stringify(e.before) !== JSON.stringify(e.after)))
    .map((e) => JSON.stringify(e.after));
  assert.equal(new Set(moves).size, moves.length, `a step applied twice:\n${moves.join('\n')}`);
  assert.equal(moves.length, 4, moves.join('\n'));
  const stored = await stores[0].listAnalysisRuns('shop', 100);
  assert.ok(stored.length >= 3);
  // Another replica (not leading) follows the store: the same weights and the same stable version.
  const follower = controllers[1];
  leading[1] = false;
  await follower.c.tick();
  assert.deepEqual(follower.plane.table.services[0].weights, { stable: 0, canary: 100 });
  assert.equal(follower.plane.table.services[0].stable, 'canary');
});
