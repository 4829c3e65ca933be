import { WeirError } from '../../errors.ts';
import { readJson, sendJson } from '../../control/http.ts';
import type { ApiRoute } from '../../control/route.ts';
import type { ControlPlane } from '../../control/plane.ts';
import type { Proxy } from '../server.ts';
import { windowCounts } from './choose.ts';

/** A service's faults as the API shows them: the rules in force, the policy, and the proxy's live state. */
export function describeFaults(plane: ControlPlane, proxy: Proxy | undefined, name: string, now: number): Record<string, unknown> {
  const route = plane.table.services.find((s) => s.name === name);
  if (!route) throw new WeirError('NOT_FOUND', `no service named "${name}"`);
  const st = proxy?.taps.faults.get(name);
  const rules = (route.faults ?? []).filter((r) => r.until === undefined || r.until >= now);
  return {
    service: name,
    source: plane.faults[name] !== undefined ? 'api' : 'config',
    rules,
    policy: route.faultPolicy ?? null,
    active: st?.stopped ? 0 : rules.length,
    injected: st?.injected ?? 0,
    byRule: st?.byRule ?? {},
    stopped: st?.stopped ?? null,
    window: st ? windowCounts(st.window, now) : { total: 0, errors: 0 },
  };
}

/**
 * `POST /api/v1/services/{name}/faults` (body `{ faults: [...], durationMs?, reason? }`: replace the
 * rules), `GET` (rules, policy, injected counts, automatic stop), `DELETE` (body optional
 * `{ reason?, report? }`: remove the API-set rules, so weir.yaml's apply again; `?all=1` silences those
 * too until the next change; a drill's report is stored in the audit log).
 * @example const routes = createFaultRoutes(plane, () => proxy);
 */
export function createFaultRoutes(plane: ControlPlane, getProxy: () => Proxy | undefined, now: () => number = Date.now): ApiRoute[] {
  const path = '/api/v1/services/{name}/faults';
  return [
    { method: 'GET', path, scope: 'read', handler: (_req, res, ctx) => sendJson(res, 200, describeFaults(plane, getProxy(), ctx.params.name, now())) },
    {
      method: 'POST', path, scope: 'operator',
      handler: async (req, res, ctx) => {
        const body = await readJson(req) as { faults?: unknown; durationMs?: number; reason?: string } | unknown[];
        const b = Array.isArray(body) ? { faults: body } : (body ?? {}) as { faults?: unknown; durationMs?: number; reason?: string };
        await plane.setFaults(ctx.params.name, b.faults ?? [], ctx.principal?.name ?? 'unknown', { reason: b.reason, durationMs: b.durationMs });
        sendJson(res, 200, describeFaults(plane, getProxy(), ctx.params.name, now()));
      },
    },
    {
      method: 'DELETE', path, scope: 'operator',
      handler: async (req, res, ctx) => {
        const len = Number(req.headers['content-length'] ?? 0);
        const b = (len > 0 || req.headers['transfer-encoding'] ? await readJson(req) : {}) as { reason?: string; report?: unknown };
        const all = ctx.url.searchParams.get('all');
        await plane.clearFaults(ctx.params.name, ctx.principal?.name ?? 'unknown', { reason: b.reason, report: b.report, keepConfigRules: all !== '1' && all !== 'true' });
        sendJson(res, 200, describeFaults(plane, getProxy(), ctx.params.name, now()));
      },
    },
  ];
}
