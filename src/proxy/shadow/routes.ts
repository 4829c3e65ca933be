import { WeirError } from '../../errors.ts';
import { sendJson } from '../../control/http.ts';
import type { ApiRoute } from '../../control/route.ts';
import type { Proxy } from '../server.ts';
import { copyPaused } from './gate.ts';

/**
 * `GET /api/v1/services/{name}/shadow`: the service's shadow settings and the proxy's copy counters
 * (sampled, sent, completed, failed, inflight, dropped by reason).
 * @example const routes = createShadowRoutes(() => proxy);
 */
export function createShadowRoutes(getProxy: () => Proxy | undefined): ApiRoute[] {
  return [{
    method: 'GET', path: '/api/v1/services/{name}/shadow', scope: 'read',
    handler: (_req, res, ctx) => {
      const proxy = getProxy();
      if (!proxy) throw new WeirError('UPSTREAM_UNAVAILABLE', 'no proxy runs in this process');
      const svc = proxy.table.services.find((s) => s.route.name === ctx.params.name);
      if (!svc) throw new WeirError('NOT_FOUND', `no service named "${ctx.params.name}"`);
      const st = proxy.taps.shadow.get(ctx.params.name);
      sendJson(res, 200, { service: ctx.params.name, shadow: svc.route.shadow ?? null, counters: st?.counters ?? null, paused: st ? copyPaused(st.health, proxy.now()) : false });
    },
  }];
}
