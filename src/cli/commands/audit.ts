import { apiCall, resolveTarget } from '../client.ts';
import { parse } from '../args.ts';
import { UsageError } from '../command.ts';
import type { Command } from '../command.ts';
import type { AuditEntry } from '../../store/types.ts';

const brief = (v: unknown): string => (v === undefined ? '' : JSON.stringify(v).slice(0, 120));

export const auditCommand: Command = {
  name: 'audit',
  summary: 'The audit log: every change to traffic, rollouts and config, who and why',
  help: `Usage: weir audit [TARGET] [--limit N] [--json]

Lists audit entries, newest first: time, actor, action, target, before → after, reason.
TARGET narrows to one service (or '*' for halts and config).

Options:
      --limit N       how many (default 50)
      --json          print the API's JSON
      --url URL       the control API (default: $WEIR_URL or http://127.0.0.1:8081)
      --token TOKEN   API token (default: $WEIR_TOKEN, $WEIR_ADMIN_TOKEN or .weir/admin-token)`,
  async run(args, io) {
    const { values, positionals } = parse(args, { limit: { type: 'string' }, json: { type: 'boolean' }, url: { type: 'string' }, token: { type: 'string' } }, true);
    if (positionals.length > 1) throw new UsageError('give at most one TARGET');
    const limit = Number(values.limit ?? 50);
    if (!(Number.isInteger(limit) && limit > 0 && limit <= 1000)) throw new UsageError('--limit must be a whole number from 1 to 1000');
    const q = new URLSearchParams({ limit: String(limit) });
    if (positionals[0]) q.set('target', positionals[0]);
    const r = await apiCall<{ entries: AuditEntry[] }>(resolveTarget(values, io.env, io.cwd), 'GET', `/api/v1/audit?${q}`);
    if (values.json) {
      io.stdout(`${JSON.stringify(r, null, 2)}\n`);
      return 0;
    }
    for (const e of r.entries) {
      const change = e.before !== undefined || e.after !== undefined ? `  ${brief(e.before)} → ${brief(e.after)}` : '';
      io.stdout(`${new Date(e.at).toISOString()}  ${e.actor.padEnd(12)} ${e.action.padEnd(18)} ${e.target}${change}${e.reason ? `\n    ${e.reason}` : ''}\n`);
    }
    if (!r.entries.length) io.stdout('no audit entries\n');
    return 0;
  },
};
