import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual, createHash } from 'node:crypto';
import { WeirError, errorBody } from '../errors.ts';
import { sendJson } from './http.ts';
import type { ApiRoute, Principal, RouteContext } from './route.ts';

/** A bearer token (or the hex SHA-256 of one, as the state store keeps them) and what it may do. */
export type TokenGrant =
  | { token: string; principal: Principal }
  | { sha256: string; principal: Principal };

export interface ControlServerOptions {
  routes: ApiRoute[];
  /** Called on every request, so a cached list that changes (tokens created or deleted) applies at once. */
  tokens: () => readonly TokenGrant[];
  /** Extra ways a client may present its token (OFREP's X-API-Key). */
  tokenHeaders?: string[];
}

interface CompiledRoute {
  route: ApiRoute;
  pattern: RegExp;
  names: string[];
}

const SCOPE_RANK = { read: 1, operator: 2, admin: 3 } as const;

function compile(route: ApiRoute): CompiledRoute {
  const names: string[] = [];
  const src = route.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_m, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { route, pattern: new RegExp(`^${src}$`), names };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** A path parameter, percent-decoded; bad escapes (`%zz`) are the client's error, not the server's. */
function decodeParam(name: string, raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new WeirError('BAD_REQUEST', `the {${name}} part of the path is not valid percent-encoding: ${raw}`);
  }
}

/**
 * The control API's HTTP server: matches routes, checks bearer tokens against each route's scope,
 * and serialises every failure as `{ error: { code, message, details } }` with a stable code.
 *
 * @example
 *   const server = createControlServer({ routes, tokens: () => [{ token, principal: { scope: 'admin', name: 'admin' } }] });
 *   await listenOn(server, 8081, '127.0.0.1');
 */
export function createControlServer(opts: ControlServerOptions): Server {
  const compiled = opts.routes.map(compile);
  const tokenHeaders = opts.tokenHeaders ?? [];
  const authenticate = (req: IncomingMessage): Principal | null => {
    let presented: string | undefined;
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ')) presented = auth.slice(7).trim();
    for (const h of tokenHeaders) presented ??= req.headers[h] as string | undefined;
    if (!presented) return null;
    const p = digest(presented);
    // Compare digests, not tokens: equal lengths for timingSafeEqual, and stored tokens are only hashes.
    for (const g of opts.tokens()) {
      const h = 'token' in g ? digest(g.token) : Buffer.from(g.sha256, 'hex');
      if (h.length === p.length && timingSafeEqual(p, h)) return g.principal;
    }
    return null;
  };
  return createServer(async (req: IncomingMessage, res: ServerResponse) => {
    try {
      const url = new URL(req.url ?? '/', 'http://control');
      const allowed: string[] = [];
      for (const c of compiled) {
        const m = c.pattern.exec(url.pathname);
        if (!m) continue;
        if (c.route.method !== req.method && !(req.method === 'HEAD' && c.route.method === 'GET')) {
          allowed.push(c.route.method);
          continue;
        }
        const params: Record<string, string> = {};
        c.names.forEach((n, i) => (params[n] = decodeParam(n, m[i + 1])));
        const principal = authenticate(req);
        if (c.route.scope !== 'public') {
          if (!principal) throw new WeirError('UNAUTHORIZED', 'send a token: Authorization: Bearer <token> (the admin token is printed by `weir up` and stored in <dataDir>/admin-token)');
          if (SCOPE_RANK[principal.scope] < SCOPE_RANK[c.route.scope]) throw new WeirError('FORBIDDEN', `this needs a token with scope "${c.route.scope}"; yours has "${principal.scope}"`);
        }
        const ctx: RouteContext = { url, params, principal };
        await c.route.handler(req, res, ctx);
        return;
      }
      if (allowed.length > 0) {
        const methods = [...new Set(allowed)];
        res.setHeader('allow', methods.join(', '));
        throw new WeirError('METHOD_NOT_ALLOWED', `${req.method} is not supported on ${url.pathname}; use ${methods.join(' or ')}`);
      }
      throw new WeirError('NOT_FOUND', `no API route ${req.method} ${url.pathname}`);
    } catch (err) {
      const { status, body } = errorBody(err);
      if (status === 500) console.error('weir: control API error:', err);
      if (!res.headersSent) sendJson(res, status, body);
      else res.destroy();
    }
  });
}

export async function listenOn(server: Server, port: number, host: string): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server.address() as AddressInfo;
}
