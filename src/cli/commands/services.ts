import { apiCall, resolveTarget } from '../client.ts';
import { parse } from '../args.ts';
import { UsageError } from '../command.ts';
import type { Command } from '../command.ts';

interface VersionView { name: string; weight: number; requests: number; inflight: number; errors: number; upstreams: Array<{ url: string; ejected: boolean }> }
interface ServiceView { name: string; stable: string; stickyBy: string; weightsSource: string; versions: VersionView[] }

const common = { url: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' } } as const;
const commonHelp = `      --url URL       the control API (default: $WEIR_URL or http://127.0.0.1:8081)
      --token TOKEN   API token (default: $WEIR_TOKEN, $WEIR_ADMIN_TOKEN or .weir/admin-token)
      --json          print the API's JSON`;

function table(svc: ServiceView): string {
  const rows = svc.versions.map((v) => [v.name + (v.name === svc.stable ? ' (stable)' : ''), `${v.weight}%`, String(v.requests), String(v.inflight), String(v.errors), v.upstreams.map((u) => u.url + (u.ejected ? ' [ejected]' : '')).join(' ')]);
  const head = ['VERSION', 'WEIGHT', 'REQUESTS', 'INFLIGHT', '5XX', 'UPSTREAMS'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd();
  return `${svc.name}  (sticky by ${svc.stickyBy}, weights from ${svc.weightsSource})\n${[head, ...rows].map(fmt).map((l) => `  ${l}`).join('\n')}\n`;
}

export const servicesCommand: Command = {
  name: 'services',
  summary: 'Show services, their versions, weights and live counts',
  help: `Usage: weir services [NAME] [--json]

Options:
${commonHelp}`,
  async run(args, io) {
    const { values, positionals } = parse(args, common, true);
    const target = resolveTarget(values, io.env, io.cwd);
    if (positionals.length > 1) throw new UsageError('give at most one service name');
    if (positionals[0]) {
      const svc = await apiCall<ServiceView>(target, 'GET', `/api/v1/services/${encodeURIComponent(positionals[0])}`);
      io.stdout(values.json ? JSON.stringify(svc, null, 2) + '\n' : table(svc));
      return 0;
    }
    const all = await apiCall<{ services: ServiceView[] }>(target, 'GET', '/api/v1/services');
    io.stdout(values.json ? JSON.stringify(all, null, 2) + '\n' : all.services.map(table).join('\n'));
    return 0;
  },
};

export const weightsCommand: Command = {
  name: 'weights',
  summary: 'Set a service\'s weights: weir weights shop stable=75 canary=25',
  help: `Usage: weir weights SERVICE VERSION=PERCENT... [--reason TEXT] [--json]

Sets the traffic split of a service through the control API (applied to the proxy at once,
recorded in the audit log). Percentages must add up to 100; a version left out gets 0.

Example:
  weir weights shop stable=75 canary=25 --reason "canary looks good"

Options:
      --reason TEXT   why, for the audit log
${commonHelp}`,
  async run(args, io) {
    const { values, positionals } = parse(args, { ...common, reason: { type: 'string' } }, true);
    const [service, ...pairs] = positionals;
    if (!service || pairs.length === 0) throw new UsageError('give a service and at least one VERSION=PERCENT');
    const weights: Record<string, number> = {};
    for (const p of pairs) {
      const m = /^([^=]+)=(\d+(?:\.\d+)?)%?$/.exec(p);
      if (!m) throw new UsageError(`"${p}" is not VERSION=PERCENT`);
      weights[m[1]] = Number(m[2]);
    }
    const svc = await apiCall<ServiceView>(resolveTarget(values, io.env, io.cwd), 'PUT', `/api/v1/services/${encodeURIComponent(service)}/weights`, { weights, reason: values.reason });
    io.stdout(values.json ? JSON.stringify(svc, null, 2) + '\n' : table(svc));
    return 0;
  },
};
