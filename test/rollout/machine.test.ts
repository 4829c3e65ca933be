import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newRollout, transition, weightsOf, isFinal, GATE_RETRY_MS } from '../../src/rollout/machine.ts';
import { rolloutSpec } from '../../src/rollout/spec.ts';
import type { RolloutConfig } from '../../src/config/schema.ts';
import type { RolloutAction, RolloutEvent, RolloutState } from '../../src/rollout/types.ts';
import { createRandom } from '../../src/stats/index.ts';

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0); // a Monday, 10:00 UTC
const ISSUE_STEPS: RolloutConfig = {
  steps: [
    { setWeight: 5 }, { analysis: { interval: 10_000, count: 6 } }, { setWeight: 25 }, { pause: { duration: 60_000 } },
    { setWeight: 50 }, { analysis: { interval: 10_000, count: 6 } }, { pause: {} },
  ],
  maxWeight: 50,
};

/** Drives a rollout through events with a fake clock, collecting actions. */
function driver(cfg: RolloutConfig, halted = false) {
  let now = T0;
  let state = newRollout({ service: 'shop', stable: 'v1', canary: 'v2', spec: rolloutSpec(cfg), now, actor: 'test' });
  const actions: RolloutAction[] = [];
  const send = (ev: RolloutEvent, h = halted) => {
    const t = transition(state, ev, now, { halted: h });
    state = t.state;
    actions.push(...t.actions);
    return t;
  };
  return {
    get s(): RolloutState { return state; },
    actions,
    send,
    at(ms: number) { now = T0 + ms; },
    advance(ms: number) { now += ms; return send({ type: 'tick' }); },
    now: () => now,
    /** Answers every pending runAnalysis with `phase`. */
    answer(phase: 'Successful' | 'Failed' | 'Inconclusive' | 'Error', summary: string = phase) {
      const runs = actions.splice(0).filter((a) => a.type === 'runAnalysis');
      for (const r of runs) if (r.type === 'runAnalysis') send({ type: 'analysis', runId: r.runId, step: r.step, phase, summary });
      return runs.length;
    },
  };
}

test('the issue\'s steps: 5% → analysis ×6 → 25% → 1m pause → 50% → analysis ×6 → wait for a person → 100%, stable', () => {
  const d = driver(ISSUE_STEPS);
  d.send({ type: 'tick' });
  assert.equal(d.s.step, 1);
  assert.equal(d.s.weight, 5);
  assert.deepEqual(weightsOf(d.s), { v1: 95, v2: 5 });
  for (let i = 0; i < 6; i++) {
    d.advance(10_000);
    assert.equal(d.answer('Successful'), 1, `run ${i + 1} requested`);
  }
  assert.equal(d.s.step, 3, 'after six passes: 25%, then the timed pause');
  assert.equal(d.s.weight, 25);
  d.advance(59_000);
  assert.equal(d.s.step, 3, 'the pause lasts a minute');
  d.advance(1_000);
  assert.equal(d.s.step, 5);
  assert.equal(d.s.weight, 50);
  for (let i = 0; i < 6; i++) {
    d.advance(10_000);
    d.answer('Successful');
  }
  assert.equal(d.s.phase, 'Paused');
  assert.equal(d.s.pauseReason, 'step');
  d.advance(3_600_000);
  assert.equal(d.s.phase, 'Paused', 'pause: {} waits for a person however long');
  d.send({ type: 'promote', actor: 'alice' });
  assert.equal(d.s.phase, 'Succeeded');
  assert.deepEqual(weightsOf(d.s), { v1: 0, v2: 100 });
  assert.ok(d.s.history.some((h) => /promoted by alice/.test(h.message)));
});

test('a failed analysis rolls every step\'s traffic back to stable at once, with the reason', () => {
  const d = driver(ISSUE_STEPS);
  d.send({ type: 'tick' });
  d.advance(10_000);
  d.answer('Successful');
  d.advance(10_000);
  d.answer('Failed', 'new error only in the canary: HTTP 500 GET /api/checkout');
  assert.equal(d.s.phase, 'Failed');
  assert.deepEqual(weightsOf(d.s), { v1: 100, v2: 0 });
  assert.match(d.s.message, /HTTP 500 GET \/api\/checkout/);
  assert.equal(d.s.finishedAt, d.now());
  const after = d.advance(60_000);
  assert.deepEqual(after.actions, [], 'a final rollout does nothing more');
});

test('inconclusive runs never pass: the rollout waits, then pauses for a person; resume goes on', () => {
  const d = driver({ steps: [{ setWeight: 10 }, { analysis: { interval: 1000, count: 2 } }], analysis: { inconclusiveLimit: 3 } });
  d.send({ type: 'tick' });
  for (let i = 0; i < 2; i++) {
    d.advance(1000);
    d.answer('Inconclusive');
  }
  assert.equal(d.s.phase, 'Progressing');
  d.advance(1000);
  d.answer('Error');
  assert.equal(d.s.phase, 'Paused');
  assert.equal(d.s.pauseReason, 'inconclusive');
  assert.equal(d.s.weight, 10, 'pausing keeps the weights');
  d.advance(5000);
  assert.deepEqual(d.actions.filter((a) => a.type === 'runAnalysis'), [], 'no runs while paused');
  d.send({ type: 'resume', actor: 'bob' });
  assert.equal(d.s.phase, 'Progressing');
  d.advance(0);
  d.answer('Successful');
  d.advance(1000);
  d.answer('Successful');
  assert.equal(d.s.phase, 'Succeeded');
});

test('maxWeight caps a step; the end of the rollout still promotes to 100', () => {
  const d = driver({ steps: [{ setWeight: 80 }], maxWeight: 30 });
  d.send({ type: 'tick' });
  assert.equal(d.s.phase, 'Succeeded');
  assert.ok(d.s.history.some((h) => h.weight === 30 && /capped by maxWeight 30/.test(h.message)));
});

test('abort goes to 0% now; retry starts again from the first step', () => {
  const d = driver(ISSUE_STEPS);
  d.send({ type: 'tick' });
  d.send({ type: 'abort', actor: 'carol', reason: 'customer complaints' });
  assert.equal(d.s.phase, 'Aborted');
  assert.deepEqual(weightsOf(d.s), { v1: 100, v2: 0 });
  assert.match(d.s.message, /customer complaints/);
  d.send({ type: 'promote', actor: 'x' });
  assert.equal(d.s.phase, 'Aborted', 'a finished rollout ignores promote');
  d.send({ type: 'retry', actor: 'carol' });
  assert.equal(d.s.phase, 'Progressing');
  assert.equal(d.s.step, 1);
  assert.equal(d.s.weight, 5);
});

test('pause and resume by a person keep the step; promote skips an analysis step', () => {
  const d = driver(ISSUE_STEPS);
  d.send({ type: 'tick' });
  d.send({ type: 'pause', actor: 'dan' });
  assert.equal(d.s.phase, 'Paused');
  d.advance(20_000);
  assert.equal(d.actions.filter((a) => a.type === 'runAnalysis').length, 0);
  d.send({ type: 'resume', actor: 'dan' });
  assert.equal(d.s.step, 1);
  d.send({ type: 'promote', actor: 'dan' });
  assert.equal(d.s.step, 3, 'skipped the analysis, applied 25%, now in the timed pause');
  assert.equal(d.s.weight, 25);
  d.send({ type: 'promote', actor: 'dan', full: true });
  assert.equal(d.s.phase, 'Succeeded');
});

test('halted: an active rollout is aborted and cannot be retried until unhalted', () => {
  const d = driver(ISSUE_STEPS);
  d.send({ type: 'tick' });
  d.send({ type: 'tick' }, true);
  assert.equal(d.s.phase, 'Aborted');
  assert.match(d.s.message, /halted/);
  d.send({ type: 'retry', actor: 'x' }, true);
  assert.equal(d.s.phase, 'Aborted');
  d.send({ type: 'retry', actor: 'x' }, false);
  assert.equal(d.s.phase, 'Progressing');
});

test('a stale analysis answer (another step, or replayed after a crash) changes nothing', () => {
  const d = driver(ISSUE_STEPS);
  d.send({ type: 'tick' });
  d.advance(10_000);
  const run = d.actions.find((a) => a.type === 'runAnalysis');
  assert.ok(run && run.type === 'runAnalysis');
  d.send({ type: 'promote', actor: 'x' });
  const before = JSON.stringify(d.s);
  d.send({ type: 'analysis', runId: run.runId, step: run.step, phase: 'Failed', summary: 'late' });
  assert.equal(JSON.stringify(d.s), before);
  const again = d.send({ type: 'tick' });
  assert.equal(again.actions.length, 0, 'ticking twice at the same instant applies nothing twice');
});

test('a run is requested once per interval, even when ticks come often', () => {
  const d = driver({ steps: [{ setWeight: 10 }, { analysis: { interval: 10_000, count: 3 } }] });
  d.send({ type: 'tick' });
  for (let i = 0; i < 100; i++) d.advance(1000);
  const runs = d.actions.filter((a) => a.type === 'runAnalysis');
  assert.equal(runs.length, 10);
  assert.deepEqual(new Set(runs.map((r) => r.type === 'runAnalysis' && r.runId)).size, 10, 'each run has its own id');
  const r = runs[0];
  assert.ok(r.type === 'runAnalysis');
  assert.equal(r.canaryShare, 0.1);
  assert.equal(r.from, T0, 'cumulative from the step start');
  assert.equal(r.traffic, 'live');
});

test('blackout windows hold every advance in their time zone; the step goes on after', () => {
  // Monday 2026-01-05 17:00 Europe/Berlin = 16:00 UTC.
  const d = driver({ steps: [{ setWeight: 10 }, { pause: { duration: 60_000 } }, { setWeight: 40 }], blackouts: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '17:00', end: '21:00', timeZone: 'Europe/Berlin' }] });
  d.at(6 * 3600_000 - 30_000); // 16:59:30 Berlin
  d.send({ type: 'tick' });
  assert.equal(d.s.step, 1);
  d.advance(60_000); // 17:00:30: pause over, but blackout
  assert.equal(d.s.step, 1);
  assert.match(d.s.blockedBy ?? '', /17:00–21:00 Europe\/Berlin/);
  d.at(10 * 3600_000); // 21:00 Berlin
  d.send({ type: 'tick' });
  assert.equal(d.s.phase, 'Succeeded');
  assert.equal(d.s.blockedBy, undefined);
});

test('confirm-promotion: the last step waits for the gate, asks again every interval, then promotes', () => {
  const d = driver({ steps: [{ setWeight: 20 }], webhooks: [{ name: 'ok', type: 'confirm-promotion', url: 'http://127.0.0.1:1/' }] });
  d.send({ type: 'tick' });
  assert.equal(d.s.phase, 'Progressing');
  assert.equal(d.s.weight, 20);
  const gates = () => d.actions.filter((a) => a.type === 'checkGates').length;
  assert.equal(gates(), 1);
  d.send({ type: 'gate', step: d.s.step, ok: false, message: 'ok answered 403' });
  assert.match(d.s.message, /403/);
  d.advance(GATE_RETRY_MS - 1);
  assert.equal(gates(), 1);
  d.advance(1);
  assert.equal(gates(), 2);
  d.send({ type: 'gate', step: d.s.step, ok: true, message: 'ok answered 200' });
  assert.equal(d.s.phase, 'Succeeded');
});

test('blue/green: preview analysis on test traffic at 0%, a person promotes, switch to 100%, old version kept warm; abort switches back', () => {
  const cfg: RolloutConfig = { strategy: 'blueGreen', steps: [{ analysis: { interval: 1000, count: 1 } }], blueGreen: { keepWarm: 60_000 } };
  const d = driver(cfg);
  d.send({ type: 'tick' });
  assert.equal(d.s.weight, 0);
  d.advance(1000);
  const run = d.actions.find((a) => a.type === 'runAnalysis');
  assert.ok(run?.type === 'runAnalysis' && run.traffic === 'test');
  d.answer('Successful');
  assert.equal(d.s.phase, 'Paused');
  d.send({ type: 'promote', actor: 'eve' });
  assert.deepEqual(weightsOf(d.s), { v1: 0, v2: 100 });
  assert.equal(d.s.phase, 'Progressing', 'keeping the old version warm');
  d.send({ type: 'abort', actor: 'eve', reason: 'checkout broken' });
  assert.deepEqual(weightsOf(d.s), { v1: 100, v2: 0 });

  const d2 = driver({ ...cfg, blueGreen: { keepWarm: 60_000, autoPromote: true } });
  d2.send({ type: 'tick' });
  d2.advance(1000);
  d2.answer('Successful');
  assert.equal(d2.s.weight, 100);
  d2.advance(60_000);
  assert.equal(d2.s.phase, 'Succeeded');
});

test('random event sequences: weights always sum to 100, never above maxWeight before promotion, final stays final', () => {
  const rng = createRandom(20261123);
  const kinds = ['tick', 'promote', 'pause', 'resume', 'abort', 'retry', 'analysis', 'gate'] as const;
  for (let trial = 0; trial < 300; trial++) {
    const d = driver({ ...ISSUE_STEPS, webhooks: trial % 2 ? [{ name: 'g', type: 'confirm-promotion', url: 'http://127.0.0.1:1/' }] : undefined, analysis: { inconclusiveLimit: 2 } });
    for (let i = 0; i < 60; i++) {
      const k = kinds[Math.floor(rng.uniform() * kinds.length)];
      const wasFinal = isFinal(d.s.phase);
      const prevPhase = d.s.phase;
      d.at(i * 7_000);
      if (k === 'analysis') {
        const phases = ['Successful', 'Failed', 'Inconclusive', 'Error'] as const;
        d.send({ type: 'analysis', runId: 'x', step: d.s.step, phase: phases[Math.floor(rng.uniform() * 4)], summary: 's' });
      } else if (k === 'gate') d.send({ type: 'gate', step: d.s.step, ok: rng.uniform() < 0.5, message: 'm' });
      else if (k === 'tick') d.send({ type: 'tick' });
      else d.send({ type: k, actor: 'fuzz' } as RolloutEvent);
      const w = weightsOf(d.s);
      assert.equal(w.v1 + w.v2, 100);
      if (d.s.phase !== 'Succeeded' && d.s.spec.steps[d.s.step]?.kind !== 'keepWarm') assert.ok(w.v2 <= 50, `weight ${w.v2} above maxWeight`);
      if (wasFinal && k !== 'retry') assert.equal(d.s.phase, prevPhase);
      assert.ok(d.s.history.length <= 30);
    }
  }
});
