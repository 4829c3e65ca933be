/**
 * Test helpers for the compare engine: a seeded RNG, random JSON documents and mutations, a JSON
 * serializer with random (but valid) formatting, and a JSON.parse-based reference diff.
 */
import type { Difference } from '../../src/proxy/compare/types.ts';
import type { CompiledRules } from '../../src/proxy/compare/rules.ts';
import { childIndex, childKey, matchesAny } from '../../src/proxy/compare/path.ts';
import { canonicalJson } from '../../src/proxy/compare/value.ts';
import { createRandom } from '../../src/stats/random.ts';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Seeded uniform [0, 1) randomness: the project's PRNG (src/stats/random.ts). */
export function rng(seed: number): () => number {
  const r = createRandom(seed);
  return () => r.uniform();
}

export function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)];
}

const KEYS = ['id', 'name', 'price', 'tags', 'a', 'b', 'c', 'user', 'items', 'x.y', 'we"ird', 'é', '__proto__', 'constructor', '0', 'k\\e', ''];
const CHUNKS = ['a', 'Z', ' ', '"', '\\', '/', '\n', '\t', '\u0001', 'é', '中', '😀', '\u2028', 'x', '0', '}', ']', ','];

export function randomString(r: () => number): string {
  const n = Math.floor(r() * 6);
  let s = '';
  for (let i = 0; i < n; i++) s += pick(r, CHUNKS);
  return s;
}

export function randomNumber(r: () => number): number {
  switch (Math.floor(r() * 6)) {
    case 0:
      return Math.floor(r() * 100);
    case 1:
      return -Math.floor(r() * 1000);
    case 2:
      return Math.round(r() * 10000) / 100;
    case 3:
      return pick(r, [0, -0, 1e21, 1.5e-7, 2 ** 53, 123456789012]);
    default:
      return Math.floor(r() * 5);
  }
}

export function randomScalar(r: () => number): Json {
  switch (Math.floor(r() * 5)) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
    case 3:
      return randomNumber(r);
    default:
      return randomString(r);
  }
}

export function randomValue(r: () => number, depth: number): Json {
  const roll = r();
  if (depth <= 0 || roll < 0.4) return randomScalar(r);
  if (roll < 0.7) {
    const o: { [k: string]: Json } = {};
    const n = Math.floor(r() * 5);
    for (let i = 0; i < n; i++) Object.defineProperty(o, pick(r, KEYS), { value: randomValue(r, depth - 1), enumerable: true, writable: true, configurable: true });
    return o;
  }
  const n = Math.floor(r() * 5);
  const arr: Json[] = [];
  for (let i = 0; i < n; i++) arr.push(randomValue(r, depth - 1));
  return arr;
}

function clone(v: Json): Json {
  return JSON.parse(JSON.stringify(v)) as Json;
}

function setOwn(o: { [k: string]: Json }, k: string, v: Json): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** A copy of `v` with a few random mutations at random places. */
export function mutate(r: () => number, v: Json, count: number): Json {
  let root = clone(v);
  for (let m = 0; m < count; m++) {
    // Walk down to a random container (or the root).
    let parent: Json = root;
    let key: string | number | null = null;
    let node: Json = root;
    while (node !== null && typeof node === 'object' && r() < 0.7) {
      const keys: (string | number)[] = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
      if (keys.length === 0) break;
      parent = node;
      key = pick(r, keys);
      node = (node as Record<string | number, Json>)[key as string];
    }
    const replace = (nv: Json): void => {
      if (key === null) root = nv;
      else if (Array.isArray(parent)) parent[key as number] = nv;
      else setOwn(parent as { [k: string]: Json }, key as string, nv);
    };
    const op = Math.floor(r() * 7);
    if (op === 0) replace(randomScalar(r));
    else if (op === 1) replace(randomValue(r, 2));
    else if (op === 2 && typeof node === 'number') replace(node + 1);
    else if (op === 3 && node !== null && typeof node === 'object' && !Array.isArray(node)) {
      const keys = Object.keys(node);
      if (keys.length > 0 && r() < 0.5) delete (node as Record<string, Json>)[pick(r, keys)];
      else setOwn(node as { [k: string]: Json }, pick(r, KEYS), randomValue(r, 1));
    } else if (op === 4 && Array.isArray(node)) {
      if (node.length > 0 && r() < 0.5) node.splice(Math.floor(r() * node.length), 1);
      else node.splice(Math.floor(r() * (node.length + 1)), 0, randomValue(r, 1));
    } else if (op === 5 && Array.isArray(node) && node.length > 1) {
      node.reverse();
    } else if (typeof node === 'string') replace(`${node}!`);
  }
  return root;
}

const WS = ['', '', '', ' ', '\n', '\t', ' \r\n  '];

function numberText(r: () => number, n: number): string {
  if (Object.is(n, -0)) return r() < 0.5 ? '-0' : '-0.0';
  const base = JSON.stringify(n);
  if (!Number.isInteger(n) || Math.abs(n) > 1e15) return base;
  switch (Math.floor(r() * 5)) {
    case 0:
      return `${base}.0`;
    case 1:
      return `${base}e0`;
    case 2:
      return n === 0 ? base : `${base}0E-1`;
    default:
      return base;
  }
}

function stringText(r: () => number, s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0) ?? 0;
    if (r() < 0.2) {
      // \u-escape every UTF-16 unit of the character.
      for (let i = 0; i < ch.length; i++) out += `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`;
    } else if (ch === '/' && r() < 0.5) out += '\\/';
    else if (code < 0x20 || ch === '"' || ch === '\\') out += JSON.stringify(ch).slice(1, -1);
    else out += ch;
  }
  return `${out}"`;
}

/**
 * JSON text for `v` with random whitespace, number spellings (`1`, `1.0`, `1e0`, `10E-1`), string escapes
 * and key orders. `shuffleKeys` off keeps insertion order.
 */
export function serialize(r: () => number, v: Json, shuffleKeys: boolean): string {
  const ws = (): string => pick(r, WS);
  if (v === null || typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return numberText(r, v);
  if (typeof v === 'string') return stringText(r, v);
  if (Array.isArray(v)) return `[${ws()}${v.map((x) => serialize(r, x, shuffleKeys) + ws()).join(`,${ws()}`)}]`;
  const keys = Object.keys(v);
  if (shuffleKeys) keys.sort(() => r() - 0.5);
  return `{${ws()}${keys.map((k) => `${stringText(r, k)}${ws()}:${ws()}${serialize(r, v[k], shuffleKeys)}${ws()}`).join(`,${ws()}`)}}`;
}

function jtype(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** The reference diff: both documents parsed, then compared with the semantics the scanner promises. */
export function referenceDiff(x: unknown, y: unknown, rules: CompiledRules, path = '', out: Difference[] = []): Difference[] {
  if (matchesAny(rules.ignorePaths, path)) return out;
  const tx = jtype(x);
  if (tx !== jtype(y)) {
    out.push({ section: 'body', path, kind: 'type', left: x, right: y });
    return out;
  }
  if (tx === 'object') {
    const ox = x as Record<string, unknown>;
    const oy = y as Record<string, unknown>;
    for (const k of Object.keys(ox)) {
      const p = childKey(path, k);
      if (Object.hasOwn(oy, k)) referenceDiff(ox[k], oy[k], rules, p, out);
      else if (!matchesAny(rules.ignorePaths, p)) out.push({ section: 'body', path: p, kind: 'missing', left: ox[k] });
    }
    for (const k of Object.keys(oy)) {
      const p = childKey(path, k);
      if (!Object.hasOwn(ox, k) && !matchesAny(rules.ignorePaths, p)) out.push({ section: 'body', path: p, kind: 'extra', right: oy[k] });
    }
  } else if (tx === 'array') {
    const ax = x as unknown[];
    const ay = y as unknown[];
    if (matchesAny(rules.arraysAsSets, path)) {
      const count = (arr: unknown[]): Map<string, { n: number; v: unknown }> => {
        const m = new Map<string, { n: number; v: unknown }>();
        for (const e of arr) {
          const k = canonicalJson(e);
          const s = m.get(k);
          if (s) s.n++;
          else m.set(k, { n: 1, v: e });
        }
        return m;
      };
      const cx = count(ax);
      const cy = count(ay);
      for (const [k, l] of cx) if ((cy.get(k)?.n ?? 0) < l.n) out.push({ section: 'body', path: `${path}[*]`, kind: 'missing', left: l.v });
      for (const [k, r] of cy) if ((cx.get(k)?.n ?? 0) < r.n) out.push({ section: 'body', path: `${path}[*]`, kind: 'extra', right: r.v });
      return out;
    }
    const n = Math.min(ax.length, ay.length);
    for (let i = 0; i < n; i++) referenceDiff(ax[i], ay[i], rules, childIndex(path, i), out);
    if (ax.length !== ay.length) out.push({ section: 'body', path, kind: 'array-length', left: ax.length, right: ay.length });
  } else if (x !== y) {
    out.push({ section: 'body', path, kind: 'value', left: x, right: y });
  }
  return out;
}

/** Differences in a canonical order, for comparing two diff results as sets. */
export function canonicalDiffs(ds: readonly Difference[]): string[] {
  return ds.map((d) => canonicalJson(d)).sort();
}
