import type { IncomingMessage, ServerResponse } from 'node:http';

/** Who is calling, after the control server checked the bearer token. */
export interface Principal {
  /** `admin` can do anything, `operator` can change traffic, `read` can only look. */
  scope: 'admin' | 'operator' | 'read';
  name: string;
}

export interface RouteContext {
  url: URL;
  /** Path parameters, from `{name}` segments in the route's path. */
  params: Record<string, string>;
  principal: Principal | null;
}

/**
 * One control-API route. Feature folders export arrays of these (e.g. `createEventsRoutes(store)`);
 * the control server matches method and path, checks auth for `scope` (`public` needs no token),
 * and turns a thrown WeirError into `{ error: { code, message, details } }` with its status.
 */
export interface ApiRoute {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** e.g. `/api/v1/services/{name}/weights` */
  path: string;
  scope: 'public' | 'read' | 'operator' | 'admin';
  handler(req: IncomingMessage, res: ServerResponse, ctx: RouteContext): Promise<void> | void;
}
