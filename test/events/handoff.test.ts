import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PIECE_CHARS, decodeColumns, encodeColumns } from '../../src/events/handoff.ts';
import type { WideEvent } from '../../src/events/schema.ts';
import { event, generateEvents } from './helpers.ts';

test('column hand-off: events come back as pushed — numbers, strings, booleans, mixed and sparse fields, odd names', () => {
  const events: WideEvent[] = [
    ...generateEvents(300, 3),
    event({ 'app.mixed': 1, 'app.empty': '', 'app.unicode': 'żółw 🐢', __proto__x: 'x' }),
    event({ 'app.mixed': 'two', 'app.bool': false, 'app.nan': Number.NaN, 'app.neg': -0 }),
    Object.assign(event({ 'app.mixed': true, 'app.undef': undefined }), { 'app.null': null }),
  ];
  const odd = event({});
  Object.defineProperty(odd, '__proto__', { value: 'own', enumerable: true, writable: true, configurable: true });
  events.push(odd);
  const out: WideEvent[] = [];
  for (let i = 0; i < events.length; i += 128) {
    const { batch, transfer } = encodeColumns(events, i, Math.min(events.length, i + 128));
    const copy = structuredClone(batch, { transfer }); // what postMessage does
    decodeColumns(copy, out);
  }
  assert.equal(out.length, events.length);
  const clean = (e: WideEvent) => Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined && v !== null));
  events.forEach((e, i) => assert.deepEqual(Object.entries(out[i]).sort(), Object.entries(clean(e)).sort(), `event ${i}`));
  assert.ok(Object.is(out[301]['app.neg'], -0));
  assert.equal(Object.getPrototypeOf(out.at(-1)), Object.prototype, 'a field named __proto__ is a field, not a prototype');
  assert.equal(Object.getOwnPropertyDescriptor(out.at(-1), '__proto__')?.value, 'own');
});

test('column hand-off: strings past one text piece, a string longer than a piece, empty strings at piece edges', () => {
  const sizes = [PIECE_CHARS - 3, 0, 5, 0, PIECE_CHARS * 2, 0, 1, 3, PIECE_CHARS, 0];
  const events: WideEvent[] = Array.from({ length: 2048 }, (_, i) => event({ 'request.id': `r${i}`, 'app.s': i < sizes.length ? 'ab'.repeat(sizes[i]).slice(0, sizes[i]) : `value-${i}-${'é'.repeat(i % 40)}` }));
  const { batch, transfer } = encodeColumns(events, 0, events.length);
  const texts = batch.texts[batch.keys.indexOf('app.s')]!;
  assert.ok(texts.length > 3, `several pieces (${texts.length})`);
  assert.ok(texts.every((t) => t.length <= PIECE_CHARS * 2));
  const out = decodeColumns(structuredClone(batch, { transfer }));
  events.forEach((e, i) => assert.equal(out[i]['app.s'], e['app.s'], `event ${i}`));
});
