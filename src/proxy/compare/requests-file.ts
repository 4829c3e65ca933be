import type { CompareRequest } from './examples.ts';

/** One line of a requests file that could not be read. */
export interface RequestsFileError {
  line: number;
  message: string;
}

/**
 * Parses a requests file: JSON lines of `{ method, path, headers?, body? }`. Blank lines and lines
 * starting with `#` are skipped; `method` defaults to GET; a `body` that is not a string is sent as its
 * JSON text. Pure: returns the requests and the errors (with line numbers), never throws.
 * @example
 * parseRequestsFile('{"method":"GET","path":"/users/1"}\n{"path":"/users/2","headers":{"accept":"application/json"}}\n')
 * // → { requests: [{ method: 'GET', path: '/users/1' }, { method: 'GET', path: '/users/2', headers: {...} }], errors: [] }
 */
export function parseRequestsFile(text: string): { requests: CompareRequest[]; errors: RequestsFileError[] } {
  const requests: CompareRequest[] = [];
  const errors: RequestsFileError[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const line = i + 1;
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch (err) {
      errors.push({ line, message: `not JSON: ${(err as Error).message}` });
      continue;
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      errors.push({ line, message: 'expected an object like {"method":"GET","path":"/users/1"}' });
      continue;
    }
    const o = v as Record<string, unknown>;
    const method = o.method ?? 'GET';
    if (typeof method !== 'string' || !/^[A-Za-z]+$/.test(method)) {
      errors.push({ line, message: '"method" must be an HTTP method such as GET' });
      continue;
    }
    if (typeof o.path !== 'string' || !o.path.startsWith('/')) {
      errors.push({ line, message: '"path" must be a string starting with /' });
      continue;
    }
    const req: CompareRequest = { method: method.toUpperCase(), path: o.path };
    if (o.headers !== undefined) {
      const h = o.headers;
      const ok = h !== null && typeof h === 'object' && !Array.isArray(h) && Object.values(h).every((x) => typeof x === 'string' || (Array.isArray(x) && x.every((y) => typeof y === 'string')));
      if (!ok) {
        errors.push({ line, message: '"headers" must be an object of strings (or lists of strings)' });
        continue;
      }
      req.headers = h as Record<string, string | string[]>;
    }
    if (o.body !== undefined && o.body !== null) req.body = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
    requests.push(req);
  }
  return { requests, errors };
}
