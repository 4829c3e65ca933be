import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { apiCall, resolveTarget } from '../client.ts';
import { parse } from '../args.ts';
import { UsageError } from '../command.ts';
import { progressBar } from '../progress.ts';
import type { Progress } from '../progress.ts';
import type { CliIO, Command } from '../command.ts';
import type { ApiTarget } from '../client.ts';
import { WeirError } from '../../errors.ts';
import { drillDecision, drillReport, drillSchema, formatDrillReport } from '../../proxy/faults/drill.ts';
import type { DrillReport, DrillSample, DrillSpec } from '../../proxy/faults/drill.ts';

/** `weir drill run` exits 3 when a stop condition (or the proxy's error budget) ended the drill early. */
export const EXIT_DRILL_STOPPED = 3;

const HELP = `Usage: weir drill run DRILL.yaml [--json] [--url URL] [--token TOKEN]

Applies a fault scenario to a service through the control API for the drill's duration, watches the
service, and ends it on its own: at the end, when a stop condition trips (stop.maxErrorRate), or when
the proxy's error budget stopped the faults. The faults also expire on their own if this command
dies. Prints the report and stores it in the audit log. See docs/fault-injection.md.

Options:
      --json          print the report as JSON
      --url URL       the control API (default: $WEIR_URL or http://127.0.0.1:8081)
      --token TOKEN   API token (default: $WEIR_TOKEN, $WEIR_ADMIN_TOKEN or .weir/admin-token)

Exit codes: 0 the drill ran its course, 3 it was stopped early, 1 failure, 2 usage error.`;

interface ServiceView { versions: Array<{ requests: number; errors: number }> }
interface FaultsView { injected: number; stopped: { verdict: { reason: string } } | null }

async function sample(target: ApiTarget, service: string): Promise<DrillSample> {
  const s = encodeURIComponent(service);
  const [svc, faults] = await Promise.all([
    apiCall<ServiceView>(target, 'GET', `/api/v1/services/${s}`),
    apiCall<FaultsView>(target, 'GET', `/api/v1/services/${s}/faults`),
  ]);
  return {
    at: Date.now(),
    requests: svc.versions.reduce((a, v) => a + v.requests, 0),
    errors: svc.versions.reduce((a, v) => a + v.errors, 0),
    injected: faults.injected,
    autoStopped: faults.stopped ? faults.stopped.verdict.reason : null,
  };
}

function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((res) => {
    if (signal.aborted) return res();
    const t = setTimeout(done, ms);
    function done() { clearTimeout(t); signal.removeEventListener('abort', done); res(); }
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Runs a drill against a running Weir and returns its report.
 * @example const report = await runDrill(spec, { url: 'http://127.0.0.1:8081', token }, io.signal);
 */
export async function runDrill(spec: DrillSpec, target: ApiTarget, signal: AbortSignal, bar?: Progress): Promise<DrillReport> {
  const path = `/api/v1/services/${encodeURIComponent(spec.service)}/faults`;
  const interval = spec.interval ?? 5_000;
  const name = spec.name ?? `${spec.service}-drill`;
  const first = await sample(target, spec.service);
  // The faults expire on their own a little after the drill's end, even if this process dies.
  await apiCall(target, 'POST', path, { faults: spec.faults, durationMs: spec.duration + 2 * interval, reason: `drill ${name}` });
  const samples = [first];
  let outcome: DrillReport['outcome'] = 'aborted';
  let reason = 'interrupted';
  try {
    for (;;) {
      await wait(Math.min(interval, Math.max(0, first.at + spec.duration - Date.now())), signal);
      if (signal.aborted) break;
      const s = await sample(target, spec.service);
      samples.push(s);
      bar?.update(Math.min(spec.duration, s.at - first.at));
      const d = drillDecision(spec, first, s, s.at);
      if (d.done) {
        outcome = d.outcome;
        reason = d.reason;
        break;
      }
    }
  } catch (e) {
    outcome = 'failed';
    reason = e instanceof WeirError ? `${e.code}: ${e.message}` : String(e);
  }
  if (samples.length === 1 || outcome === 'aborted') samples.push(await sample(target, spec.service).catch(() => ({ ...samples[samples.length - 1], at: Date.now() })));
  const report = drillReport(spec, samples, outcome, reason);
  await apiCall(target, 'DELETE', path, { reason: `drill ${name} ${outcome}: ${reason}`, report });
  return report;
}

export const drillCommand: Command = {
  name: 'drill',
  summary: 'Run a fault-injection drill: weir drill run drill.yaml',
  help: HELP,
  async run(args: string[], io: CliIO): Promise<number> {
    const { values, positionals } = parse(args, { url: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' } }, true);
    if (positionals[0] !== 'run' || positionals.length !== 2) throw new UsageError('use: weir drill run DRILL.yaml');
    const file = resolve(io.cwd, positionals[1]);
    let raw: unknown;
    try {
      raw = parseYaml(await readFile(file, 'utf8'));
    } catch (e) {
      throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
    }
    const r = drillSchema.safeParse(raw);
    if (!r.success) {
      const problems = r.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
      throw new WeirError('CONFIG_INVALID', `${positionals[1]} is not a valid drill:\n${problems.join('\n')}`, { details: { problems } });
    }
    const bar = progressBar(io, `drill ${r.data.name ?? r.data.service}`, r.data.duration, 'ms');
    let report: DrillReport;
    try {
      report = await runDrill(r.data, resolveTarget(values, io.env, io.cwd), io.signal, bar);
    } finally {
      bar.finish();
    }
    io.stdout(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatDrillReport(report));
    return report.outcome === 'completed' ? 0 : report.outcome === 'stopped' ? EXIT_DRILL_STOPPED : 1;
  },
};
