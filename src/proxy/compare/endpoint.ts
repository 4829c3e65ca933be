/**
 * Endpoint names for findings: differences are counted per endpoint, so requests to `/users/1` and
 * `/users/2` must land under one name. By default a path's numeric, UUID and long hex segments become
 * `{id}` (`GET /users/{id}/orders`); a configured list of method + path patterns overrides that.
 */

/** A configured endpoint: requests matching `method` (any when absent) and `path` are named `name`. */
export interface EndpointPattern {
  name: string;
  /** HTTP method, case-insensitive; absent or `*` for any. */
  method?: string;
  /**
   * Path pattern: literal segments, `:param` or `{param}` for one segment, `*` for one segment, `**` for
   * the rest of the path (zero or more segments). The query string is ignored.
   */
  path: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NUMERIC = /^\d+$/;
const LONG_HEX = /^(?=.*\d)[0-9a-f]{16,}$/i;

function pathOnly(path: string): string {
  const q = path.indexOf('?');
  const p = q < 0 ? path : path.slice(0, q);
  return p === '' ? '/' : p;
}

/**
 * The default route template of a path: numeric, UUID and long hex (16+ digits) segments become `{id}`.
 * @example normalizePath('/users/42/orders/9b2f0c7e-1d2a-4f6b-8c3d-5e6f7a8b9c0d?x=1') // → '/users/{id}/orders/{id}'
 */
export function normalizePath(path: string): string {
  return pathOnly(path)
    .split('/')
    .map((s) => (NUMERIC.test(s) || UUID.test(s) || LONG_HEX.test(s) ? '{id}' : s))
    .join('/');
}

function compilePattern(path: string): RegExp {
  const parts = pathOnly(path).split('/').map((seg) => {
    if (seg === '**') return '(?:/.*)?';
    if (seg === '*' || /^:\w+$/.test(seg) || /^\{\w+\}$/.test(seg)) return '/[^/]+';
    return `/${seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`;
  });
  // split('/') of '/a/b' starts with '' — drop the leading empty segment's slash.
  const src = parts[0] === '/' ? parts.slice(1).join('') : parts.join('');
  return new RegExp(`^${src || '/'}/?$`);
}

/** Resolves a request's method and path to an endpoint name. */
export type EndpointResolver = (method: string, path: string) => string;

/**
 * An endpoint resolver: the first matching pattern's name, else `METHOD /normalised/{id}/path`.
 * @example
 * const endpointOf = createEndpointResolver([{ name: 'search', method: 'GET', path: '/search/**' }]);
 * endpointOf('GET', '/search/a/b?q=1') // → 'search'
 * endpointOf('get', '/users/7')        // → 'GET /users/{id}'
 */
export function createEndpointResolver(patterns: readonly EndpointPattern[] = []): EndpointResolver {
  const compiled = patterns.map((p) => ({
    name: p.name,
    method: p.method === undefined || p.method === '*' ? null : p.method.toUpperCase(),
    re: compilePattern(p.path),
  }));
  return (method, path) => {
    const m = method.toUpperCase();
    const p = pathOnly(path);
    for (const c of compiled) if ((c.method === null || c.method === m) && c.re.test(p)) return c.name;
    return `${m} ${normalizePath(p)}`;
  };
}
