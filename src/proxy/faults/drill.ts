import { z } from 'zod';
import { durationMs } from '../zod-units.ts';
import { faultRuleSchema } from './config.ts';

/**
 * Drills: a fault scenario applied for a set time, watched, and stopped on its own — at the end, when
 * a stop condition trips, or when the proxy's error budget stopped the faults. The decisions and the
 * report are pure data; `weir drill run` does the I/O.
 *
 * ```yaml
 * name: checkout-latency
 * service: shop
 * duration: 10m
 * interval: 5s
 * faults:
 *   - { name: slow-pay, scope: everyone, percent: 5, match: { pathPrefix: /pay }, delay: { fixed: 400ms } }
 * stop: { maxErrorRate: 0.02, minRequests: 100 }
 * ```
 */
export const drillSchema = z.strictObject({
  name: z.string().min(1).optional(),
  service: z.string().min(1),
  /** How long the faults stay on. */
  duration: durationMs,
  /** How often the service is watched. Default 5 s. */
  interval: durationMs.optional(),
  faults: z.array(faultRuleSchema).min(1, { message: 'a drill needs at least one fault rule' }),
  stop: z.strictObject({
    /** Stop when the share of 5xx answers during the drill passes this (0..1). */
    maxErrorRate: z.number().gt(0).max(1).optional(),
    /** No stop by error rate before this many requests during the drill. Default 20. */
    minRequests: z.number().int().positive().optional(),
  }).optional(),
});

export type DrillSpec = z.output<typeof drillSchema>;

/** What one look at the service showed (cumulative counters from the API). */
export interface DrillSample {
  at: number;
  requests: number;
  errors: number;
  injected: number;
  /** The proxy stopped the faults (error budget), with its reason. */
  autoStopped: string | null;
}

export type DrillDecision = { done: false } | { done: true; outcome: 'completed' | 'stopped'; reason: string };

/**
 * Whether the drill ends now, and why. Pure: the samples and the clock are passed in.
 * @example drillDecision(spec, first, latest, first.at + spec.duration) // → { done: true, outcome: 'completed', … }
 */
export function drillDecision(spec: DrillSpec, first: DrillSample, latest: DrillSample, now: number): DrillDecision {
  if (latest.autoStopped !== null) return { done: true, outcome: 'stopped', reason: `the proxy stopped the faults: ${latest.autoStopped}` };
  const requests = latest.requests - first.requests;
  const errors = latest.errors - first.errors;
  const stop = spec.stop;
  if (stop?.maxErrorRate !== undefined && requests >= (stop.minRequests ?? 20) && errors / requests > stop.maxErrorRate) {
    return { done: true, outcome: 'stopped', reason: `error rate ${(100 * errors / requests).toFixed(2)}% over ${requests} requests is above the stop condition ${(stop.maxErrorRate * 100).toFixed(2)}%` };
  }
  if (now - first.at >= spec.duration) return { done: true, outcome: 'completed', reason: `ran for the full ${spec.duration} ms` };
  return { done: false };
}

/** A drill's report: stored in the audit log with the faults' removal, and printed. */
export interface DrillReport {
  drill: string;
  service: string;
  outcome: 'completed' | 'stopped' | 'aborted' | 'failed';
  reason: string;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  faults: unknown[];
  requests: number;
  errors: number;
  errorRate: number;
  injected: number;
  samples: Array<{ atMs: number; requests: number; errors: number; injected: number }>;
}

/**
 * The report of a drill from its samples.
 * @example drillReport(spec, samples, 'completed', 'ran for the full 60000 ms')
 */
export function drillReport(spec: DrillSpec, samples: readonly DrillSample[], outcome: DrillReport['outcome'], reason: string): DrillReport {
  const first = samples[0];
  const last = samples[samples.length - 1];
  const requests = last.requests - first.requests;
  const errors = last.errors - first.errors;
  return {
    drill: spec.name ?? `${spec.service}-drill`,
    service: spec.service,
    outcome,
    reason,
    startedAt: new Date(first.at).toISOString(),
    endedAt: new Date(last.at).toISOString(),
    durationMs: last.at - first.at,
    faults: spec.faults,
    requests,
    errors,
    errorRate: requests > 0 ? Math.round((errors / requests) * 1e6) / 1e6 : 0,
    injected: last.injected - first.injected,
    samples: samples.map((s) => ({ atMs: s.at - first.at, requests: s.requests - first.requests, errors: s.errors - first.errors, injected: s.injected - first.injected })),
  };
}

/** The report as a few lines of text. */
export function formatDrillReport(r: DrillReport): string {
  return `drill ${r.drill} on ${r.service}: ${r.outcome.toUpperCase()} — ${r.reason}
  ${r.startedAt} → ${r.endedAt} (${(r.durationMs / 1000).toFixed(1)} s)
  requests ${r.requests}, 5xx ${r.errors} (${(r.errorRate * 100).toFixed(2)}%), faults injected ${r.injected}
  rules: ${r.faults.map((f) => (f as { name?: string }).name ?? '(unnamed)').join(', ')}
`;
}
