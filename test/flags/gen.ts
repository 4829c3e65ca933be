/**
 * Seeded generator of flagd flag sets and contexts for the differential test against @openfeature/flagd-core.
 * It only produces rules in the region where flagd's engines agree (docs/flags.md lists where they do not).
 */
import { createRandom } from '../../src/stats/random.ts';

export type Rng = () => number;

/** Seeded uniform [0, 1) randomness: the project's PRNG (src/stats/random.ts). */
export function rng(seed: number): Rng {
  const r = createRandom(seed);
  return () => r.uniform();
}

export const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const int = (r: Rng, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

const EMAILS = ['ann@example.com', 'bob@faas.com', 'cy@test.io', 'dee@example.com', 'eve@corp.example.org', ''];
const TIERS = ['free', 'pro', 'gold', 'enterprise'];
const VERSIONS = ['1.0.0', '1.2.3', '2.0.0-beta.1', '2.0.0', 'v1.10.0', '0.9.9', '1.2', '3'];
const GROUPS = ['alpha', 'beta', 'staff', 'ops'];

type Json = unknown;

function stringCond(r: Rng): Json {
  const attr = pick(r, ['email', 'tier', 'targetingKey']);
  const lit = attr === 'email' ? pick(r, EMAILS) : attr === 'tier' ? pick(r, TIERS) : `user-${int(r, 0, 9)}`;
  switch (int(r, 0, 6)) {
    case 0: return { '==': [{ var: attr }, lit] };
    case 1: return { '===': [{ var: attr }, lit] };
    case 2: return { '!=': [{ var: attr }, lit] };
    case 3: return { ends_with: [{ var: attr }, pick(r, ['@example.com', '.org', 'o', '@faas.com'])] };
    case 4: return { starts_with: [{ var: attr }, pick(r, ['ann', 'b', 'user-1', 'g'])] };
    case 5: return { in: [{ var: attr }, [lit, pick(r, TIERS), pick(r, EMAILS)]] };
    default: return { in: [pick(r, ['@faas.com', 'example', 'pro']), { var: attr }] };
  }
}

function numberCond(r: Rng): Json {
  const op = pick(r, ['>', '>=', '<', '<=']);
  const n = int(r, 10, 70);
  if ((op === '<' || op === '<=') && r() < 0.4) return { [op]: [int(r, 10, 30), { var: 'age' }, int(r, 40, 70)] };
  return r() < 0.5 ? { [op]: [{ var: 'age' }, n] } : { [op]: [n, { var: 'age' }] };
}

function semverCond(r: Rng): Json {
  return { sem_ver: [{ var: 'appVersion' }, pick(r, ['=', '!=', '<', '<=', '>', '>=', '^', '~']), pick(r, VERSIONS)] };
}

function listCond(r: Rng): Json {
  const groups = { var: ['groups', []] };
  const age = { var: ['age', 0] };
  switch (int(r, 0, 11)) {
    case 0: return { some: [groups, { '==': [{ var: '' }, pick(r, GROUPS)] }] };
    case 1: return { all: [groups, { in: [{ var: '' }, GROUPS.slice(0, 3)] }] };
    case 2: return { none: [groups, { '===': [{ var: '' }, 'ops'] }] };
    case 3: return { '>': [{ '+': [age, int(r, 0, 20)] }, int(r, 20, 60)] };
    case 4: return { '==': [{ substr: [{ var: ['email', ''] }, 0, 3] }, pick(r, ['ann', 'bob', 'eve'])] };
    case 5: return { '!': { missing: ['email', 'tier'] } };
    case 6: return { '<': [{ max: [age, 30] }, int(r, 20, 60)] };
    case 7: return { in: [pick(r, GROUPS), { merge: [groups, ['ops']] }] };
    case 8: return { '==': [{ '%': [age, 2] }, 0] };
    case 9: return { '!': { missing_some: [1, ['email', 'tier']] } };
    case 10: return { '>': [{ reduce: [groups, { '+': [{ var: 'accumulator' }, 1] }, 0] }, 1] };
    default: return { '==': [{ cat: [{ var: ['tier', ''] }, '-', { '*': [age, 2] }] }, pick(r, ['gold-60', 'pro-20', '-0'])] };
  }
}

export function condition(r: Rng, depth = 0): Json {
  const k = int(r, 0, depth > 1 ? 5 : 8);
  switch (k) {
    case 0: case 1: return stringCond(r);
    case 2: return numberCond(r);
    case 3: return semverCond(r);
    case 4: return r() < 0.5 ? { in: [pick(r, GROUPS), { var: 'groups' }] } : { '==': [{ var: 'user.plan' }, pick(r, TIERS)] };
    case 5: return listCond(r);
    case 6: return { and: [condition(r, depth + 1), condition(r, depth + 1)] };
    case 7: return { or: [condition(r, depth + 1), condition(r, depth + 1)] };
    default: return { '!': condition(r, depth + 1) };
  }
}

function outcome(r: Rng, variants: string[]): Json {
  const k = int(r, 0, 12);
  if (k === 10) return { if: [{ $ref: 'isStaff' }, pick(r, variants), null] };
  if (k === 11) return r() < 0.5; // names "true"/"false": usually not a variant → GENERAL
  if (k === 12) return { '+': [int(r, 0, 1), 1] }; // numbers name "1"/"2" variants
  if (k <= 4) return pick(r, variants);
  if (k === 5) return null;
  if (k === 6) return 'no-such-variant';
  if (k === 7) return fractional(r, variants);
  if (k === 8) return { var: ['tier', pick(r, variants)] };
  return { cat: [pick(r, variants)] };
}

function fractional(r: Rng, variants: string[]): Json {
  const buckets = variants.slice(0, int(r, 1, variants.length)).map((v) => (r() < 0.2 ? [v] : [v, int(r, 0, 60)]));
  switch (int(r, 0, 3)) {
    case 0: return { fractional: buckets };
    case 1: return { fractional: [{ cat: [{ var: '$flagd.flagKey' }, { var: ['email', ''] }] }, ...buckets] };
    // a missing bucketing value is where the Go and JS cores differ (docs/flags.md), so give var a default
    case 2: return { fractional: [{ var: ['email', 'nobody'] }, ...buckets] };
    default: return { fractional: [{ cat: ['seed-', { var: ['targetingKey', ''] }] }, ...buckets] };
  }
}

function targeting(r: Rng, variants: string[], boolShorthand: boolean): Json {
  if (boolShorthand) return condition(r);
  const k = int(r, 0, 5);
  if (k === 0) return fractional(r, variants);
  if (k === 1) return { if: [condition(r), outcome(r, variants)] };
  if (k === 2) return { if: [condition(r), outcome(r, variants), outcome(r, variants)] };
  if (k === 3) return { if: [condition(r), outcome(r, variants), condition(r), outcome(r, variants), outcome(r, variants)] };
  if (k === 4) return { if: [{ '>': [{ var: '$flagd.timestamp' }, 1000] }, outcome(r, variants), null] };
  return { if: [condition(r), { if: [condition(r), outcome(r, variants), null] }, outcome(r, variants)] };
}

export function flagSet(r: Rng, n: number): { flags: Record<string, Json>; $evaluators: Record<string, Json>; metadata?: Record<string, Json> } {
  const flags: Record<string, Json> = {};
  for (let i = 0; i < n; i++) {
    const type = pick(r, ['boolean', 'string', 'number', 'object']);
    let names: string[];
    let values: Json[];
    const boolShorthand = type === 'boolean' && r() < 0.3;
    if (boolShorthand) {
      names = ['true', 'false'];
      values = [true, false];
    } else {
      names = r() < 0.15 ? ['1', '2', 'x'] : ['a', 'b', 'c', 'd'].slice(0, int(r, 1, 4)).map((x) => `${x}${int(r, 0, 1) ? '-v' : ''}`);
      values = names.map((_, j) =>
        type === 'boolean' ? j % 2 === 0 : type === 'string' ? `val-${j}` : type === 'number' ? j * 1.5 : { j, on: j > 0 });
    }
    const variants = Object.fromEntries(names.map((nm, j) => [nm, values[j]]));
    const flag: Record<string, Json> = { state: r() < 0.1 ? 'DISABLED' : 'ENABLED', variants };
    const d = r();
    if (d < 0.8) flag.defaultVariant = pick(r, names);
    else if (d < 0.9) flag.defaultVariant = null;
    if (r() < 0.8) flag.targeting = targeting(r, names, boolShorthand);
    if (r() < 0.3) flag.metadata = { owner: pick(r, ['web', 'api']), version: int(r, 1, 9) };
    flags[`flag-${i}-${type}`] = flag;
  }
  const $evaluators = { isStaff: { ends_with: [{ var: 'email' }, '@example.com'] } };
  return r() < 0.5 ? { flags, $evaluators, metadata: { flagSetId: 'gen', team: 'weir' } } : { flags, $evaluators };
}

export function context(r: Rng): Record<string, Json> {
  const ctx: Record<string, Json> = {};
  if (r() < 0.85) ctx.targetingKey = `user-${int(r, 0, 40)}`;
  if (r() < 0.8) ctx.email = pick(r, EMAILS);
  if (r() < 0.7) ctx.tier = pick(r, TIERS);
  if (r() < 0.7) ctx.age = int(r, 5, 80);
  if (r() < 0.6) ctx.appVersion = pick(r, VERSIONS);
  if (r() < 0.5) ctx.groups = GROUPS.filter(() => r() < 0.4);
  if (r() < 0.5) ctx.user = r() < 0.8 ? { plan: pick(r, TIERS) } : null;
  return ctx;
}
