import { apiCall, resolveTarget } from '../client.ts';
import { parse } from '../args.ts';
import type { Command } from '../command.ts';

const common = { url: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' }, reason: { type: 'string' } } as const;
const commonHelp = `      --reason TEXT   why, for the audit log
      --json          print the API's JSON
      --url URL       the control API (default: $WEIR_URL or http://127.0.0.1:8081)
      --token TOKEN   API token (default: $WEIR_TOKEN, $WEIR_ADMIN_TOKEN or .weir/admin-token)`;

export const haltCommand: Command = {
  name: 'halt',
  summary: 'Emergency stop: every service back to its stable version, rollouts frozen',
  help: `Usage: weir halt [--reason TEXT]

Sends every service back to its stable version at 100% (running rollouts are aborted) and freezes
rollouts: none can start, resume, be promoted or retried until 'weir unhalt'. Recorded in the audit log.

Options:
${commonHelp}`,
  async run(args, io) {
    const { values } = parse(args, common);
    const r = await apiCall<{ services: string[] }>(resolveTarget(values, io.env, io.cwd), 'POST', '/api/v1/halt', { reason: values.reason });
    io.stdout(values.json ? `${JSON.stringify(r, null, 2)}\n` : `halted: ${r.services.length ? `${r.services.join(', ')} back on their stable versions` : 'every service was already on its stable version'}; rollouts frozen until 'weir unhalt'\n`);
    return 0;
  },
};

export const unhaltCommand: Command = {
  name: 'unhalt',
  summary: 'Lift a halt: rollouts may start and move again',
  help: `Usage: weir unhalt [--reason TEXT]

Lifts 'weir halt'. Weights stay where the halt put them; aborted rollouts stay aborted
('weir rollout retry SERVICE' starts one again).

Options:
${commonHelp}`,
  async run(args, io) {
    const { values } = parse(args, common);
    const r = await apiCall(resolveTarget(values, io.env, io.cwd), 'POST', '/api/v1/unhalt', { reason: values.reason });
    io.stdout(values.json ? `${JSON.stringify(r, null, 2)}\n` : 'unhalted: rollouts may move again\n');
    return 0;
  },
};
