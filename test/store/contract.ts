// The StateStore contract: every behaviour both implementations (SQLite, PostgreSQL) must share.
// Each implementation's test file calls runStoreContract with a factory for fresh, empty locations.
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { WeirError } from '../../src/errors.ts';
import type { StateStore, WeightOverride } from '../../src/store/types.ts';

/** One fresh, empty place to keep state; `open` may be called several times (reopen, a second writer). */
export interface StoreFixture {
  open(now: () => number): Promise<StateStore>;
}

/** Makes a fresh fixture for one test and registers its cleanup with `t.after`. */
export type StoreFactory = (t: TestContext) => Promise<StoreFixture>;

function clock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, tick: (ms = 1) => (t += ms) };
}

const W = (stable: number, canary: number): WeightOverride => ({ weights: { stable, canary }, configWeights: { stable: 100, canary: 0 } });
const isConflict = (e: unknown) => e instanceof WeirError && e.code === 'CONFLICT';

async function openFresh(t: TestContext, factory: StoreFactory, now: () => number): Promise<{ store: StateStore; fixture: StoreFixture }> {
  const fixture = await factory(t);
  const store = await fixture.open(now);
  t.after(() => store.close());
  return { store, fixture };
}

/**
 * Runs every StateStore behaviour against one implementation.
 *
 * @example
 *   runStoreContract('sqlite', async (t) => ({ open: (now) => Promise.resolve(openSqliteStore(path, now)) }));
 */
export function runStoreContract(name: string, factory: StoreFactory): void {
  test(`${name}: weights set, replaced, cleared; each change audited in the same write`, async (t) => {
    const c = clock();
    const { store } = await openFresh(t, factory, c.now);
    assert.deepEqual(await store.getWeightOverrides(), {});
    await store.setWeights('shop', W(90, 10), { actor: 'ann', action: 'weights.set', target: 'shop', after: { stable: 90, canary: 10 }, reason: 'canary' });
    await store.setWeights('cart', W(50, 50), { actor: 'ann', action: 'weights.set', target: 'cart' });
    c.tick();
    await store.setWeights('shop', W(0, 100), { actor: 'bob', action: 'weights.set', target: 'shop' });
    assert.deepEqual(await store.getWeightOverrides(), { cart: W(50, 50), shop: W(0, 100) });
    // Key order survives the round trip: the control plane compares weights by their JSON text.
    assert.equal(JSON.stringify((await store.getWeightOverrides()).shop), JSON.stringify(W(0, 100)));
    await store.clearWeights('shop', { actor: 'config', action: 'weights.reset', target: 'shop', before: { stable: 0, canary: 100 } });
    assert.deepEqual(await store.getWeightOverrides(), { cart: W(50, 50) });
    const audit = await store.listAudit({ target: 'shop' });
    assert.deepEqual(audit.map((e) => [e.action, e.actor]), [['weights.reset', 'config'], ['weights.set', 'bob'], ['weights.set', 'ann']]);
    assert.equal(audit[2].reason, 'canary');
    assert.deepEqual(audit[2].after, { stable: 90, canary: 10 });
  });

  test(`${name}: audit is newest first, filters by target, pages with before, caps limit, keeps JSON and absent fields`, async (t) => {
    const c = clock();
    const { store } = await openFresh(t, factory, c.now);
    const ids: number[] = [];
    for (let i = 0; i < 12; i++) {
      c.tick(10);
      const e = await store.appendAudit({ actor: 'a', action: 'x', target: i % 2 ? 'odd' : 'even', before: i === 0 ? { n: [1, 'two', null] } : undefined, after: i });
      assert.equal(e.at, c.now());
      ids.push(e.id);
    }
    assert.ok(ids.every((id, i) => i === 0 || id > ids[i - 1]), 'ids grow');
    const all = await store.listAudit();
    assert.deepEqual(all.map((e) => e.after), [11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    assert.deepEqual(all[11].before, { n: [1, 'two', null] });
    assert.equal(all[0].before, undefined);
    assert.equal(all[0].reason, undefined);
    assert.equal(all[0].at, c.now());
    assert.deepEqual((await store.listAudit({ target: 'odd', limit: 3 })).map((e) => e.after), [11, 9, 7]);
    assert.deepEqual((await store.listAudit({ limit: 2, before: ids[5] })).map((e) => e.after), [4, 3]);
    assert.deepEqual(await store.listAudit({ target: 'nothing' }), []);
    assert.equal((await store.listAudit({ limit: 5000 })).length, 12, 'a huge limit is capped, not an error');
  });

  test(`${name}: rollouts carry optimistic revisions; a stale write is CONFLICT and changes nothing`, async (t) => {
    const c = clock();
    const { store } = await openFresh(t, factory, c.now);
    assert.equal(await store.getRollout('shop'), undefined);
    const r1 = await store.putRollout('shop', { step: 0, phase: 'Progressing' }, null, { actor: 'controller', action: 'rollout.start', target: 'shop' });
    assert.deepEqual([r1.revision, r1.updatedAt], [1, c.now()]);
    await assert.rejects(store.putRollout('shop', { step: 9 }, null, { actor: 'x', action: 'rollout.start', target: 'shop' }), isConflict);
    c.tick(5);
    const r2 = await store.putRollout('shop', { step: 1 }, 1, { actor: 'controller', action: 'rollout.step', target: 'shop' }, W(75, 25));
    assert.equal(r2.revision, 2);
    assert.deepEqual(await store.getRollout('shop'), { service: 'shop', revision: 2, state: { step: 1 }, updatedAt: c.now() });
    assert.deepEqual((await store.getWeightOverrides()).shop, W(75, 25), 'weights written with the rollout');
    const auditBefore = (await store.listAudit()).length;
    await assert.rejects(store.putRollout('shop', { step: 2 }, 1, { actor: 'x', action: 'rollout.step', target: 'shop' }, W(0, 100)), (e) => isConflict(e) && /revision 2, expected 1/.test((e as Error).message));
    assert.deepEqual((await store.getRollout('shop'))?.state, { step: 1 });
    assert.deepEqual((await store.getWeightOverrides()).shop, W(75, 25), 'a refused write leaves the weights');
    assert.equal((await store.listAudit()).length, auditBefore, 'and the audit log');
    await assert.rejects(store.putRollout('cart', {}, 3, { actor: 'x', action: 'y', target: 'cart' }), isConflict);
    await store.putRollout('cart', { step: 0 }, null, { actor: 'c', action: 'rollout.start', target: 'cart' });
    assert.deepEqual((await store.listRollouts()).map((r) => [r.service, r.revision]), [['cart', 1], ['shop', 2]]);
  });

  test(`${name}: two writers racing on one revision: exactly one wins, the other gets CONFLICT`, async (t) => {
    const c = clock();
    const { store, fixture } = await openFresh(t, factory, c.now);
    const other = await fixture.open(c.now); // a second replica on the same state
    t.after(() => other.close());
    for (let round = 0; round < 5; round++) {
      const expected = round === 0 ? null : round;
      const results = await Promise.allSettled([
        store.putRollout('shop', { by: 'a', round }, expected, { actor: 'a', action: 'rollout.step', target: 'shop' }, W(100 - round, round)),
        other.putRollout('shop', { by: 'b', round }, expected, { actor: 'b', action: 'rollout.step', target: 'shop' }, W(round, 100 - round)),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      assert.equal(won.length, 1, `round ${round}: exactly one writer wins`);
      assert.ok(isConflict((lost[0] as PromiseRejectedResult).reason), `round ${round}: the loser gets CONFLICT`);
      const stored = await store.getRollout('shop');
      assert.equal(stored?.revision, round + 1);
      const winner = (stored?.state as { by: string }).by;
      assert.deepEqual((await other.getWeightOverrides()).shop, winner === 'a' ? W(100 - round, round) : W(round, 100 - round), 'the winner\'s weights, not a mix');
    }
    assert.equal((await store.listAudit({ target: 'shop' })).length, 5, 'one audit entry per winning write');
  });

  test(`${name}: analysis runs are kept per service, newest first, with a limit`, async (t) => {
    const c = clock();
    const { store } = await openFresh(t, factory, c.now);
    for (let i = 0; i < 4; i++) {
      c.tick(1000);
      const r = await store.appendAnalysisRun(i === 3 ? 'cart' : 'shop', { step: i, phase: i === 2 ? 'Failed' : 'Successful', metrics: [{ name: 'error-rate', value: 0.01 * i }] });
      assert.equal(r.at, c.now());
    }
    const runs = await store.listAnalysisRuns('shop');
    assert.deepEqual(runs.map((r) => (r.run as { step: number }).step), [2, 1, 0]);
    assert.deepEqual(runs[0].run, { step: 2, phase: 'Failed', metrics: [{ name: 'error-rate', value: 0.02 }] });
    assert.ok(runs[0].id > runs[1].id);
    assert.equal((await store.listAnalysisRuns('shop', 1)).length, 1);
    assert.deepEqual(await store.listAnalysisRuns('none'), []);
  });

  test(`${name}: tokens are stored by hash, names are unique, deletes are audited`, async (t) => {
    const c = clock();
    const { store } = await openFresh(t, factory, c.now);
    const tok = { name: 'ci', scope: 'read' as const, hash: 'ab'.repeat(32), createdAt: c.now(), createdBy: 'admin' };
    await store.createToken(tok, { actor: 'admin', action: 'token.create', target: 'token:ci', after: { scope: 'read' } });
    await store.createToken({ ...tok, name: 'bot', scope: 'operator', hash: 'cd'.repeat(32) }, { actor: 'admin', action: 'token.create', target: 'token:bot' });
    await assert.rejects(store.createToken({ ...tok, hash: 'ef'.repeat(32) }, { actor: 'admin', action: 'token.create', target: 'token:ci' }), isConflict);
    assert.deepEqual((await store.listTokens()).map((r) => [r.name, r.scope]), [['bot', 'operator'], ['ci', 'read']]);
    assert.deepEqual((await store.listTokens())[1], tok);
    assert.equal(await store.deleteToken('ci', { actor: 'admin', action: 'token.delete', target: 'token:ci' }), true);
    assert.equal(await store.deleteToken('ci', { actor: 'admin', action: 'token.delete', target: 'token:ci' }), false);
    assert.deepEqual((await store.listTokens()).map((r) => r.name), ['bot']);
    assert.deepEqual((await store.listAudit({ target: 'token:ci' })).map((e) => e.action), ['token.delete', 'token.create']);
  });

  test(`${name}: everything survives close and reopen; reopening applies no migration twice`, async (t) => {
    const c = clock();
    const fixture = await factory(t);
    const first = await fixture.open(c.now);
    await first.setWeights('shop', W(60, 40), { actor: 'a', action: 'weights.set', target: 'shop' });
    await first.putRollout('shop', { step: 3 }, null, { actor: 'c', action: 'rollout.start', target: 'shop' });
    await first.appendAnalysisRun('shop', { phase: 'Inconclusive' });
    await first.createToken({ name: 'ci', scope: 'read', hash: '01'.repeat(32), createdAt: 1, createdBy: 'admin' }, { actor: 'admin', action: 'token.create', target: 'token:ci' });
    await first.close();
    // Two opens at once (replicas starting together) must both succeed on already-migrated state.
    const [second, third] = await Promise.all([fixture.open(c.now), fixture.open(c.now)]);
    t.after(() => third.close());
    t.after(() => second.close());
    assert.deepEqual(await second.getWeightOverrides(), { shop: W(60, 40) });
    assert.deepEqual((await second.getRollout('shop'))?.revision, 1);
    assert.deepEqual((await third.listAnalysisRuns('shop'))[0].run, { phase: 'Inconclusive' });
    assert.deepEqual((await third.listTokens()).map((r) => r.name), ['ci']);
    assert.equal((await second.listAudit()).length, 3);
  });

  test(`${name}: two stores opening an empty location at the same moment both migrate it safely`, async (t) => {
    const c = clock();
    const fixture = await factory(t);
    const [a, b] = await Promise.all([fixture.open(c.now), fixture.open(c.now)]);
    t.after(() => a.close());
    t.after(() => b.close());
    await a.setWeights('shop', W(1, 99), { actor: 'a', action: 'weights.set', target: 'shop' });
    assert.deepEqual(await b.getWeightOverrides(), { shop: W(1, 99) });
  });

  test(`${name}: flags are stored by key with growing revisions; writes and deletes audited together`, async (t) => {
    const c = clock();
    const { store } = await openFresh(t, factory, c.now);
    assert.deepEqual(await store.listFlags(), []);
    const def = { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'off', targeting: { if: [true, 'on', null] } };
    const r1 = await store.putFlag('new-checkout', def, { actor: 'ann', action: 'flag.put', target: 'flag:new-checkout', after: def });
    assert.deepEqual([r1.revision, r1.updatedAt, r1.updatedBy], [1, c.now(), 'ann']);
    c.tick(10);
    await store.putFlag('b-flag', { state: 'DISABLED', variants: { a: 'x' } }, { actor: 'bob', action: 'flag.put', target: 'flag:b-flag' });
    const r2 = await store.putFlag('new-checkout', { ...def, defaultVariant: 'on' }, { actor: 'bob', action: 'flag.put', target: 'flag:new-checkout', before: def });
    assert.equal(r2.revision, 2);
    const all = await store.listFlags();
    assert.deepEqual(all.map((f) => [f.key, f.revision, f.updatedBy]), [['b-flag', 1, 'bob'], ['new-checkout', 2, 'bob']]);
    assert.deepEqual(all[1].definition, { ...def, defaultVariant: 'on' });
    assert.equal(JSON.stringify(all[1].definition), JSON.stringify({ ...def, defaultVariant: 'on' }), 'key order survives');
    assert.equal(await store.deleteFlag('b-flag', { actor: 'ann', action: 'flag.delete', target: 'flag:b-flag' }), true);
    assert.equal(await store.deleteFlag('b-flag', { actor: 'ann', action: 'flag.delete', target: 'flag:b-flag' }), false);
    assert.deepEqual((await store.listFlags()).map((f) => f.key), ['new-checkout']);
    assert.deepEqual((await store.listAudit({ target: 'flag:new-checkout' })).map((e) => [e.actor, e.action]), [['bob', 'flag.put'], ['ann', 'flag.put']]);
    assert.deepEqual((await store.listAudit({ target: 'flag:b-flag' })).map((e) => e.action), ['flag.delete', 'flag.put']);
  });

  test(`${name}: a scheduled flag change is applied or cancelled exactly once, even by two racing stores`, async (t) => {
    const c = clock();
    const { store, fixture } = await openFresh(t, factory, c.now);
    const other = await fixture.open(c.now);
    t.after(() => other.close());
    const later = { state: 'ENABLED', variants: { a: 'a', b: 'b' }, defaultVariant: 'b' };
    const s1 = await store.addFlagSchedule({ key: 'split', at: c.now() + 60_000, definition: later, createdBy: 'ann' }, { actor: 'ann', action: 'flag.schedule', target: 'flag:split' });
    const s2 = await store.addFlagSchedule({ key: 'other', at: c.now() + 1000, definition: later, createdBy: 'ann' }, { actor: 'ann', action: 'flag.schedule', target: 'flag:other' });
    assert.deepEqual((await store.listFlagSchedules({ pending: true })).map((s) => s.id), [s2.id, s1.id], 'by time');
    assert.deepEqual((await store.listFlagSchedules({ key: 'split' }))[0], { id: s1.id, key: 'split', at: c.now() + 60_000, definition: later, status: 'pending', createdBy: 'ann' });
    c.tick(5);
    const results = await Promise.all([
      store.finishFlagSchedule(s1.id, 'applied', { actor: 'controller', action: 'flag.schedule.apply', target: 'flag:split', after: later }),
      other.finishFlagSchedule(s1.id, 'applied', { actor: 'controller', action: 'flag.schedule.apply', target: 'flag:split', after: later }),
    ]);
    assert.deepEqual(results.sort(), [false, true], 'exactly one applies it');
    const flags = await other.listFlags();
    assert.deepEqual(flags.map((f) => [f.key, f.revision, f.updatedBy]), [['split', 1, 'controller']]);
    assert.deepEqual(flags[0].definition, later);
    const done = (await store.listFlagSchedules({ key: 'split' }))[0];
    assert.deepEqual([done.status, done.doneAt], ['applied', c.now()]);
    assert.equal(await store.finishFlagSchedule(s2.id, 'cancelled', { actor: 'bob', action: 'flag.schedule.cancel', target: 'flag:other' }), true);
    assert.equal(await store.finishFlagSchedule(s2.id, 'applied', { actor: 'controller', action: 'flag.schedule.apply', target: 'flag:other' }), false, 'a cancelled change never applies');
    assert.equal(await store.finishFlagSchedule(9999, 'cancelled', { actor: 'bob', action: 'flag.schedule.cancel', target: 'flag:x' }), false);
    assert.deepEqual(await store.listFlagSchedules({ pending: true }), []);
    assert.deepEqual((await store.listFlags()).map((f) => f.key), ['split'], 'the cancelled one wrote no flag');
    assert.deepEqual((await store.listAudit({ target: 'flag:split' })).map((e) => e.action), ['flag.schedule.apply', 'flag.schedule']);
  });

  test(`${name}: flag usage adds counts per variant and keeps the latest evaluation time`, async (t) => {
    const c = clock();
    const { store } = await openFresh(t, factory, c.now);
    assert.deepEqual(await store.listFlagUsage(), []);
    await store.addFlagUsage([{ key: 'b', variants: { on: 3, '': 1 }, lastEvaluatedAt: 200 }, { key: 'a', variants: { x: 1 }, lastEvaluatedAt: 50 }]);
    await store.addFlagUsage([{ key: 'b', variants: { on: 2, off: 4 }, lastEvaluatedAt: 100 }]);
    await store.addFlagUsage([]);
    assert.deepEqual(await store.listFlagUsage(), [
      { key: 'a', variants: { x: 1 }, lastEvaluatedAt: 50 },
      { key: 'b', variants: { '': 1, off: 4, on: 5 }, lastEvaluatedAt: 200 },
    ]);
  });
}
