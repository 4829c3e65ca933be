/**
 * The tap-compare diff alone, next to microdiff and jsondiffpatch in the same run.
 *
 *   ./node_modules/.bin/node bench/diff.ts [seconds-per-case]
 *
 * Bodies: ~4 KB JSON documents (an order with line items) that differ in a few fields, and a pair of
 * identical bodies. The peers diff parsed values, so their timing includes JSON.parse of both bodies, as
 * that is how they are used on HTTP responses. Numbers are noisy on a shared machine: compare ratios.
 */
import diff from 'microdiff';
import * as jsondiffpatch from 'jsondiffpatch';
import { compileRules } from '../src/proxy/compare/rules.ts';
import { diffBodies } from '../src/proxy/compare/diff.ts';
import type { CompareResponse } from '../src/proxy/compare/types.ts';

const seconds = Number(process.argv[2] ?? '0.5');

function order(seed: number, variant: number): unknown {
  const items = [];
  for (let i = 0; i < 21; i++) {
    items.push({
      sku: `SKU-${seed}-${i}`,
      name: `Item number ${i} with a fairly descriptive name`,
      price: { amount: 1000 + i * 37, currency: 'EUR' },
      quantity: 1 + (i % 3),
      tags: ['sale', 'new', `cat-${i % 4}`],
      available: i % 5 !== 0,
    });
  }
  return {
    id: `order-${seed}`,
    createdAt: '2026-11-23T19:00:00.000Z',
    status: variant === 1 ? 'shipped' : 'paid',
    customer: {
      id: 42,
      name: 'Ada Lovelace',
      email: 'ada@example.com',
      address: { street: '12 Analytical Way', city: variant === 1 ? 'Lyon' : 'Paris', zip: '75001', country: 'FR' },
    },
    items: variant === 1 ? items.map((it, i) => (i === 7 ? { ...it, quantity: 9 } : it)) : items,
    totals: { subtotal: 54321, tax: 10864, shipping: 0, total: 65185 },
    notes: null,
  };
}

const a = Buffer.from(JSON.stringify(order(1, 0)));
const b = Buffer.from(JSON.stringify(order(1, 1)));
const headers = { 'content-type': 'application/json' };
const res = (body: Buffer): CompareResponse => ({ status: 200, headers, body });
const rules = compileRules();
const differ = jsondiffpatch.create();

type Case = { name: string; run: (x: Buffer, y: Buffer) => unknown };
const cases: Case[] = [
  { name: 'weir diffBodies', run: (x, y) => diffBodies(res(x), res(y), rules) },
  { name: 'microdiff + JSON.parse', run: (x, y) => diff(JSON.parse(x.toString()), JSON.parse(y.toString())) },
  { name: 'jsondiffpatch + JSON.parse', run: (x, y) => differ.diff(JSON.parse(x.toString()), JSON.parse(y.toString())) },
  { name: 'JSON.parse both (floor for peers)', run: (x, y) => [JSON.parse(x.toString()), JSON.parse(y.toString())] },
];

function measure(c: Case, x: Buffer, y: Buffer): number {
  for (let i = 0; i < 2000; i++) c.run(x, y); // warm up
  const deadline = performance.now() + seconds * 1000;
  let n = 0;
  const start = performance.now();
  while (performance.now() < deadline) {
    for (let i = 0; i < 200; i++) c.run(x, y);
    n += 200;
  }
  return n / ((performance.now() - start) / 1000);
}

console.log(`bodies: ${a.length} and ${b.length} bytes; differences found by weir:`);
console.log(diffBodies(res(a), res(b), rules));
const pretty = Buffer.from(JSON.stringify(order(1, 1), null, 1));
const scenarios = [
  ['differ in a few fields', a, b],
  ['identical', a, Buffer.from(a)],
  ['a few fields, other formatting (worst case: no identical spans)', a, pretty],
] as const;
for (const [label, x, y] of scenarios) {
  console.log(`\n${label}:`);
  const rates = cases.map((c) => ({ name: c.name, rate: measure(c, x, y) }));
  const ours = rates[0].rate;
  for (const r of rates) {
    const ratio = r === rates[0] ? '' : `   weir is ${(ours / r.rate).toFixed(2)}x`;
    console.log(`  ${r.name.padEnd(36)} ${Math.round(r.rate).toString().padStart(9)} diffs/s${ratio}`);
  }
}
