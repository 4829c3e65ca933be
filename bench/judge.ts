/**
 * Canary-judge quality benchmark: false alarms under continuous monitoring, and how many requests a bad
 * canary needs before it is failed, for Weir's sequential judge against a Kayenta-style Mann–Whitney
 * judge (`judgeCanary`, 98 % interval, tolerance 0.25), in two ways:
 *
 *   1. Continuous monitoring, both judges at the same 10-second cadence: the Kayenta-style judge re-run
 *      on the cumulative series at every interval from the third (as it is used in practice), Weir's
 *      sequential judge at every interval. Shows the false alarms a fixed-horizon test accrues when it is
 *      looked at repeatedly.
 *   2. The fixed horizon the Kayenta-style judge needs, used as designed (one look at a sample size
 *      planned in advance): the smallest number of requests per arm at which a single look fails 95 % of
 *      the bad canaries (95 % power), found by bisection on the same simulated canaries. Next to it, the
 *      median requests per arm Weir's sequential judge needs when checked every 10 s and every 1 s (it is
 *      anytime-valid: checking more often costs no false alarms), and its 95th percentile. The issue's
 *      target is Weir's median ≤ 0.5× this horizon.
 *
 *   ./node_modules/.bin/node bench/judge.ts            # full run (about 90 s)
 *   BENCH_SCALE=0.2 ./node_modules/.bin/node bench/judge.ts   # quicker, noisier
 *
 * Simulation (seeded): each arm gets Poisson(20) requests per second, spread evenly over 10 routes.
 * Baseline: 1 % errors, latency log-normal with median 100 ms and σ = 0.5 (p99 ≈ 320 ms). Scenarios:
 * A/A; canary error rate ×2; canary latency +30 %; a new error on one endpoint (the canary's route-0
 * requests fail an extra 5 % of the time: +0.5 points overall).
 *
 * The Kayenta-style judge sees what a metrics backend gives Kayenta: per-interval series of error rate
 * and mean latency (two groups of equal weight, Fail below 75). For latency it is also measured on
 * per-request latencies (the latency metric alone), the most it could get out of the same data.
 */
import { createRandom } from '../src/stats/random.ts';
import type { Random } from '../src/stats/random.ts';
import { INITIAL_SEQUENTIAL_STATE, judgeSequentialCanary } from '../src/stats/sequential-judge.ts';
import type { SequentialCanaryState } from '../src/stats/sequential-judge.ts';
import { judgeCanary } from '../src/stats/kayenta-judge.ts';
import type { MetricInput } from '../src/stats/kayenta-types.ts';

const RATE = 20;
const INTERVAL_SECONDS = 10;
/** Continuous monitoring lasts 10 minutes. */
const MONITOR_INTERVALS = 60;
/** The fixed horizon is searched up to 20 minutes of traffic. */
const HORIZON_INTERVALS = 120;
/** Per-request latencies kept per arm for the per-request Kayenta variant. */
const KEEP_LATENCIES = 1500;
const LOG_MEDIAN = Math.log(100);
const LOG_SIGMA = 0.5;
const BASE_ERROR_RATE = 0.01;
const POWER = 0.95;
const ENDPOINTS = 10;
const KAYENTA = { passThreshold: 95, marginalThreshold: 75, confidenceLevel: 0.98 } as const;
/** Kayenta-style re-run at every interval needs three points for a non-degenerate interval. */
const KAYENTA_FIRST_INTERVAL = 3;
const SCALE = Number(process.env.BENCH_SCALE ?? 1);

interface Scenario {
  name: string;
  runs: number;
  latencyFactor: number;
  /** Extra failure probability on route 0, canary only. */
  endpointError: number;
  errorRate: number;
}

const SCENARIOS: Scenario[] = [
  { name: 'A/A (false alarms)', runs: 2000, latencyFactor: 1, endpointError: 0, errorRate: BASE_ERROR_RATE },
  { name: 'error rate ×2', runs: 300, latencyFactor: 1, endpointError: 0, errorRate: 2 * BASE_ERROR_RATE },
  { name: 'latency +30%', runs: 300, latencyFactor: 1.3, endpointError: 0, errorRate: BASE_ERROR_RATE },
  { name: 'new error on one endpoint', runs: 300, latencyFactor: 1, endpointError: 0.05, errorRate: BASE_ERROR_RATE },
];

/** One arm's traffic, second by second. */
interface Arm {
  /** Cumulative counts after each second. */
  requests: Int32Array;
  errors: Int32Array;
  sumLog: Float64Array;
  sumLogSq: Float64Array;
  /** Cumulative errors per route after each second, [second * ENDPOINTS + route]. */
  errorsByEndpoint: Int32Array;
  /** Per-interval error rate and mean latency (the Kayenta series). */
  intervalRate: number[];
  intervalMeanLatency: number[];
  latencies: number[];
}

function simulateArm(rng: Random, seconds: number, errorRate: number, latencyFactor: number, endpointError: number): Arm {
  const arm: Arm = {
    requests: new Int32Array(seconds),
    errors: new Int32Array(seconds),
    sumLog: new Float64Array(seconds),
    sumLogSq: new Float64Array(seconds),
    errorsByEndpoint: new Int32Array(seconds * ENDPOINTS),
    intervalRate: [],
    intervalMeanLatency: [],
    latencies: [],
  };
  const logShift = Math.log(latencyFactor);
  const byEndpoint = new Int32Array(ENDPOINTS);
  let requests = 0;
  let errors = 0;
  let sumLog = 0;
  let sumLogSq = 0;
  let intervalRequests = 0;
  let intervalErrors = 0;
  let intervalLatency = 0;
  for (let s = 0; s < seconds; s++) {
    const n = rng.poisson(RATE);
    for (let i = 0; i < n; i++) {
      const logLatency = LOG_MEDIAN + logShift + LOG_SIGMA * rng.normal();
      const latency = Math.exp(logLatency);
      if (arm.latencies.length < KEEP_LATENCIES) arm.latencies.push(latency);
      intervalLatency += latency;
      sumLog += logLatency;
      sumLogSq += logLatency * logLatency;
      const endpoint = Math.floor(rng.uniform() * ENDPOINTS);
      let failed = rng.uniform() < errorRate;
      if (!failed && endpoint === 0 && endpointError > 0) failed = rng.uniform() < endpointError;
      if (failed) {
        errors += 1;
        intervalErrors += 1;
        byEndpoint[endpoint] += 1;
      }
    }
    requests += n;
    intervalRequests += n;
    arm.requests[s] = requests;
    arm.errors[s] = errors;
    arm.sumLog[s] = sumLog;
    arm.sumLogSq[s] = sumLogSq;
    arm.errorsByEndpoint.set(byEndpoint, s * ENDPOINTS);
    if ((s + 1) % INTERVAL_SECONDS === 0) {
      arm.intervalRate.push(intervalRequests > 0 ? intervalErrors / intervalRequests : Number.NaN);
      arm.intervalMeanLatency.push(intervalRequests > 0 ? intervalLatency / intervalRequests : Number.NaN);
      intervalRequests = 0;
      intervalErrors = 0;
      intervalLatency = 0;
    }
  }
  return arm;
}

interface Canary {
  baseline: Arm;
  canary: Arm;
}

function simulateCanary(seed: number, s: Scenario): Canary {
  const rng = createRandom(seed);
  const seconds = HORIZON_INTERVALS * INTERVAL_SECONDS;
  return {
    baseline: simulateArm(rng, seconds, BASE_ERROR_RATE, 1, 0),
    canary: simulateArm(rng, seconds, s.errorRate, s.latencyFactor, s.endpointError),
  };
}

function logSummary(arm: Arm, s: number): { n: number; mean: number; variance: number } {
  const n = arm.requests[s];
  const mean = arm.sumLog[s] / n;
  return { n, mean, variance: (arm.sumLogSq[s] - n * mean * mean) / (n - 1) };
}

/**
 * Weir's sequential judge checked every `every` seconds for the first 10 minutes; canary requests when
 * it failed the canary, or null.
 */
function weirDetection(c: Canary, every: number): number | null {
  let state: SequentialCanaryState = INITIAL_SEQUENTIAL_STATE;
  for (let s = every - 1; s < MONITOR_INTERVALS * INTERVAL_SECONDS; s += every) {
    const b = c.baseline;
    const k = c.canary;
    if (b.requests[s] < 2 || k.requests[s] < 2) continue;
    const r = judgeSequentialCanary(
      {
        requests: { baseline: b.requests[s], canary: k.requests[s] },
        errors: { baseline: b.errors[s], canary: k.errors[s] },
        logLatency: { baseline: logSummary(b, s), canary: logSummary(k, s) },
        errorsByKey: Array.from({ length: ENDPOINTS }, (_, e) => ({
          key: `route-${e}`,
          baseline: b.errorsByEndpoint[s * ENDPOINTS + e],
          canary: k.errorsByEndpoint[s * ENDPOINTS + e],
        })),
      },
      { canaryShare: 0.5, alpha: 0.01, keyCount: ENDPOINTS },
      state,
    );
    state = r.state;
    if (r.decision === 'fail') return k.requests[s];
  }
  return null;
}

function kayentaSeriesFails(c: Canary, intervals: number): boolean {
  const metrics: MetricInput[] = [
    { name: 'error rate', control: c.baseline.intervalRate.slice(0, intervals), experiment: c.canary.intervalRate.slice(0, intervals), direction: 'increase', groups: ['errors'] },
    { name: 'mean latency', control: c.baseline.intervalMeanLatency.slice(0, intervals), experiment: c.canary.intervalMeanLatency.slice(0, intervals), direction: 'increase', groups: ['latency'] },
  ];
  return judgeCanary(metrics, KAYENTA).summary.verdict === 'Fail';
}

function kayentaLatencyFails(c: Canary, requests: number): boolean {
  const metrics: MetricInput[] = [
    { name: 'latency', control: c.baseline.latencies.slice(0, requests), experiment: c.canary.latencies.slice(0, requests), direction: 'increase', groups: ['latency'] },
  ];
  return judgeCanary(metrics, KAYENTA).summary.verdict === 'Fail';
}

/** Kayenta-style re-run at every interval: canary requests when it first failed, or null. */
function kayentaRerunDetection(c: Canary): number | null {
  for (let i = KAYENTA_FIRST_INTERVAL; i <= MONITOR_INTERVALS; i++) {
    if (kayentaSeriesFails(c, i)) return c.canary.requests[i * INTERVAL_SECONDS - 1];
  }
  return null;
}

/** Smallest n in [lo, hi] at which `fails` holds for ≥ POWER of the canaries (bisection), or null. */
function fixedHorizon(canaries: Canary[], lo: number, hi: number, fails: (c: Canary, n: number) => boolean): number | null {
  const power = (n: number) => canaries.filter((c) => fails(c, n)).length / canaries.length;
  if (power(hi) < POWER) return null;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (power(mid) >= POWER) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

const fmt = (v: number | null): string => (v === null || !Number.isFinite(v) ? 'not within 10 min' : String(Math.round(v)));
const rate = (values: (number | null)[]): number => values.filter((v) => v !== null).length / values.length;
const asNumbers = (values: (number | null)[]): number[] => values.map((v) => v ?? Number.POSITIVE_INFINITY);

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
}

interface ScenarioResult {
  scenario: Scenario;
  runs: number;
  weir10: (number | null)[];
  weir1: (number | null)[];
  kayentaRerun: (number | null)[];
  /** Requests per arm of the fixed horizon (95 % power), or null when beyond 20 minutes. */
  horizonSeries: number | null;
  horizonPerRequest: number | null;
}

function main(): void {
  const started = performance.now();
  const results: ScenarioResult[] = [];
  let seed = 1;
  const aa: Canary[] = [];
  for (const s of SCENARIOS) {
    const runs = Math.max(20, Math.round(s.runs * SCALE));
    const canaries: Canary[] = [];
    const r: ScenarioResult = { scenario: s, runs, weir10: [], weir1: [], kayentaRerun: [], horizonSeries: null, horizonPerRequest: null };
    for (let i = 0; i < runs; i++) {
      const c = simulateCanary(seed++, s);
      r.weir10.push(weirDetection(c, INTERVAL_SECONDS));
      r.weir1.push(weirDetection(c, 1));
      r.kayentaRerun.push(kayentaRerunDetection(c));
      if (s.latencyFactor === 1 && s.errorRate === BASE_ERROR_RATE && s.endpointError === 0) {
        // A/A: keep a few hundred for the single-look false-alarm rate at each horizon.
        if (aa.length < 500) aa.push(c);
      } else {
        canaries.push(c);
      }
    }
    if (canaries.length) {
      // Expected requests per interval per arm: RATE × INTERVAL_SECONDS.
      const perInterval = RATE * INTERVAL_SECONDS;
      const n = fixedHorizon(canaries, KAYENTA_FIRST_INTERVAL, HORIZON_INTERVALS, kayentaSeriesFails);
      r.horizonSeries = n === null ? null : n * perInterval;
      if (s.latencyFactor !== 1) r.horizonPerRequest = fixedHorizon(canaries, 10, KEEP_LATENCIES, kayentaLatencyFails);
    }
    results.push(r);
    process.stderr.write(`${s.name}: ${runs} runs (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
  }

  console.log(
    `canary judge benchmark: ${RATE} req/s per arm, ${ENDPOINTS} routes, 1% baseline errors, log-normal latency (median 100 ms, σ 0.5)`,
  );
  console.log('\n1. Continuous monitoring for 10 minutes (share of canaries failed; median canary requests until failed)\n');
  const rows: string[][] = [];
  for (const r of results) {
    const cells = [
      ['Weir sequential, checked every 10 s', r.weir10],
      ['Weir sequential, checked every 1 s', r.weir1],
      ['Kayenta-style re-run every 10 s', r.kayentaRerun],
    ] as const;
    cells.forEach(([label, values], j) => {
      rows.push([j === 0 ? r.scenario.name : '', j === 0 ? String(r.runs) : '', label, `${(100 * rate(values)).toFixed(1)}%`, fmt(quantile(asNumbers(values), 0.5))]);
    });
  }
  printTable(['scenario', 'runs', 'judge', 'failed', 'median requests/arm'], rows);

  const aaResult = results[0];
  const se = Math.sqrt((0.01 * 0.99) / aaResult.runs);
  console.log(
    `\nfalse alarms (A/A): Weir ${(100 * rate(aaResult.weir10)).toFixed(2)}% checked every 10 s, ${(100 * rate(aaResult.weir1)).toFixed(2)}% every 1 s ` +
      `(target ≤ 1%: ${Math.max(rate(aaResult.weir10), rate(aaResult.weir1)) <= 0.01 ? 'met' : 'NOT met'}; Monte Carlo SE at 1% ≈ ${(100 * se).toFixed(2)} pts); ` +
      `Kayenta-style re-run every 10 s: ${(100 * rate(aaResult.kayentaRerun)).toFixed(2)}%`,
  );

  console.log(`\n2. Against the fixed horizon a Kayenta-style judge needs (one look, ${100 * POWER}% power)\n`);
  const fixedRows: string[][] = [];
  const verdicts: string[] = [];
  for (const r of results.slice(1)) {
    const weir1 = asNumbers(r.weir1);
    const weir10 = asNumbers(r.weir10);
    const horizons = [
      ['per-interval series', r.horizonSeries],
      ...(r.horizonPerRequest !== null || r.scenario.latencyFactor !== 1 ? [['per-request latencies', r.horizonPerRequest] as const] : []),
    ] as const;
    horizons.forEach(([label, horizon], j) => {
      const ratio = (v: number) => (horizon === null ? `< ${(v / (HORIZON_INTERVALS * RATE * INTERVAL_SECONDS)).toFixed(2)}` : (v / horizon).toFixed(2));
      const falseAlarms = label === 'per-interval series' && horizon !== null
        ? `${(100 * aa.filter((c) => kayentaSeriesFails(c, horizon / (RATE * INTERVAL_SECONDS))).length / aa.length).toFixed(1)}%`
        : label === 'per-request latencies' && horizon !== null
          ? `${(100 * aa.filter((c) => kayentaLatencyFails(c, horizon)).length / aa.length).toFixed(1)}%`
          : '–';
      const m10 = quantile(weir10, 0.5);
      const m1 = quantile(weir1, 0.5);
      const p95 = quantile(weir1, 0.95);
      fixedRows.push([
        j === 0 ? r.scenario.name : '',
        label,
        horizon === null ? `> ${HORIZON_INTERVALS * RATE * INTERVAL_SECONDS}` : String(horizon),
        falseAlarms,
        j === 0 ? fmt(m10) : '',
        j === 0 ? fmt(m1) : '',
        j === 0 ? fmt(p95) : '',
        `${ratio(m10)} / ${ratio(m1)} / ${ratio(p95)}`,
      ]);
      const best = Math.min(m10, m1);
      if (Number.isFinite(best)) {
        const value = horizon === null ? 0 : best / horizon;
        verdicts.push(`${r.scenario.name} vs ${label}: Weir median ${horizon === null ? ratio(best) : value.toFixed(2)}× the fixed horizon (≤ 0.5×: ${value <= 0.5 ? 'met' : 'not met'})`);
      }
    });
  }
  printTable(
    ['scenario', 'Kayenta-style on', 'fixed horizon, requests/arm', 'its single-look A/A rate', 'Weir median (10 s)', 'Weir median (1 s)', 'Weir p95 (1 s)', 'Weir ÷ horizon: median 10 s / 1 s / p95'],
    fixedRows,
  );
  console.log('');
  for (const v of verdicts) console.log(v);
  console.log(`\n(${((performance.now() - started) / 1000).toFixed(1)} s)`);
}

main();
