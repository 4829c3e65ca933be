import { WeirError } from '../errors.ts';
import type { Proxy } from '../proxy/server.ts';
import type { ServiceRoute } from '../proxy/table.ts';
import { readJson, sendJson } from './http.ts';
import type { ControlPlane } from './plane.ts';
import type { ApiRoute } from './route.ts';

/** A service as the API shows it: config, live weights, and live counts from the proxy. */
export function describeService(route: ServiceRoute, plane: ControlPlane, proxy: Proxy | undefined, now: number): Record<string, unknown> {
  const stats = proxy?.stats().versions;
  const runtime = proxy?.table.services.find((s) => s.route.name === route.name);
  return {
    name: route.name,
    match: route.match,
    stable: route.stable,
    stickyBy: route.sticky.kind === 'header' || route.sticky.kind === 'cookie' || route.sticky.kind === 'query' ? `${route.sticky.kind}:${route.sticky.name}` : route.sticky.kind,
    weights: route.weights,
    weightsSource: plane.overrides[route.name] ? 'api' : 'config',
    versions: route.versions.map((v) => {
      const s = stats?.get(`${route.name}\u0000${v.name}`);
      const rv = runtime?.versions.get(v.name);
      return {
        name: v.name,
        weight: route.weights[v.name] ?? 0,
        upstreams: (rv?.instances ?? []).map((i) => ({ url: i.url, pending: i.pending, ejected: i.isEjected(now), ejections: i.ejections })),
        requests: s?.requests ?? 0,
        inflight: s?.inflight ?? 0,
        errors: s?.errors ?? 0,
      };
    }),
    cohorts: route.cohorts.map((c) => ({ match: { [c.source]: c.name, [c.op]: c.op === 'in' ? c.values : c.values[0] }, version: c.version })),
    testTraffic: { tokens: route.testTokens.length },
  };
}

/** GET /api/v1/services, GET /api/v1/services/{name}, PUT /api/v1/services/{name}/weights. */
export function createServicesRoutes(plane: ControlPlane, proxy: () => Proxy | undefined, now: () => number = Date.now): ApiRoute[] {
  const find = (name: string): ServiceRoute => {
    const route = plane.table.services.find((s) => s.name === name);
    if (!route) throw new WeirError('NOT_FOUND', `no service named "${name}" (services: ${plane.table.services.map((s) => s.name).join(', ') || 'none'})`);
    return route;
  };
  return [
    {
      method: 'GET', path: '/api/v1/services', scope: 'read',
      handler: (_req, res) => sendJson(res, 200, {
        tableVersion: plane.table.version,
        services: plane.table.services.map((s) => describeService(s, plane, proxy(), now())),
      }),
    },
    {
      method: 'GET', path: '/api/v1/services/{name}', scope: 'read',
      handler: (_req, res, ctx) => sendJson(res, 200, describeService(find(ctx.params.name), plane, proxy(), now())),
    },
    {
      method: 'PUT', path: '/api/v1/services/{name}/weights', scope: 'operator',
      handler: async (req, res, ctx) => {
        find(ctx.params.name);
        const body = await readJson(req);
        const { weights, reason } = (body && typeof body === 'object' && 'weights' in body)
          ? body as { weights: unknown; reason?: string }
          : { weights: body, reason: undefined };
        const table = await plane.setWeights(ctx.params.name, weights, ctx.principal?.name ?? 'unknown', reason);
        const route = table.services.find((s) => s.name === ctx.params.name)!;
        sendJson(res, 200, { ...describeService(route, plane, proxy(), now()), tableVersion: table.version });
      },
    },
    {
      method: 'GET', path: '/api/v1/audit', scope: 'read',
      handler: async (_req, res, ctx) => {
        const limit = Number(ctx.url.searchParams.get('limit') ?? 100);
        const target = ctx.url.searchParams.get('target') ?? undefined;
        sendJson(res, 200, { entries: await plane.store.listAudit({ limit, target }) });
      },
    },
  ];
}
