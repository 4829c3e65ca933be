/**
 * The `experiments:` block of weir.yaml: an experiment is a flag whose variants are arms. The schema
 * checks each field's shape; {@link checkExperiments} adds the cross-field rules (arms include
 * `control`, allocation names arms, metric names are unique, …) with path-precise messages.
 */
import { z } from 'zod';
import { parseDuration } from '../util/duration.ts';

const duration = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a duration: use a number of milliseconds or a string like 30m, 7d` });
    return z.NEVER;
  }
  return ms;
});

const instant = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const ms = typeof v === 'number' ? v : Date.parse(v);
  if (!Number.isFinite(ms)) {
    ctx.addIssue({ code: 'custom', message: `"${String(v)}" is not a time: use an ISO 8601 date such as 2026-11-01T00:00:00Z` });
    return z.NEVER;
  }
  return ms;
});

/** An event filter, as in the query specification (`{ column: name, op: '=', value: purchase }`). */
const filterSchema = z.strictObject({
  column: z.string().min(1),
  op: z.string().min(1),
  value: z.union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number(), z.boolean()]))]).optional(),
});

/** Which events count and, for sums, which numeric field. Without `field` the events are counted. */
const eventSelector = z.strictObject({
  filters: z.array(filterSchema).optional(),
  field: z.string().min(1).optional(),
});

/** One metric: conversion, a per-unit sum/count, or a ratio of two per-unit sums. */
export const metricSchema = z.strictObject({
  name: z.string().min(1).regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, { message: 'metric names use letters, digits, spaces, ., _ and -' }),
  /** conversion: did the unit emit a matching event; mean: per-unit sum of `field` (or count); ratio: Σnumerator/Σdenominator. */
  type: z.enum(['conversion', 'mean', 'ratio']),
  /** conversion and mean: which events count. */
  filters: z.array(filterSchema).optional(),
  /** mean: the numeric field summed per unit (absent: events are counted). */
  field: z.string().min(1).optional(),
  numerator: eventSelector.optional(),
  denominator: eventSelector.optional(),
  /** Only events within this long after the unit's first exposure count (default: until the end). */
  window: duration.optional(),
  /** increase: a higher value is good (default); decrease: a lower value is good. */
  direction: z.enum(['increase', 'decrease']).optional(),
  /** Smallest relative change worth detecting, for the power hint (default 0.05 = 5 %). */
  mde: z.number().gt(0).optional(),
});

export const experimentSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: 'experiment ids use letters, digits, ., _ and -' }),
  /** The flag key whose variants are the arms. */
  flag: z.string().min(1),
  /** Variant names; one of them is `control`. */
  arms: z.array(z.string().min(1)).min(2, { message: 'an experiment needs at least two arms, one of them control' }),
  /** Expected share per arm (any scale, e.g. the flag's fractional weights 50/50). Default: equal. */
  allocation: z.record(z.string(), z.number().gt(0)).optional(),
  /** The field that identifies a unit on metric events (default `feature_flag.context.id`, e.g. `user.id`). */
  unit: z.string().min(1).optional(),
  start: instant.optional(),
  end: instant.optional(),
  metrics: z.array(metricSchema).optional(),
  guardrails: z.array(metricSchema).optional(),
  /** Multiple-testing correction across metrics (and arms): holm (default) or bh (Benjamini–Hochberg). */
  correction: z.enum(['holm', 'bh']).optional(),
  /** Significance level (default 0.05). */
  alpha: z.number().gt(0).lt(1).optional(),
  /**
   * What the verdict rests on: `sequential` (default; always-valid, look whenever you like) or
   * `fixed` (classical tests, valid only when read once at a planned end).
   */
  test: z.enum(['sequential', 'fixed']).optional(),
  /** n*: the total number of units at which the confidence sequence is tightest (default 5000). */
  sequentialTuning: z.number().int().positive().optional(),
  /** CUPED: the same metric over this long before `start`, per unit, as the covariate. Needs `start`. */
  cuped: z.strictObject({ preperiod: duration }).optional(),
});

export const experimentsSchema = z.array(experimentSchema);

export type ExperimentConfig = z.output<typeof experimentSchema>;
export type MetricConfig = z.output<typeof metricSchema>;
export type FilterConfig = z.output<typeof filterSchema>;

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Cross-field rules of the `experiments:` block, on the raw (unparsed) value so one run reports every
 * problem. Returns `[path, message]` pairs, paths relative to the block (`[0].arms`).
 * @example
 * checkExperiments([{ id: 'x', flag: 'f', arms: ['a', 'b'] }]);
 * // [[[0, 'arms'], 'name one arm "control" (the baseline the others are compared with)']]
 */
export function checkExperiments(raw: unknown): [PropertyKey[], string][] {
  const out: [PropertyKey[], string][] = [];
  if (!Array.isArray(raw)) return out;
  const ids = new Map<string, number>();
  raw.forEach((e: unknown, i: number) => {
    if (!isObj(e)) return;
    if (typeof e.id === 'string') {
      const prev = ids.get(e.id);
      if (prev !== undefined) out.push([[i, 'id'], `"${e.id}" is already the id of experiments[${prev}]; ids must be unique`]);
      else ids.set(e.id, i);
    }
    const arms = Array.isArray(e.arms) ? e.arms.filter((a): a is string => typeof a === 'string') : [];
    if (Array.isArray(e.arms)) {
      if (!arms.includes('control')) out.push([[i, 'arms'], 'name one arm "control" (the baseline the others are compared with)']);
      if (new Set(arms).size !== arms.length) out.push([[i, 'arms'], 'arms must be different variant names']);
    }
    if (isObj(e.allocation) && arms.length > 0) {
      for (const k of Object.keys(e.allocation)) if (!arms.includes(k)) out.push([[i, 'allocation', k], `no arm named "${k}" (arms: ${arms.join(', ')})`]);
      for (const a of arms) if (!(a in e.allocation)) out.push([[i, 'allocation'], `give arm "${a}" a share too, or leave allocation out for equal shares`]);
    }
    const t0 = typeof e.start === 'string' ? Date.parse(e.start) : typeof e.start === 'number' ? e.start : e.start instanceof Date ? e.start.getTime() : NaN;
    const t1 = typeof e.end === 'string' ? Date.parse(e.end) : typeof e.end === 'number' ? e.end : e.end instanceof Date ? e.end.getTime() : NaN;
    if (Number.isFinite(t0) && Number.isFinite(t1) && t1 <= t0) out.push([[i, 'end'], 'is not after start']);
    if (e.cuped !== undefined && e.start === undefined) out.push([[i, 'cuped'], 'CUPED needs a start: the pre-period is the time before it']);
    const names = new Map<string, string>();
    for (const block of ['metrics', 'guardrails'] as const) {
      const list = e[block];
      if (!Array.isArray(list)) continue;
      list.forEach((m: unknown, j: number) => {
        if (!isObj(m)) return;
        if (typeof m.name === 'string') {
          const prev = names.get(m.name);
          if (prev) out.push([[i, block, j, 'name'], `"${m.name}" is already ${prev}; metric names must be unique within an experiment`]);
          else names.set(m.name, `${block}[${j}]`);
        }
        for (const [p, msg] of checkMetric(m)) out.push([[i, block, j, ...p], msg]);
      });
    }
    if (!Array.isArray(e.metrics) && !Array.isArray(e.guardrails)) out.push([[i], 'declare at least one metric under metrics: (or guardrails:)']);
  });
  return out;
}

function checkMetric(m: Record<string, unknown>): [PropertyKey[], string][] {
  const out: [PropertyKey[], string][] = [];
  if (m.type === 'ratio') {
    if (m.numerator === undefined) out.push([['numerator'], 'a ratio metric needs a numerator: { field, filters }']);
    if (m.denominator === undefined) out.push([['denominator'], 'a ratio metric needs a denominator: { field, filters } (without field, events are counted)']);
    for (const k of ['filters', 'field']) if (m[k] !== undefined) out.push([[k], `a ratio metric takes ${k} inside numerator and denominator`]);
  } else if (m.type === 'conversion' || m.type === 'mean') {
    for (const k of ['numerator', 'denominator']) if (m[k] !== undefined) out.push([[k], `only ratio metrics have a ${k}; use filters${m.type === 'mean' ? ' and field' : ''}`]);
    if (m.type === 'conversion' && m.field !== undefined) out.push([['field'], 'a conversion counts units with a matching event; use type: mean to sum a field']);
  }
  return out;
}
