import { WeirError } from '../errors.ts';
import { parseJson, readBody, sendJson } from '../control/http.ts';
import type { ApiRoute } from '../control/route.ts';
import type { StateStore } from '../store/types.ts';
import type { RolloutController } from './controller.ts';
import { weightsOf } from './machine.ts';
import type { RolloutState } from './types.ts';
import type { IncomingMessage } from 'node:http';

async function optionalJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const raw = await readBody(req, 64 * 1024);
  if (raw.length === 0) return {};
  const v = parseJson(raw);
  return v && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : {};
}

/** A rollout as the API shows it: the state, its weights and the latest analysis runs. */
export async function describeRollout(store: StateStore, state: RolloutState, revision: number, runs = 20): Promise<Record<string, unknown>> {
  const all = await store.listAnalysisRuns(state.service, runs);
  return {
    service: state.service, id: state.id, revision, phase: state.phase, step: state.step, steps: state.spec.steps.length,
    currentStep: state.spec.steps[state.step] ?? null, stable: state.stable, canary: state.canary, weight: state.weight,
    weights: weightsOf(state), message: state.message, pauseReason: state.pauseReason ?? null, blockedBy: state.blockedBy ?? null,
    analysis: state.analysis ?? null, startedAt: state.startedAt, updatedAt: state.updatedAt, finishedAt: state.finishedAt ?? null,
    history: state.history, spec: state.spec,
    // A run stored just before a crash (its result not yet in the state) is run again under the next id; ids are unique.
    runs: [...new Map(all.map((r) => r.run as { id: string; rolloutId?: string }).filter((r) => r.rolloutId === state.id).map((r) => [r.id, r])).values()],
  };
}

const ACTIONS = ['promote', 'pause', 'resume', 'abort', 'retry'] as const;

/**
 * The rollout API: start, status, promote/pause/resume/abort/retry, halt/unhalt.
 *
 * @example
 *   // POST /api/v1/services/shop/rollout {"to":"canary"}; GET /api/v1/services/shop/rollout
 *   const routes = createRolloutRoutes(controller, store);
 */
export function createRolloutRoutes(c: RolloutController, store: StateStore): ApiRoute[] {
  const show = async (service: string) => {
    const r = await c.get(service);
    if (!r) throw new WeirError('NOT_FOUND', `${service} has no rollout; start one with weir rollout start ${service} --to VERSION`);
    return describeRollout(store, r.state, r.revision);
  };
  return [
    {
      method: 'GET', path: '/api/v1/rollouts', scope: 'read',
      handler: async (_req, res) => {
        const list = (await store.listRollouts()).filter((r) => !r.service.startsWith('*'));
        sendJson(res, 200, { halted: c.halted ?? null, rollouts: await Promise.all(list.map((r) => describeRollout(store, r.state as RolloutState, r.revision, 3))) });
      },
    },
    { method: 'GET', path: '/api/v1/services/{name}/rollout', scope: 'read', handler: async (_req, res, ctx) => sendJson(res, 200, await show(ctx.params.name)) },
    {
      method: 'POST', path: '/api/v1/services/{name}/rollout', scope: 'operator',
      handler: async (req, res, ctx) => {
        const body = await optionalJson(req);
        const to = body.to ?? body.canary;
        if (typeof to !== 'string' || !to) throw new WeirError('BAD_REQUEST', 'say which version to roll out: {"to": "canary"}');
        await c.start(ctx.params.name, to, ctx.principal?.name ?? 'unknown');
        sendJson(res, 201, await show(ctx.params.name));
      },
    },
    {
      method: 'POST', path: '/api/v1/services/{name}/rollout/{action}', scope: 'operator',
      handler: async (req, res, ctx) => {
        const action = ctx.params.action as (typeof ACTIONS)[number];
        if (!ACTIONS.includes(action)) throw new WeirError('NOT_FOUND', `no rollout action "${action}" (actions: ${ACTIONS.join(', ')})`);
        const body = await optionalJson(req);
        const actor = ctx.principal?.name ?? 'unknown';
        const reason = typeof body.reason === 'string' ? body.reason : undefined;
        if (action === 'promote') await c.act(ctx.params.name, { type: 'promote', actor, full: body.full === true });
        else if (action === 'abort') await c.act(ctx.params.name, { type: 'abort', actor, reason });
        else await c.act(ctx.params.name, { type: action, actor });
        sendJson(res, 200, await show(ctx.params.name));
      },
    },
    {
      method: 'GET', path: '/api/v1/halt', scope: 'read',
      handler: (_req, res) => sendJson(res, 200, { halted: c.halted !== undefined, ...(c.halted ?? {}) }),
    },
    {
      method: 'POST', path: '/api/v1/halt', scope: 'operator',
      handler: async (req, res, ctx) => {
        const body = await optionalJson(req);
        const r = await c.halt(ctx.principal?.name ?? 'unknown', typeof body.reason === 'string' ? body.reason : undefined);
        sendJson(res, 200, { halted: true, ...r });
      },
    },
    {
      method: 'POST', path: '/api/v1/unhalt', scope: 'operator',
      handler: async (req, res, ctx) => {
        const body = await optionalJson(req);
        await c.unhalt(ctx.principal?.name ?? 'unknown', typeof body.reason === 'string' ? body.reason : undefined);
        sendJson(res, 200, { halted: false });
      },
    },
  ];
}
