import { WeirError } from '../../errors.ts';
import { sendJson } from '../../control/http.ts';
import type { ApiRoute } from '../../control/route.ts';
import type { Proxy } from '../server.ts';
import { newCounters } from '../shadow/gate.ts';
import type { CompareState } from './live.ts';

function stateOf(proxy: Proxy | undefined, name: string): CompareState {
  if (!proxy) throw new WeirError('UPSTREAM_UNAVAILABLE', 'no proxy runs in this process');
  const svc = proxy.table.services.find((s) => s.route.name === name);
  if (!svc) throw new WeirError('NOT_FOUND', `no service named "${name}" (services: ${proxy.table.services.map((s) => s.route.name).join(', ') || 'none'})`);
  const st = proxy.taps.compare.get(name);
  if (!svc.route.compare || !st) throw new WeirError('NOT_FOUND', `service "${name}" has no compare: block in weir.yaml (see docs/tap-compare.md)`);
  return st;
}

/**
 * The live tap-compare API: `GET /api/v1/services/{name}/compare` (the report so far, as JSON, with the
 * copy counters) and `DELETE /api/v1/services/{name}/compare` (start afresh).
 * @example const routes = [...createCompareRoutes(() => proxy)];
 */
export function createCompareRoutes(getProxy: () => Proxy | undefined): ApiRoute[] {
  return [
    {
      method: 'GET', path: '/api/v1/services/{name}/compare', scope: 'read',
      handler: (_req, res, ctx) => {
        const st = stateOf(getProxy(), ctx.params.name);
        sendJson(res, 200, { service: ctx.params.name, counters: st.counters, report: st.collector.report() });
      },
    },
    {
      method: 'DELETE', path: '/api/v1/services/{name}/compare', scope: 'operator',
      handler: (_req, res, ctx) => {
        const st = stateOf(getProxy(), ctx.params.name);
        st.collector.reset();
        const inflight = st.counters.inflight;
        st.counters = { ...newCounters(), inflight };
        sendJson(res, 200, { service: ctx.params.name, reset: true });
      },
    },
  ];
}
