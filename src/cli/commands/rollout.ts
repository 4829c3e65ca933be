import { apiCall, resolveTarget } from '../client.ts';
import type { ApiTarget } from '../client.ts';
import { parse } from '../args.ts';
import { UsageError } from '../command.ts';
import type { CliIO, Command } from '../command.ts';
import { formatRollout } from './rollout-format.ts';
import type { RolloutView } from './rollout-format.ts';

const ACTIONS = ['start', 'status', 'promote', 'pause', 'resume', 'abort', 'retry', 'list'] as const;
const FINAL = ['Succeeded', 'Failed', 'Aborted'];

async function watch(target: ApiTarget, service: string, io: CliIO, json: boolean): Promise<number> {
  let last = '';
  for (;;) {
    const v = await apiCall<RolloutView>(target, 'GET', `/api/v1/services/${encodeURIComponent(service)}/rollout`);
    const key = `${v.phase}/${v.step}/${v.runs.length}/${v.message}`;
    if (key !== last) {
      io.stdout(json ? `${JSON.stringify(v)}\n` : `${new Date().toISOString()}\n${formatRollout(v, 1)}\n`);
      last = key;
    }
    if (FINAL.includes(v.phase)) return v.phase === 'Succeeded' ? 0 : 1;
    const stopped = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 1000);
      io.signal.addEventListener('abort', () => { clearTimeout(t); resolve(true); }, { once: true });
    });
    if (stopped || io.signal.aborted) return 0;
  }
}

export const rolloutCommand: Command = {
  name: 'rollout',
  summary: 'Canary and blue/green rollouts: start, status, promote, pause, resume, abort, retry',
  help: `Usage: weir rollout <action> SERVICE [options]

Actions:
  start SERVICE --to VERSION   start a rollout of a deployed version (its steps come from weir.yaml)
  status SERVICE [--watch]     phase, step, weights, and each analysis run with its numbers
  promote SERVICE [--full]     skip to the next step (or --full: straight to 100%)
  pause SERVICE | resume SERVICE
  abort SERVICE [--reason T]   all traffic back to the stable version now
  retry SERVICE                start a Failed or Aborted rollout again from its first step
  list                         every service's rollout

Phases: Progressing, Paused, Succeeded, Failed (rolled back), Aborted. With --watch, status follows
the rollout until it finishes; the exit code is 0 when it Succeeded, 1 otherwise.

Examples:
  weir rollout start shop --to canary
  weir rollout status shop --watch
  weir rollout promote shop

Options:
      --to VERSION     (start) the version to roll out
      --full           (promote) promote to 100% at once
      --reason TEXT    (abort) why, for the audit log
      --watch          (status) follow until the rollout finishes
      --json           print the API's JSON
      --url URL        the control API (default: $WEIR_URL or http://127.0.0.1:8081)
      --token TOKEN    API token (default: $WEIR_TOKEN, $WEIR_ADMIN_TOKEN or .weir/admin-token)`,
  async run(args, io) {
    const { values, positionals } = parse(args, {
      to: { type: 'string' }, full: { type: 'boolean' }, reason: { type: 'string' }, watch: { type: 'boolean' },
      json: { type: 'boolean' }, url: { type: 'string' }, token: { type: 'string' },
    }, true);
    const [action, service] = positionals as [(typeof ACTIONS)[number] | undefined, string | undefined];
    if (!action || !ACTIONS.includes(action)) throw new UsageError(`say what to do: ${ACTIONS.join(', ')}`);
    const target = resolveTarget(values, io.env, io.cwd);
    if (action === 'list') {
      const all = await apiCall<{ rollouts: RolloutView[]; halted: unknown }>(target, 'GET', '/api/v1/rollouts');
      io.stdout(values.json ? `${JSON.stringify(all, null, 2)}\n` : `${all.halted ? 'HALTED — rollouts are frozen (weir unhalt)\n' : ''}${all.rollouts.map((r) => formatRollout(r, 1)).join('\n') || 'no rollouts\n'}`);
      return 0;
    }
    if (!service || positionals.length > 2) throw new UsageError(`weir rollout ${action} needs one SERVICE`);
    const path = `/api/v1/services/${encodeURIComponent(service)}/rollout`;
    if (action === 'status' && values.watch) return watch(target, service, io, values.json ?? false);
    let view: RolloutView;
    if (action === 'status') view = await apiCall<RolloutView>(target, 'GET', path);
    else if (action === 'start') {
      if (!values.to) throw new UsageError('say which version to roll out: --to VERSION');
      view = await apiCall<RolloutView>(target, 'POST', path, { to: values.to });
    } else {
      view = await apiCall<RolloutView>(target, 'POST', `${path}/${action}`, { full: values.full ?? false, reason: values.reason });
    }
    io.stdout(values.json ? `${JSON.stringify(view, null, 2)}\n` : formatRollout(view));
    return 0;
  },
};
