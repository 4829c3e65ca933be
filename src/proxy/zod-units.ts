import { z } from 'zod';
import { parseDuration } from '../util/duration.ts';

/**
 * Units shared by the proxy's config blocks (shadow, faults): durations and byte sizes, as weir.yaml
 * writes them. Kept beside the blocks so src/config/schema.ts only embeds them.
 */

/**
 * A duration: milliseconds, or `250ms`, `10s`, `1m`.
 * @example durationMs.parse('2s') // → 2000
 */
export const durationMs = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a duration: use a number of milliseconds or a string like 250ms, 10s, 1m` });
    return z.NEVER;
  }
  return ms;
});

/**
 * A size: bytes, or `64KiB`, `10MB`.
 * @example byteCount.parse('1KiB') // → 1024
 */
export const byteCount = z.union([z.number().int().nonnegative(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') return v;
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?$/i.exec(v.trim());
  if (!m) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a size: use a number of bytes or a string like 64KiB, 10MB` });
    return z.NEVER;
  }
  const mult: Record<string, number> = { b: 1, kb: 1e3, kib: 1024, mb: 1e6, mib: 1024 ** 2, gb: 1e9, gib: 1024 ** 3 };
  return Math.round(Number(m[1]) * mult[(m[2] ?? 'b').toLowerCase()]);
});

/** The methods with side effects: never copied (shadow, compare) without an explicit opt-in. */
export const UNSAFE_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Which requests a block applies to: methods, a path prefix or regular expression, header values. */
export const requestMatchSchema = z.strictObject({
  /** Methods, upper case; default: any. */
  methods: z.array(z.string().regex(/^[A-Za-z]+$/, { message: 'must be an HTTP method such as GET' })).optional(),
  pathPrefix: z.string().startsWith('/', { message: 'must start with /' }).optional(),
  /** A regular expression tested against the path (without the query string). */
  pathPattern: z.string().refine((s) => { try { new RegExp(s); return true; } catch { return false; } }, { message: 'must be a valid regular expression' }).optional(),
  /** Header name → exact value (or `*` for present). */
  headers: z.record(z.string().min(1), z.string()).optional(),
});

export type RequestMatchConfig = z.output<typeof requestMatchSchema>;

/** A compiled request match, JSON-serialisable (it travels in the routing table). */
export interface RequestMatch {
  methods?: string[];
  pathPrefix?: string;
  pathPattern?: string;
  /** Lower-case header name → value (`*` = present). */
  headers?: Record<string, string>;
}

/** The config's match as it goes into the routing table. */
export function requestMatchOf(m: RequestMatchConfig | undefined): RequestMatch {
  if (!m) return {};
  const out: RequestMatch = {};
  if (m.methods) out.methods = m.methods.map((x) => x.toUpperCase());
  if (m.pathPrefix) out.pathPrefix = m.pathPrefix;
  if (m.pathPattern) out.pathPattern = m.pathPattern;
  if (m.headers) out.headers = Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [k.toLowerCase(), v]));
  return out;
}

/** A match compiled once per routing table. */
export interface CompiledMatch {
  methods: ReadonlySet<string> | null;
  pathPrefix: string | null;
  pathPattern: RegExp | null;
  headers: ReadonlyArray<[string, string]>;
}

export function compileMatch(m: RequestMatch): CompiledMatch {
  return {
    methods: m.methods ? new Set(m.methods) : null,
    pathPrefix: m.pathPrefix ?? null,
    pathPattern: m.pathPattern ? new RegExp(m.pathPattern) : null,
    headers: Object.entries(m.headers ?? {}),
  };
}

/**
 * True when a request matches. Pure.
 * @example matches(compileMatch({ methods: ['GET'] }), 'GET', '/a', {}) // → true
 */
export function matches(m: CompiledMatch, method: string, path: string, view: Readonly<Record<string, string>>): boolean {
  if (m.methods !== null && !m.methods.has(method)) return false;
  if (m.pathPrefix !== null && !path.startsWith(m.pathPrefix)) return false;
  if (m.pathPattern !== null && !m.pathPattern.test(path)) return false;
  for (const [name, value] of m.headers) {
    const v = view[name];
    if (v === undefined || (value !== '*' && v !== value)) return false;
  }
  return true;
}
