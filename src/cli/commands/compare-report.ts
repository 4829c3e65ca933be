import { apiCall, resolveTarget } from '../client.ts';
import { parse } from '../args.ts';
import { UsageError } from '../command.ts';
import type { CliIO } from '../command.ts';
import { formatTextReport } from '../../proxy/compare/report-text.ts';
import type { CompareReport } from '../../proxy/compare/report-types.ts';
import type { CopyCounters } from '../../proxy/shadow/gate.ts';

/** `weir compare` exits 4 when real (non-noise) differences exist (the same code as the offline run). */
const EXIT_DIFFERENCES = 4;

export const COMPARE_REPORT_HELP = `Usage: weir compare report SERVICE [--json] [--reset] [--examples N]

The live tap-compare report of a running Weir (the service's compare: block in weir.yaml), from
GET /api/v1/services/SERVICE/compare. --reset starts the findings afresh afterwards.

Options:
      --url URL       the control API (default: $WEIR_URL or http://127.0.0.1:8081)
      --token TOKEN   API token (default: $WEIR_TOKEN, $WEIR_ADMIN_TOKEN or .weir/admin-token)
      --json          print the API's JSON
      --examples N    examples shown per difference (default 1)

Exit codes: 0 no real differences, 4 real differences found, 1 failure, 2 usage error.`;

/**
 * `weir compare report shop [--json]`: prints the live compare report of a service.
 * @example await runCompareReport(['shop', '--json'], io)
 */
export async function runCompareReport(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parse(args, {
    url: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' }, reset: { type: 'boolean' }, examples: { type: 'string' },
  }, true);
  if (positionals.length !== 1) throw new UsageError('give one service name: weir compare report SERVICE');
  const examples = values.examples === undefined ? 1 : Number(values.examples);
  if (!Number.isInteger(examples) || examples < 0) throw new UsageError('--examples must be a whole number');
  const target = resolveTarget(values, io.env, io.cwd);
  const path = `/api/v1/services/${encodeURIComponent(positionals[0])}/compare`;
  const got = await apiCall<{ service: string; counters: CopyCounters; report: CompareReport }>(target, 'GET', path);
  if (values.json) io.stdout(`${JSON.stringify(got, null, 2)}\n`);
  else {
    const c = got.counters;
    const dropped = Object.entries(c.dropped).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ');
    io.stdout(`live compare of ${got.service}: ${c.sent} compared requests started, ${c.completed} completed, ${c.failed} failed, ${c.inflight} in flight${dropped ? `; skipped: ${dropped}` : ''}\n\n`);
    io.stdout(formatTextReport(got.report, { examples }));
  }
  if (values.reset) await apiCall(target, 'DELETE', path);
  return got.report.verdict === 'differences' ? EXIT_DIFFERENCES : 0;
}
