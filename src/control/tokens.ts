import { randomBytes, createHash } from 'node:crypto';
import { readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { WeirError } from '../errors.ts';
import type { StateStore, TokenRecord } from '../store/types.ts';
import { readJson, sendJson } from './http.ts';
import type { ApiRoute, Principal } from './route.ts';
import type { TokenGrant } from './server.ts';

/**
 * The admin token: `WEIR_ADMIN_TOKEN` if set, else the one stored in `<dataDir>/admin-token`
 * (mode 0600), else a new random one written there. `created` tells the caller to print it once.
 */
export function adminToken(dataDir: string, env: Record<string, string | undefined>): { token: string; created: boolean; source: 'env' | 'file' } {
  if (env.WEIR_ADMIN_TOKEN) return { token: env.WEIR_ADMIN_TOKEN, created: false, source: 'env' };
  const file = join(dataDir, 'admin-token');
  try {
    const token = readFileSync(file, 'utf8').trim();
    if (token) return { token, created: false, source: 'file' };
  } catch {
    // first start
  }
  const token = `weir_${randomBytes(24).toString('base64url')}`;
  writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'w' });
  chmodSync(file, 0o600);
  return { token, created: true, source: 'file' };
}

/**
 * SHA-256 of a token, hex: what the state store keeps instead of the token.
 *
 * @example
 *   hashToken('weir_abc').length // 64
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

const SCOPES = ['admin', 'operator', 'read'] as const;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/**
 * Who may call the control API: the bootstrap admin token (from `adminToken`) plus the tokens in the
 * state store, cached in memory. `reload()` re-reads the store; call it after a change and
 * periodically when other replicas can change tokens.
 */
export interface TokenRegistry {
  /** What the control server checks on every request. */
  grants(): readonly TokenGrant[];
  reload(): Promise<void>;
  /** Creates a token and returns it: the only time it is ever visible. */
  create(name: string, scope: Principal['scope'], actor: string): Promise<{ name: string; scope: Principal['scope']; token: string }>;
  list(): Promise<Array<Omit<TokenRecord, 'hash'>>>;
  /** NOT_FOUND if there is no token by that name. */
  delete(name: string, actor: string): Promise<void>;
}

/**
 * Creates the token registry over a state store.
 *
 * @example
 *   const tokens = await createTokenRegistry(store, adminToken(dataDir, env).token, Date.now);
 *   const server = createControlServer({ routes, tokens: tokens.grants });
 */
export async function createTokenRegistry(store: StateStore, bootstrapAdmin: string, now: () => number = Date.now): Promise<TokenRegistry> {
  const bootstrap: TokenGrant = { token: bootstrapAdmin, principal: { scope: 'admin', name: 'admin' } };
  let grants: readonly TokenGrant[] = [bootstrap];
  const reload = async () => {
    const rows = await store.listTokens();
    grants = [bootstrap, ...rows.map((r): TokenGrant => ({ sha256: r.hash, principal: { scope: r.scope, name: r.name } }))];
  };
  await reload();
  return {
    grants: () => grants,
    reload,
    async create(name, scope, actor) {
      if (!NAME.test(name)) throw new WeirError('VALIDATION_FAILED', `token name "${name}" must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit`);
      if (name === 'admin') throw new WeirError('VALIDATION_FAILED', 'the name "admin" is the bootstrap admin token\'s; choose another');
      if (!(SCOPES as readonly string[]).includes(scope)) throw new WeirError('VALIDATION_FAILED', `scope must be one of ${SCOPES.join(', ')}, not "${scope}"`);
      const token = `weir_${randomBytes(24).toString('base64url')}`;
      await store.createToken({ name, scope, hash: hashToken(token), createdAt: now(), createdBy: actor },
        { actor, action: 'token.create', target: `token:${name}`, after: { scope } });
      await reload();
      return { name, scope, token };
    },
    async list() {
      return (await store.listTokens()).map(({ hash: _hash, ...rest }) => rest);
    },
    async delete(name, actor) {
      const gone = await store.deleteToken(name, { actor, action: 'token.delete', target: `token:${name}` });
      if (!gone) throw new WeirError('NOT_FOUND', `no token named "${name}"`);
      await reload();
    },
  };
}

/**
 * `POST /api/v1/tokens` (admin; `{ name, scope }` → the token, shown once), `GET /api/v1/tokens`
 * (admin; names and scopes, never tokens), `DELETE /api/v1/tokens/{name}` (admin).
 *
 * @example
 *   const routes = [...createTokensRoutes(tokens), ...otherRoutes];
 */
export function createTokensRoutes(tokens: TokenRegistry): ApiRoute[] {
  return [
    {
      method: 'POST', path: '/api/v1/tokens', scope: 'admin',
      async handler(req, res, ctx) {
        const body = await readJson(req) as { name?: unknown; scope?: unknown } | null;
        if (!body || typeof body !== 'object' || typeof body.name !== 'string' || typeof body.scope !== 'string') {
          throw new WeirError('VALIDATION_FAILED', 'send { "name": "ci", "scope": "read" } (scope: admin, operator or read)');
        }
        sendJson(res, 201, await tokens.create(body.name, body.scope as Principal['scope'], ctx.principal?.name ?? 'unknown'));
      },
    },
    {
      method: 'GET', path: '/api/v1/tokens', scope: 'admin',
      handler: async (_req, res) => sendJson(res, 200, { tokens: await tokens.list() }),
    },
    {
      method: 'DELETE', path: '/api/v1/tokens/{name}', scope: 'admin',
      async handler(_req, res, ctx) {
        await tokens.delete(ctx.params.name, ctx.principal?.name ?? 'unknown');
        sendJson(res, 200, { deleted: ctx.params.name });
      },
    },
  ];
}
