import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Agent, request } from 'undici';
import { parse } from '../args.ts';
import { EXIT, UsageError } from '../command.ts';
import { progressBar } from '../progress.ts';
import type { Progress } from '../progress.ts';
import type { CliIO, Command } from '../command.ts';
import { parseDuration } from '../../util/duration.ts';
import {
  createCompareCollector,
  formatJsonReport,
  formatTextReport,
  type CompareCollector,
  type CompareRequest,
  type CompareResponse,
} from '../../proxy/compare/index.ts';
import { parseRequestsFile } from '../../proxy/compare/requests-file.ts';
import { COMPARE_REPORT_HELP, runCompareReport } from './compare-report.ts';

/** `weir compare` exits 4 when real (non-noise) differences exist. */
export const EXIT_DIFFERENCES = 4;

// Hop-by-hop and per-connection headers are not replayed; undici sets its own.
const DROPPED_REQUEST_HEADERS = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'proxy-connection', 'te', 'trailer']);

const HELP = `Usage: weir compare --primary URL --secondary URL --candidate URL --requests FILE [options]

Tap compare, offline: sends every request of FILE to three versions of a service, diffs the answers
and reports the fields where the candidate differs from the primary more often than two copies of the
stable code (primary and secondary) differ from each other. See docs/tap-compare.md.

FILE holds JSON lines of {"method":"GET","path":"/users/1","headers":{...},"body":"..."}; blank
lines and lines starting with # are skipped.

Options:
      --primary URL          the stable version (base URL, a path prefix is kept)
      --secondary URL        a second instance of the stable code: its differences are the noise
      --candidate URL        the version under test
      --requests FILE        the requests to send
      --json                 print the report as JSON instead of text
      --concurrency N        requests in flight (each goes to all three), default 8
      --timeout D            time allowed for each response, default 10s
      --ignore-path GLOB     body field path not compared (repeatable): meta.ts, items[*].id, **.traceId
      --ignore-header NAME   header not compared (repeatable, * wildcards), added to the defaults
      --array-as-set GLOB    array compared as a multiset, order ignored (repeatable)
      --relative PCT         noise rule: minimum relative difference, percent (default 20)
      --absolute PCT         noise rule: minimum absolute difference, percent of requests (default 0.03)
      --examples N           examples shown per difference in the text report (default 1)

Exit codes: 0 no real differences, 4 real differences found, 1 failure (including requests that
could not be compared when no real difference was found), 2 usage error.`;

function baseUrl(name: string, value: string | undefined): URL {
  if (value === undefined) throw new UsageError(`--${name} is required`);
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new UsageError(`--${name} "${value}" is not a URL: use e.g. http://127.0.0.1:9001`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UsageError(`--${name} must be an http:// or https:// URL`);
  return u;
}

function targetUrl(base: URL, path: string): string {
  const prefix = base.pathname.endsWith('/') ? base.pathname.slice(0, -1) : base.pathname;
  return `${base.origin}${prefix}${path}`;
}

function numberOption(name: string, value: string | undefined, fallback: number, ok: (n: number) => boolean): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || !ok(n)) throw new UsageError(`--${name} "${value}" is out of range`);
  return n;
}

function requestHeaders(req: CompareRequest): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const h = req.headers;
  if (h === undefined) return out;
  if (Array.isArray(h)) {
    for (let i = 0; i + 1 < h.length; i += 2) if (!DROPPED_REQUEST_HEADERS.has(h[i].toLowerCase())) out[h[i]] = h[i + 1];
    return out;
  }
  for (const [k, v] of Object.entries(h as Record<string, string | string[] | number | undefined>)) {
    if (v === undefined || DROPPED_REQUEST_HEADERS.has(k.toLowerCase())) continue;
    out[k] = typeof v === 'number' ? String(v) : v;
  }
  return out;
}

async function send(dispatcher: Agent, base: URL, req: CompareRequest, signal: AbortSignal): Promise<CompareResponse> {
  const res = await request(targetUrl(base, req.path), {
    dispatcher,
    method: req.method as 'GET',
    headers: requestHeaders(req),
    body: req.body === undefined ? undefined : typeof req.body === 'string' ? req.body : Buffer.from(req.body),
    signal,
  });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, body };
}

function describeError(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.code ?? e.cause?.code;
  const msg = e.cause?.message ?? e.message ?? String(err);
  return code ? `${code}: ${msg}` : msg;
}

/** Sends every request to the three targets, `concurrency` at a time, and records the results. */
async function runAll(
  requests: readonly CompareRequest[],
  targets: { primary: URL; secondary: URL; candidate: URL },
  collector: CompareCollector,
  concurrency: number,
  timeoutMs: number,
  signal: AbortSignal,
  bar: Progress,
): Promise<void> {
  let finished = 0;
  let failed = 0;
  const agent = new Agent({ connections: concurrency, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < requests.length && !signal.aborted) {
      const req = requests[next++];
      const outcomes = await Promise.allSettled([
        send(agent, targets.primary, req, signal),
        send(agent, targets.secondary, req, signal),
        send(agent, targets.candidate, req, signal),
      ]);
      const [p, s, c] = outcomes;
      finished++;
      if (p.status === 'fulfilled' && s.status === 'fulfilled' && c.status === 'fulfilled') {
        collector.record(undefined, req, p.value, s.value, c.value);
        bar.update(finished, failed ? `${failed} failed` : '');
        continue;
      }
      const names = ['primary', 'secondary', 'candidate'];
      const reasons = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [`${names[i]}: ${describeError(o.reason)}`] : []));
      collector.recordFailure(undefined, req, reasons.join('; '));
      failed++;
      bar.update(finished, `${failed} failed`);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, requests.length) }, worker));
  } finally {
    await agent.close();
  }
}

/**
 * `weir compare`: offline tap compare of three base URLs over a file of requests.
 * @example
 * const code = await compareCommand.run(['--primary', p, '--secondary', s, '--candidate', c, '--requests', 'reqs.jsonl'], io);
 * // code === 4 when real differences were found
 */
export const compareCommand: Command = {
  name: 'compare',
  summary: 'Tap compare offline: send requests to primary, secondary and candidate, report real differences',
  help: `${HELP}

${COMPARE_REPORT_HELP}`,
  async run(args: string[], io: CliIO): Promise<number> {
    if (args[0] === 'report') return runCompareReport(args.slice(1), io);
    const { values } = parse(args, {
      primary: { type: 'string' },
      secondary: { type: 'string' },
      candidate: { type: 'string' },
      requests: { type: 'string' },
      json: { type: 'boolean' },
      concurrency: { type: 'string' },
      timeout: { type: 'string' },
      'ignore-path': { type: 'string', multiple: true },
      'ignore-header': { type: 'string', multiple: true },
      'array-as-set': { type: 'string', multiple: true },
      relative: { type: 'string' },
      absolute: { type: 'string' },
      examples: { type: 'string' },
    });
    if (values.help) {
      io.stdout(`${HELP}\n`);
      return EXIT.OK;
    }
    const targets = {
      primary: baseUrl('primary', values.primary),
      secondary: baseUrl('secondary', values.secondary),
      candidate: baseUrl('candidate', values.candidate),
    };
    if (values.requests === undefined) throw new UsageError('--requests FILE is required');
    const concurrency = numberOption('concurrency', values.concurrency, 8, (n) => Number.isInteger(n) && n >= 1 && n <= 256);
    const timeoutMs = values.timeout === undefined ? 10_000 : parseDuration(values.timeout);
    if (timeoutMs === undefined || timeoutMs <= 0) throw new UsageError(`--timeout "${values.timeout}" is not a duration (e.g. 500ms, 10s)`);
    const relative = numberOption('relative', values.relative, 20, (n) => n >= 0 && n <= 100);
    const absolute = numberOption('absolute', values.absolute, 0.03, (n) => n >= 0 && n <= 100);
    const examples = numberOption('examples', values.examples, 1, (n) => Number.isInteger(n) && n >= 0);

    const file = resolve(io.cwd, values.requests);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read --requests ${file}: ${(err as Error).message}`);
    }
    const { requests, errors } = parseRequestsFile(text);
    if (errors.length > 0) {
      const shown = errors.slice(0, 5).map((e) => `  line ${e.line}: ${e.message}`).join('\n');
      throw new UsageError(`${file} has ${errors.length} invalid line${errors.length === 1 ? '' : 's'}:\n${shown}`);
    }
    if (requests.length === 0) throw new UsageError(`${file} holds no requests`);

    const collector = createCompareCollector({
      rules: { ignorePaths: values['ignore-path'], ignoreHeaders: values['ignore-header'], arraysAsSets: values['array-as-set'] },
      thresholds: { relative, absolute },
      maxExamples: Math.max(examples, 1),
    });
    const bar = progressBar(io, 'compare', requests.length);
    try {
      await runAll(requests, targets, collector, concurrency, timeoutMs, io.signal, bar);
    } finally {
      bar.finish();
    }
    if (io.signal.aborted) {
      io.stderr('weir compare: interrupted; the report covers the requests compared so far\n');
    }
    const report = collector.report();
    io.stdout(values.json ? formatJsonReport(report) : formatTextReport(report, { examples }));
    if (report.verdict === 'differences') return EXIT_DIFFERENCES;
    if (report.failed > 0 || report.requests === 0) {
      io.stderr(`weir compare: ${report.failed} of ${report.failed + report.requests} requests could not be compared\n`);
      return EXIT.FAILURE;
    }
    return EXIT.OK;
  },
};
