import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { apiCall, resolveTarget } from '../client.ts';
import { parse } from '../args.ts';
import { UsageError } from '../command.ts';
import type { Command } from '../command.ts';

interface FlagView { key: string; layer: string; source: string; definition: { state: string; defaultVariant: string | null; variants: Record<string, unknown> } }

const line = (f: FlagView) => `${f.key.padEnd(28)} ${f.definition.state.padEnd(8)} default=${String(f.definition.defaultVariant).padEnd(10)} ${f.layer.padEnd(9)} ${f.source}`;

/** `weir flags …`: the flags API from the command line. */
export const flagsCommand: Command = {
  name: 'flags',
  summary: 'Feature flags: list, get, set, enable, disable (kill switch), history, schedule, stale',
  help: `Usage: weir flags list
       weir flags get KEY
       weir flags set KEY --file def.json|def.yaml      define or replace a flag (flagd flag definition)
       weir flags delete KEY                            remove an API-defined flag (a file's flag reappears)
       weir flags enable KEY | disable KEY              the kill switch: disabled serves the code default
       weir flags history KEY                           who changed it, when, before → after
       weir flags schedule KEY --at TIME --file def.json   apply a definition at TIME (ISO 8601)
       weir flags schedule KEY                          list scheduled changes
       weir flags schedule KEY --cancel ID
       weir flags stale [--days N]                      flags not evaluated in N days (default 30) or always one variant

Options:
      --file PATH       a flag definition, JSON or YAML
      --at TIME         for schedule, e.g. 2026-11-24T09:00:00Z
      --cancel ID       for schedule
      --days N          for stale
      --reason TEXT     why, for the audit log
      --json            print the API's JSON
      --url URL         the control API (default: $WEIR_URL or http://127.0.0.1:8081)
      --token TOKEN     API token (default: $WEIR_TOKEN, $WEIR_ADMIN_TOKEN or .weir/admin-token)`,
  async run(args, io) {
    const { values, positionals } = parse(args, {
      file: { type: 'string' }, at: { type: 'string' }, cancel: { type: 'string' }, days: { type: 'string' }, reason: { type: 'string' },
      url: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' },
    }, true);
    const [action, key, ...extra] = positionals;
    if (extra.length) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
    const target = resolveTarget(values, io.env, io.cwd);
    const out = (v: unknown, text: string) => io.stdout(values.json ? `${JSON.stringify(v, null, 2)}\n` : text);
    const needKey = () => {
      if (!key) throw new UsageError(`which flag? weir flags ${action} KEY`);
      return `/api/v1/flags/${encodeURIComponent(key)}`;
    };
    const definition = () => {
      if (!values.file) throw new UsageError('give the definition with --file def.json (a flagd flag: state, variants, defaultVariant, targeting)');
      const text = readFileSync(resolve(io.cwd, values.file), 'utf8');
      return text.trimStart().startsWith('{') ? JSON.parse(text) : parseYaml(text);
    };
    switch (action) {
      case 'list': {
        const r = await apiCall<{ flags: FlagView[] }>(target, 'GET', '/api/v1/flags');
        out(r, r.flags.length ? `${r.flags.map(line).join('\n')}\n` : 'no flags\n');
        return 0;
      }
      case 'get': {
        const r = await apiCall<FlagView>(target, 'GET', needKey());
        out(r, `${line(r)}\n${JSON.stringify(r.definition, null, 2)}\n`);
        return 0;
      }
      case 'set': {
        const path = needKey();
        const r = await apiCall<FlagView & { revision: number }>(target, 'PUT', path, { definition: definition(), reason: values.reason });
        out(r, `flag ${r.key} set (revision ${r.revision})\n`);
        return 0;
      }
      case 'delete': {
        const r = await apiCall<{ stillDefined: boolean }>(target, 'DELETE', needKey(), { reason: values.reason });
        out(r, `flag ${key} deleted${r.stillDefined ? ' from the API; its flag-file definition applies again' : ''}\n`);
        return 0;
      }
      case 'enable':
      case 'disable': {
        const r = await apiCall<FlagView>(target, 'POST', `${needKey()}/${action}`, { reason: values.reason });
        out(r, `flag ${key} ${r.definition.state === 'DISABLED' ? 'DISABLED: every evaluation returns the caller\'s code default' : 'enabled'}\n`);
        return 0;
      }
      case 'history': {
        const r = await apiCall<{ entries: Array<{ at: number; actor: string; action: string; reason?: string; before?: unknown; after?: unknown }> }>(target, 'GET', `${needKey()}/history`);
        out(r, r.entries.length ? r.entries.map((e) => `${new Date(e.at).toISOString()} ${e.actor.padEnd(12)} ${e.action.padEnd(20)} ${e.reason ?? ''}\n  before: ${JSON.stringify(e.before ?? null)}\n  after:  ${JSON.stringify(e.after ?? null)}`).join('\n') + '\n' : 'no changes recorded\n');
        return 0;
      }
      case 'schedule': {
        const path = `${needKey()}/schedule`;
        if (values.cancel) {
          const r = await apiCall(target, 'DELETE', `${path}/${encodeURIComponent(values.cancel)}`);
          out(r, `scheduled change ${values.cancel} cancelled\n`);
        } else if (values.at) {
          const r = await apiCall<{ id: number; at: number }>(target, 'POST', path, { at: values.at, definition: definition() });
          out(r, `scheduled change ${r.id}: ${key} at ${new Date(r.at).toISOString()}\n`);
        } else {
          const r = await apiCall<{ schedules: Array<{ id: number; at: number; status: string; createdBy: string }> }>(target, 'GET', path);
          out(r, r.schedules.length ? r.schedules.map((s) => `${String(s.id).padEnd(6)} ${new Date(s.at).toISOString()} ${s.status.padEnd(9)} by ${s.createdBy}`).join('\n') + '\n' : 'no scheduled changes\n');
        }
        return 0;
      }
      case 'stale': {
        const days = values.days ?? '30';
        const r = await apiCall<{ flags: Array<{ key: string; reason: string; lastEvaluatedAt: number | null }> }>(target, 'GET', `/api/v1/flags/stale?days=${encodeURIComponent(days)}`);
        out(r, r.flags.length ? r.flags.map((f) => `${f.key.padEnd(28)} ${f.reason.padEnd(15)} last evaluated ${f.lastEvaluatedAt ? new Date(f.lastEvaluatedAt).toISOString() : 'never'}`).join('\n') + '\n' : `no stale flags (${days} days)\n`);
        return 0;
      }
      default:
        throw new UsageError(action ? `unknown action "${action}": use list, get, set, delete, enable, disable, history, schedule or stale` : 'use: weir flags list|get|set|delete|enable|disable|history|schedule|stale');
    }
  },
};
