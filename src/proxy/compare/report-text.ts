import type { Difference } from './types.ts';
import type { CompareReport, FieldReport } from './report-types.ts';
import { truncate } from './value.ts';

export interface TextReportOptions {
  /** Examples shown per real difference. Default 1. */
  examples?: number;
  /** List fields judged noise too. Default true. */
  showNoise?: boolean;
}

function show(v: unknown): string {
  if (v === undefined) return '(absent)';
  return truncate(typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v), 80);
}

/**
 * One difference in one line.
 * @example describeDifference({ section: 'body', path: 'a', kind: 'value', left: 1, right: 2 }) // → 'value: 1 → 2'
 */
export function describeDifference(d: Difference): string {
  switch (d.kind) {
    case 'missing':
      return `missing in the other response (was ${show(d.left)})`;
    case 'extra':
      return `extra in the other response: ${show(d.right)}`;
    case 'array-length':
      return `array length ${show(d.left)} → ${show(d.right)}`;
    case 'text':
      return `text differs at byte ${d.offset ?? 0}: ${show(d.left)} → ${show(d.right)}`;
    default:
      return `${d.kind}: ${show(d.left)} → ${show(d.right)}`;
  }
}

function kinds(f: FieldReport): string {
  const parts = Object.entries(f.kinds).map(([k, n]) => `${k} ${n}`);
  return parts.length > 0 ? `  [${parts.join(', ')}]` : '';
}

function fieldLine(f: FieldReport, width: number): string {
  const label = f.verdict === 'difference' ? 'DIFFERENCE' : 'noise     ';
  return (
    `  ${label}  ${f.field.padEnd(width)}  candidate ${f.candidate.count} (${f.candidate.percent}%)` +
    `  noise ${f.noise.count} (${f.noise.percent}%)  relative ${f.relativeDifference}%  absolute ${f.absoluteDifference}%${kinds(f)}`
  );
}

/**
 * The report as readable text: a verdict line, then per endpoint its fields with counts, percentages,
 * the noise level and an example of each real difference.
 * @example io.stdout(formatTextReport(collector.report()));
 */
export function formatTextReport(report: CompareReport, opts: TextReportOptions = {}): string {
  const nExamples = opts.examples ?? 1;
  const showNoise = opts.showNoise ?? true;
  const t = report.thresholds;
  const lines: string[] = [];
  const eps = report.endpoints.length;
  lines.push(
    report.verdict === 'differences'
      ? `Tap compare: ${report.differences} real difference${report.differences === 1 ? '' : 's'} in ${report.requests} requests to ${eps} endpoint${eps === 1 ? '' : 's'} (${report.failed} failed)`
      : `Tap compare: no real differences in ${report.requests} requests to ${eps} endpoint${eps === 1 ? '' : 's'} (${report.failed} failed)`,
  );
  lines.push(
    `Noise rule: a field differs when candidate ≠ primary more often than secondary ≠ primary, relative difference > ${t.relative}% ` +
      `(of ${t.relativeTo === 'sum' ? 'C+N' : 'C'}) and absolute difference > ${t.absolute}% of requests.`,
  );
  for (const ep of report.endpoints) {
    lines.push('');
    lines.push(
      `${ep.endpoint}: ${ep.requests} requests, ${ep.differences} real difference${ep.differences === 1 ? '' : 's'}; ` +
        `candidate differed in ${ep.differing.count} (${ep.differing.percent}%), the stable versions in ${ep.noisy.count} (${ep.noisy.percent}%)` +
        (ep.failed > 0 ? `; ${ep.failed} failed` : ''),
    );
    for (const [reason, n] of Object.entries(ep.failures)) lines.push(`  failed ×${n}: ${reason}`);
    const fields = ep.fields.filter((f) => showNoise || f.verdict === 'difference');
    const width = Math.min(48, Math.max(8, ...fields.map((f) => f.field.length)));
    for (const f of fields) {
      lines.push(fieldLine(f, width));
      if (f.verdict !== 'difference') continue;
      for (const ex of f.examples.slice(0, nExamples)) {
        const d = ex.differences[0];
        const where = d.section === 'body' && d.path !== '' ? ` at ${d.path}` : '';
        lines.push(`      e.g. ${ex.request.method} ${ex.request.path}${where}: ${describeDifference(d)}`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The report as JSON text (examples included).
 * @example io.stdout(formatJsonReport(collector.report()));
 */
export function formatJsonReport(report: CompareReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
