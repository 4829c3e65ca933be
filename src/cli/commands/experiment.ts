import { apiCall, resolveTarget } from '../client.ts';
import { parse } from '../args.ts';
import { UsageError } from '../command.ts';
import type { Command } from '../command.ts';
import type { ExperimentResults, MetricResult } from '../../experiments/types.ts';
import type { describeExperiment } from '../../experiments/routes.ts';
import { percent } from '../../experiments/verdict.ts';

const common = { url: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' } } as const;

function num(x: number | null): string {
  if (x === null || !Number.isFinite(x)) return '-';
  if (Number.isInteger(x)) return String(x);
  return Math.abs(x) >= 1e-3 ? x.toPrecision(4).replace(/\.?0+$/, '') : x.toExponential(2);
}

/** p-values (and other numbers) arrive over JSON, where NaN became null. */
function pval(x: number | null): string {
  if (x === null || !Number.isFinite(x)) return '-';
  return x < 1e-4 ? x.toExponential(1) : x.toFixed(4);
}

function metricBlock(m: MetricResult, r: ExperimentResults): string {
  const head = `${m.guardrail ? 'guardrail' : 'metric'} ${m.name} (${m.type}, ${m.direction} is good)`;
  if (m.error && m.comparisons.length === 0) return `${head}\n  ${m.error}\n`;
  const lines = [head];
  const rows: string[][] = [['ARM', 'UNITS', 'VALUE', 'LIFT', 'CI', 'P', 'P (ALWAYS-VALID)', `P ADJ (${r.correction.toUpperCase()})`]];
  for (const a of m.arms) {
    const c = m.comparisons.find((x) => x.arm === a.arm);
    const iv = c ? (r.test === 'sequential' ? c.sequential.lift : c.lift) : undefined;
    rows.push([a.arm, String(a.units), num(a.value),
      c ? percent(c.lift.estimate) : '', iv ? `${percent(iv.lower)} – ${percent(iv.upper)}` : '',
      c ? pval(c.pValue) : '', c ? pval(c.sequential.pValue) : '', c ? pval(c.adjustedPValue) : '']);
  }
  const w = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  for (const row of rows) lines.push(`  ${row.map((cell, i) => cell.padEnd(w[i])).join('  ').trimEnd()}`);
  for (const c of m.comparisons) lines.push(`  → ${c.verdict}${c.cuped ? ` [CUPED: variance −${percent(c.cuped.varianceReduction)}]` : ''}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Formats experiment results for a terminal.
 * @example
 * io.stdout(formatResults(await apiCall(target, 'GET', '/api/v1/experiments/checkout/results')));
 */
export function formatResults(r: ExperimentResults): string {
  const arms = r.arms.map((a) => `${a.arm} ${a.units} (expected ${percent(a.expectedShare)})`).join(', ');
  const srm = r.srm.status === 'no-data' ? 'no units yet' : `${r.srm.status} (p = ${pval(r.srm.pValue!)})`;
  const out = [
    `experiment ${r.id} on flag ${r.flag}: ${r.status} — ${r.reason}`,
    `window ${r.window.start ?? 'all retained events'} → ${r.window.end}; ${r.test} test, ${r.correction} correction, α = ${r.alpha}`,
    `units: ${arms}; excluded (several arms): ${r.excludedUnits}; sample ratio: ${srm}`,
    ...r.warnings.map((w) => `warning: ${w}`),
    '',
    ...r.metrics.map((m) => metricBlock(m, r)),
  ];
  return `${out.join('\n')}`;
}

export const experimentCommand: Command = {
  name: 'experiment',
  summary: 'A/B experiments on flags: weir experiment list | results ID',
  help: `Usage: weir experiment list [--json]
       weir experiment results ID [--json]

list      the experiments declared in weir.yaml (experiments:)
results   per arm and metric: units, value, lift with its interval, the fixed-horizon and the
          always-valid p-value, the adjusted p-value, a verdict; the sample-ratio check and status

Options:
      --json          print the API's JSON
      --url URL       the control API (default: $WEIR_URL or http://127.0.0.1:8081)
      --token TOKEN   API token (default: $WEIR_TOKEN, $WEIR_ADMIN_TOKEN or .weir/admin-token)

Example:
  weir experiment results checkout-redesign`,
  async run(args, io) {
    const { values, positionals } = parse(args, common, true);
    const [sub, id, ...extra] = positionals;
    const target = resolveTarget(values, io.env, io.cwd);
    if (sub === 'list') {
      if (id !== undefined) throw new UsageError('list takes no arguments');
      const r = await apiCall<{ experiments: ReturnType<typeof describeExperiment>[] }>(target, 'GET', '/api/v1/experiments');
      if (values.json) io.stdout(`${JSON.stringify(r, null, 2)}\n`);
      else if (r.experiments.length === 0) io.stdout('no experiments: declare them under experiments: in weir.yaml\n');
      else io.stdout(r.experiments.map((e) => `${e.id}  flag ${e.flag}  arms ${e.arms.map((a) => `${a}:${e.allocation[a]}`).join(' ')}  metrics ${[...e.metrics, ...e.guardrails.map((g) => `${g} (guardrail)`)].join(', ') || '-'}`).join('\n') + '\n');
      return 0;
    }
    if (sub === 'results') {
      if (id === undefined) throw new UsageError('results needs an experiment id: weir experiment results ID');
      if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
      const r = await apiCall<ExperimentResults>(target, 'GET', `/api/v1/experiments/${encodeURIComponent(id)}/results`);
      io.stdout(values.json ? `${JSON.stringify(r, null, 2)}\n` : formatResults(r));
      return 0;
    }
    throw new UsageError(sub === undefined ? 'give a sub-command: list or results ID' : `unknown sub-command "${sub}": use list or results ID`);
  },
};
