/**
 * Canary-judge quality benchmark: false alarms under continuous monitoring, and how many requests a bad
 * canary needs before it is failed, for Weir's sequential judge against a Kayenta-style fixed-horizon
 * Mann–Whitney judge re-run at every interval over the cumulative data (as it is used in practice).
 *
 *   ./node_modules/.bin/node bench/judge.ts            # full run (about a minute or two)
 *   BENCH_SCALE=0.2 ./node_modules/.bin/node bench/judge.ts   # quicker, noisier
 *
 * Simulation (seeded): each arm gets Poisson(20 req/s × 10 s) requests per 10-second interval for
 * 10 minutes (60 intervals), spread evenly over 10 routes. Baseline: 1 % errors, latency log-normal
 * with median 100 ms and σ = 0.5 (p99 ≈ 320 ms). Scenarios: A/A; canary error rate ×2; canary latency
 * +30 %; a new error on one endpoint (the canary's route-0 requests fail an extra 5 % of the time:
 * +0.5 points overall).
 *
 * Weir: judgeSequentialCanary at every interval on cumulative counts, per-route error counts and
 * ln-latency moments (alpha = 0.01 overall, 10 routes declared). Kayenta-style: judgeCanary (Mann–Whitney, 98 % interval, tolerance 0.25) on
 * the per-interval series of error rate and mean latency, two groups of equal weight, Fail below 75,
 * re-run at every interval from the third on (a Mann–Whitney interval on fewer points is degenerate).
 */
import { createRandom } from '../src/stats/random.ts';
import type { Random } from '../src/stats/random.ts';
import { INITIAL_SEQUENTIAL_STATE, judgeSequentialCanary } from '../src/stats/sequential-judge.ts';
import type { SequentialCanaryState } from '../src/stats/sequential-judge.ts';
import { judgeCanary } from '../src/stats/kayenta-judge.ts';

const INTERVALS = 60;
const REQUESTS_PER_INTERVAL = 200;
const LOG_MEDIAN = Math.log(100);
const LOG_SIGMA = 0.5;
const BASE_ERROR_RATE = 0.01;
/**
 * Kayenta-style judges compared: its defaults re-run from the third interval (the fewest points on
 * which its interval is not degenerate), and a stricter variant whose false-alarm rate under the same
 * monitoring comes out near Weir's, to compare detection at equal false alarms.
 */
const KAYENTA_VARIANTS = [
  { label: 'Kayenta-style, 98 % (default), from 30 s', confidenceLevel: 0.98, minIntervals: 3 },
  { label: 'Kayenta-style, 99.9 %, from 60 s', confidenceLevel: 0.999, minIntervals: 6 },
] as const;
const SCALE = Number(process.env.BENCH_SCALE ?? 1);

interface Scenario {
  name: string;
  runs: number;
  latencyFactor: number;
  /** Extra failure probability on the special endpoint, canary only. */
  endpointError: number;
  errorRate: number;
}

const SCENARIOS: Scenario[] = [
  { name: 'A/A (false alarms)', runs: 2000, latencyFactor: 1, endpointError: 0, errorRate: BASE_ERROR_RATE },
  { name: 'error rate ×2', runs: 300, latencyFactor: 1, endpointError: 0, errorRate: 2 * BASE_ERROR_RATE },
  { name: 'latency +30%', runs: 300, latencyFactor: 1.3, endpointError: 0, errorRate: BASE_ERROR_RATE },
  { name: 'new error on one endpoint', runs: 300, latencyFactor: 1, endpointError: 0.05, errorRate: BASE_ERROR_RATE },
];
/** The service has ENDPOINTS routes with equal traffic; the new error, if any, is on route 0. */
const ENDPOINTS = 10;

interface IntervalData {
  requests: number;
  errors: number;
  errorsByEndpoint: number[];
  meanLatency: number;
  sumLog: number;
  sumLogSq: number;
}

function simulateInterval(rng: Random, errorRate: number, latencyFactor: number, endpointError: number): IntervalData {
  const requests = rng.poisson(REQUESTS_PER_INTERVAL);
  let errors = 0;
  const errorsByEndpoint = new Array<number>(ENDPOINTS).fill(0);
  let sumLatency = 0;
  let sumLog = 0;
  let sumLogSq = 0;
  const logShift = Math.log(latencyFactor);
  for (let i = 0; i < requests; i++) {
    const logLatency = LOG_MEDIAN + logShift + LOG_SIGMA * rng.normal();
    sumLatency += Math.exp(logLatency);
    sumLog += logLatency;
    sumLogSq += logLatency * logLatency;
    const endpoint = Math.floor(rng.uniform() * ENDPOINTS);
    let failed = rng.uniform() < errorRate;
    if (!failed && endpoint === 0 && endpointError > 0) failed = rng.uniform() < endpointError;
    if (failed) {
      errors += 1;
      errorsByEndpoint[endpoint] += 1;
    }
  }
  return { requests, errors, errorsByEndpoint, meanLatency: requests > 0 ? sumLatency / requests : Number.NaN, sumLog, sumLogSq };
}

interface Cumulative {
  requests: number;
  errors: number;
  errorsByEndpoint: number[];
  sumLog: number;
  sumLogSq: number;
}

function summaryOf(c: Cumulative): { n: number; mean: number; variance: number } {
  const mean = c.sumLog / c.requests;
  const variance = (c.sumLogSq - c.requests * mean * mean) / (c.requests - 1);
  return { n: c.requests, mean, variance };
}

interface RunResult {
  /** Canary requests when the judge failed the canary, or null if it never did. */
  weir: number | null;
  /** Same, per entry of KAYENTA_VARIANTS. */
  kayenta: (number | null)[];
}

function runCanary(rng: Random, s: Scenario): RunResult {
  const empty = (): Cumulative => ({ requests: 0, errors: 0, errorsByEndpoint: new Array<number>(ENDPOINTS).fill(0), sumLog: 0, sumLogSq: 0 });
  const base = empty();
  const canary = empty();
  const series = { ctlRate: [] as number[], expRate: [] as number[], ctlLatency: [] as number[], expLatency: [] as number[] };
  let state: SequentialCanaryState = INITIAL_SEQUENTIAL_STATE;
  let weir: number | null = null;
  const kayenta: (number | null)[] = KAYENTA_VARIANTS.map(() => null);
  for (let i = 1; i <= INTERVALS && (weir === null || kayenta.some((k) => k === null)); i++) {
    const b = simulateInterval(rng, BASE_ERROR_RATE, 1, 0);
    const c = simulateInterval(rng, s.errorRate, s.latencyFactor, s.endpointError);
    for (const [acc, d] of [[base, b], [canary, c]] as const) {
      acc.requests += d.requests;
      acc.errors += d.errors;
      acc.sumLog += d.sumLog;
      acc.sumLogSq += d.sumLogSq;
      d.errorsByEndpoint.forEach((e, k) => (acc.errorsByEndpoint[k] += e));
    }
    series.ctlRate.push(b.errors / b.requests);
    series.expRate.push(c.errors / c.requests);
    series.ctlLatency.push(b.meanLatency);
    series.expLatency.push(c.meanLatency);

    if (weir === null) {
      const r = judgeSequentialCanary(
        {
          requests: { baseline: base.requests, canary: canary.requests },
          errors: { baseline: base.errors, canary: canary.errors },
          logLatency: { baseline: summaryOf(base), canary: summaryOf(canary) },
          errorsByKey: base.errorsByEndpoint.map((e, k) => ({ key: `route-${k}`, baseline: e, canary: canary.errorsByEndpoint[k] })),
        },
        { canaryShare: 0.5, alpha: 0.01, keyCount: ENDPOINTS },
        state,
      );
      state = r.state;
      if (r.decision === 'fail') weir = canary.requests;
    }
    KAYENTA_VARIANTS.forEach((v, k) => {
      if (kayenta[k] !== null || i < v.minIntervals) return;
      const r = judgeCanary(
        [
          { name: 'error rate', control: series.ctlRate, experiment: series.expRate, direction: 'increase', groups: ['errors'] },
          { name: 'mean latency', control: series.ctlLatency, experiment: series.expLatency, direction: 'increase', groups: ['latency'] },
        ],
        { passThreshold: 95, marginalThreshold: 75, confidenceLevel: v.confidenceLevel },
      );
      if (r.summary.verdict === 'Fail') kayenta[k] = canary.requests;
    });
  }
  return { weir, kayenta };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  return n % 2 === 1 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

function fmtMedian(v: number): string {
  return Number.isFinite(v) ? String(Math.round(v)) : 'not within 10 min';
}

interface Cell {
  rate: number;
  median: number;
}

function cellOf(values: number[]): Cell {
  return { rate: values.filter(Number.isFinite).length / values.length, median: median(values) };
}

function main(): void {
  const started = performance.now();
  const judges = ['Weir sequential', ...KAYENTA_VARIANTS.map((v) => v.label)];
  const results: { scenario: Scenario; runs: number; cells: Cell[] }[] = [];
  let seed = 1;
  for (const s of SCENARIOS) {
    const runs = Math.max(20, Math.round(s.runs * SCALE));
    const outcomes: number[][] = judges.map(() => []);
    for (let r = 0; r < runs; r++) {
      const res = runCanary(createRandom(seed++), s);
      outcomes[0].push(res.weir ?? Number.POSITIVE_INFINITY);
      res.kayenta.forEach((k, i) => outcomes[i + 1].push(k ?? Number.POSITIVE_INFINITY));
    }
    results.push({ scenario: s, runs, cells: outcomes.map(cellOf) });
  }

  const header = ['scenario', 'runs', 'judge', 'failed within 10 min', 'median requests/arm to fail', 'Weir ÷ this'];
  const table: string[][] = [];
  for (const r of results) {
    r.cells.forEach((c, j) => {
      const weir = r.cells[0].median;
      const ratio = j === 0 ? '' : Number.isFinite(weir) && Number.isFinite(c.median) ? (weir / c.median).toFixed(2) : '–';
      table.push([j === 0 ? r.scenario.name : '', j === 0 ? String(r.runs) : '', judges[j], `${(100 * c.rate).toFixed(1)}%`, fmtMedian(c.median), ratio]);
    });
  }
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(
    `canary judge benchmark: ${REQUESTS_PER_INTERVAL / 10} req/s per arm, 10 s intervals, 10 min, ${ENDPOINTS} routes, 1% baseline errors, log-normal latency`,
  );
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of table) console.log(line(row));

  const aa = results[0];
  const se = Math.sqrt((0.01 * 0.99) / aa.runs);
  console.log(
    `\nfalse alarms under continuous monitoring (A/A): Weir ${(100 * aa.cells[0].rate).toFixed(2)}% — target ≤ 1% ${aa.cells[0].rate <= 0.01 ? 'met' : 'NOT met'} (Monte Carlo SE at 1% ≈ ${(100 * se).toFixed(2)} pts); ` +
      KAYENTA_VARIANTS.map((v, k) => `${v.label}: ${(100 * aa.cells[k + 1].rate).toFixed(2)}%`).join('; '),
  );
  for (const r of results.slice(1)) {
    const weir = r.cells[0].median;
    const parts = KAYENTA_VARIANTS.map((v, k) => {
      const other = r.cells[k + 1].median;
      if (!Number.isFinite(weir)) return `${v.label}: Weir did not fail it within 10 min in most runs`;
      if (!Number.isFinite(other)) return `${v.label}: did not fail it within 10 min in most runs`;
      const ratio = weir / other;
      return `${ratio.toFixed(2)}× the requests of ${v.label} (≤ 0.5×: ${ratio <= 0.5 ? 'met' : 'not met'})`;
    });
    console.log(`${r.scenario.name}: Weir needs ${parts.join('; ')}`);
  }
  console.log(`\n(${((performance.now() - started) / 1000).toFixed(1)} s)`);
}

main();
