import { apiCall, resolveTarget } from '../client.ts';
import { parse } from '../args.ts';
import { UsageError } from '../command.ts';
import type { Command } from '../command.ts';

export const tokensCommand: Command = {
  name: 'tokens',
  summary: 'Create, list and delete API tokens (admin, operator, read)',
  help: `Usage: weir tokens create NAME --scope admin|operator|read
       weir tokens list
       weir tokens delete NAME

Tokens are kept in the state store as hashes; 'create' prints the token once. Scopes: read can look,
operator can also change traffic (weights, rollouts, posting events), admin can do anything.
A 'weir proxy' needs operator (read is enough for the routing table alone).

Options:
      --scope SCOPE     for create (default: read)
      --url URL         the control API (default: WEIR_URL, else http://127.0.0.1:8081)
      --token TOKEN     an admin token (default: WEIR_TOKEN, WEIR_ADMIN_TOKEN, <dataDir>/admin-token)
      --data-dir DIR    where to find admin-token (default: WEIR_DATA_DIR, else .weir)
      --json            print JSON`,
  async run(args, io) {
    const { values, positionals } = parse(args, {
      scope: { type: 'string' }, url: { type: 'string' }, token: { type: 'string' }, 'data-dir': { type: 'string' }, json: { type: 'boolean' },
    }, true);
    const [action, name, ...extra] = positionals;
    if (extra.length) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
    const target = resolveTarget({ url: values.url, token: values.token, dataDir: values['data-dir'] }, io.env, io.cwd);
    const out = (v: unknown, text: string) => io.stdout(values.json ? `${JSON.stringify(v)}\n` : text);
    if (action === 'create') {
      if (!name) throw new UsageError('give the token a name: weir tokens create NAME --scope read');
      const r = await apiCall<{ name: string; scope: string; token: string }>(target, 'POST', '/api/v1/tokens', { name, scope: values.scope ?? 'read' });
      out(r, `token "${r.name}" (scope ${r.scope}), shown once:\n${r.token}\n`);
      return 0;
    }
    if (action === 'list') {
      const r = await apiCall<{ tokens: Array<{ name: string; scope: string; createdAt: number; createdBy: string }> }>(target, 'GET', '/api/v1/tokens');
      out(r, r.tokens.length === 0 ? 'no tokens (the bootstrap admin token is not listed)\n'
        : r.tokens.map((t) => `${t.name.padEnd(24)} ${t.scope.padEnd(9)} created ${new Date(t.createdAt).toISOString()} by ${t.createdBy}`).join('\n') + '\n');
      return 0;
    }
    if (action === 'delete') {
      if (!name) throw new UsageError('which token? weir tokens delete NAME');
      const r = await apiCall(target, 'DELETE', `/api/v1/tokens/${encodeURIComponent(name)}`);
      out(r, `token "${name}" deleted\n`);
      return 0;
    }
    throw new UsageError(action ? `unknown action "${action}": use create, list or delete` : 'use: weir tokens create|list|delete');
  },
};
