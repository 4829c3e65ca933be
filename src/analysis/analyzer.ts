import type { SequentialCanaryState } from '../stats/index.ts';
import { calculation, canaryOnlyErrors, sequentialData, versionData } from './events-source.ts';
import type { EventsLike, VersionData } from './events-source.ts';
import { judgeRun, sequentialJudgement } from './judge.ts';
import type { JudgeInput, JudgeSettings } from './judge.ts';
import { fillTemplate, queryPrometheus, webhookMetric } from './remote-sources.ts';
import type { AnalysisRun } from './types.ts';

/** One analysis run to perform. */
export interface AnalysisRequest {
  runId: string;
  rolloutId: string;
  service: string;
  step: number;
  baseline: string;
  canary: string;
  from: number;
  to: number;
  traffic: 'live' | 'test';
  canaryShare: number;
  /** The run that would complete the step: the fixed-horizon comparison runs only then. */
  final?: boolean;
  settings: JudgeSettings;
  sequential: SequentialCanaryState;
}

export interface Analyzer {
  /** Measures and judges; never throws (a failing source makes the run's phase Error). */
  run(req: AnalysisRequest): Promise<{ run: AnalysisRun; sequential: SequentialCanaryState }>;
  /**
   * The watch between runs: only the anytime-valid sequential test, on events already committed (no
   * flush). Returns a Failed run when the test fails the canary, otherwise null; never throws. Being
   * anytime-valid, checking it every second costs no false alarms.
   */
  watch?(req: Omit<AnalysisRequest, 'final'>): Promise<{ run: AnalysisRun; sequential: SequentialCanaryState } | null>;
}

const EMPTY: VersionData = {
  requests: 0, errors: 0, successRate: null, percentiles: {}, logLatency: { n: 0, mean: 0, variance: 0 },
  durations: [], errorRateSeries: [], errorsByPath: {},
};

/**
 * The analysis runner: reads the event store (live traffic only for a canary), Prometheus and
 * webhook metrics, then judges with `judgeRun`. Without an event store every run is Inconclusive.
 *
 * @example
 *   const analyzer = createAnalyzer({ events: () => ctx.get<EventStore>('events') });
 *   const { run } = await analyzer.run(request);
 */
export function createAnalyzer(o: { events: () => EventsLike | undefined }): Analyzer {
  return {
    async run(req) {
      const store = o.events();
      const external: JudgeInput['external'] = {};
      let canary = EMPTY;
      let baseline: VersionData | undefined;
      let newErrors: JudgeInput['newErrors'] = [];
      const problems: string[] = [];
      const win = (version: string) => ({ service: req.service, version, from: req.from, to: req.to, traffic: req.traffic });
      const bucketMs = Math.max(1000, (req.to - req.from) / 30);
      if (store) {
        try {
          await store.flush();
          canary = await versionData(store, win(req.canary), bucketMs);
          if (req.traffic === 'live') baseline = await versionData(store, win(req.baseline), bucketMs);
          if (req.settings.newErrors === 'fail') newErrors = await canaryOnlyErrors(store, { service: req.service, canary: req.canary, baseline: req.baseline, since: req.from, traffic: req.traffic });
        } catch (e) {
          problems.push(`event store: ${(e as Error).message}`);
        }
      } else {
        problems.push('no event store is running, so there is no data');
      }
      const interval = `${Math.max(1, Math.round((req.to - req.from) / 1000))}s`;
      for (const m of req.settings.metrics) {
        if (m.builtin) continue;
        try {
          if (m.query) {
            if (!store) throw new Error('no event store');
            external[m.name] = {
              canary: await calculation(store, win(req.canary), m.query.calculation, m.query.filters),
              baseline: req.traffic === 'live' ? await calculation(store, win(req.baseline), m.query.calculation, m.query.filters) : undefined,
            };
          } else if (m.prometheus) {
            const vars = { service: req.service, version: req.canary, baseline: req.baseline, interval };
            external[m.name] = { canary: await queryPrometheus(m.prometheus.address, fillTemplate(m.prometheus.query, vars), req.to) };
          } else if (m.webhook) {
            external[m.name] = { canary: await webhookMetric(m.webhook.url, { metric: m.name, service: req.service, canary: req.canary, baseline: req.baseline, from: req.from, to: req.to }, m.webhook.timeout) };
          }
        } catch (e) {
          external[m.name] = { canary: null, error: (e as Error).message };
        }
      }
      const v = judgeRun({ traffic: req.traffic, canaryShare: req.canaryShare, compare: req.final ?? true, canary, baseline, external, newErrors, sequential: req.sequential }, req.settings);
      const run: AnalysisRun = {
        id: req.runId, rolloutId: req.rolloutId, service: req.service, step: req.step, baseline: req.baseline, canary: req.canary,
        traffic: req.traffic, window: { from: req.from, to: req.to },
        phase: problems.length && v.phase !== 'Failed' ? (store ? 'Error' : 'Inconclusive') : v.phase,
        summary: problems.length && v.phase !== 'Failed' ? problems[0] : v.summary,
        reasons: [...problems, ...v.reasons], samples: v.samples, metrics: v.metrics, judge: v.judge, sequential: v.sequential, newErrors: v.newErrors,
      };
      return { run, sequential: v.sequentialState };
    },

    async watch(req) {
      const store = o.events();
      const seq = req.settings.sequential;
      if (!store || !seq || req.traffic !== 'live') return null;
      try {
        const win = (version: string) => ({ service: req.service, version, from: req.from, to: req.to, traffic: req.traffic });
        const [canary, baseline] = [await sequentialData(store, win(req.canary)), await sequentialData(store, win(req.baseline))];
        const s = sequentialJudgement(canary, baseline, req.canaryShare, seq, req.sequential);
        if (!s || s.decision !== 'fail') return null;
        const summary = `sequential test: ${s.reasons.join('; ')}`;
        const run: AnalysisRun = {
          id: req.runId, rolloutId: req.rolloutId, service: req.service, step: req.step, baseline: req.baseline, canary: req.canary,
          traffic: req.traffic, window: { from: req.from, to: req.to }, phase: 'Failed', summary, reasons: [summary],
          samples: { baseline: baseline.requests, canary: canary.requests }, metrics: [], sequential: s.outcome, newErrors: [],
        };
        return { run, sequential: s.state };
      } catch {
        return null; // the next regular run reports a failing store
      }
    },
  };
}
