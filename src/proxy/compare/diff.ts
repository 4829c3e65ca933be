import type { CompareResponse, Difference } from './types.ts';
import { compileRules, type CompiledRules } from './rules.ts';
import { diffHeaders, headerValue } from './headers.ts';
import { diffJsonBodies } from './json-diff.ts';
import { JsonScanError } from './json-scan.ts';

const CONTEXT_BEFORE = 24;
const CONTEXT_AFTER = 56;

function asBuffer(body: Uint8Array): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/**
 * True for JSON media types: `application/json`, `application/problem+json`, `text/json`, with parameters.
 * @example isJsonContentType('application/vnd.api+json; charset=utf-8') // → true
 */
export function isJsonContentType(ct: string | undefined): boolean {
  if (ct === undefined) return false;
  const base = ct.split(';', 1)[0].trim().toLowerCase();
  return base.endsWith('/json') || base.endsWith('+json');
}

function looksLikeJson(body: Buffer): boolean {
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
    return c === 0x7b || c === 0x5b;
  }
  return false;
}

/**
 * Diffs two non-JSON bodies: nothing when byte-identical, else one `text` difference with a short context
 * around the first differing byte (`offset`).
 * @example diffTextBodies(Buffer.from('hello world'), Buffer.from('hello there'), 200)
 *   // → [{ section: 'body', path: '', kind: 'text', offset: 6, left: 'hello world', right: 'hello there' }]
 */
export function diffTextBodies(a: Buffer, b: Buffer, maxChars: number): Difference[] {
  if (a.equals(b)) return [];
  const n = Math.min(a.length, b.length);
  let p = 0;
  while (p < n && a[p] === b[p]) p++;
  const from = Math.max(0, p - CONTEXT_BEFORE);
  const snippet = (buf: Buffer): string => {
    const to = Math.min(buf.length, p + CONTEXT_AFTER);
    const text = buf.toString('utf8', from, to);
    const cut = text.length > maxChars ? `${text.slice(0, maxChars - 1)}…` : text;
    return `${from > 0 ? '…' : ''}${cut}${to < buf.length ? '…' : ''}`;
  };
  return [{ section: 'body', path: '', kind: 'text', offset: p, left: snippet(a), right: snippet(b) }];
}

function bodyIsJson(left: CompareResponse, right: CompareResponse, a: Buffer, b: Buffer, rules: CompiledRules): boolean {
  if (rules.bodyMode === 'json') return true;
  if (rules.bodyMode === 'text') return false;
  const cta = left.contentType ?? headerValue(left.headers, 'content-type');
  const ctb = right.contentType ?? headerValue(right.headers, 'content-type');
  if (cta !== undefined || ctb !== undefined) return isJsonContentType(cta) && isJsonContentType(ctb);
  return looksLikeJson(a) && looksLikeJson(b);
}

/**
 * Diffs two bodies as JSON or as text according to the rules and content types. JSON that does not
 * scan falls back to the text comparison.
 * @example diffBodies(primary, candidate, compileRules())
 */
export function diffBodies(left: CompareResponse, right: CompareResponse, rules: CompiledRules): Difference[] {
  const a = asBuffer(left.body);
  const b = asBuffer(right.body);
  if (a.length === b.length && a.equals(b)) return [];
  if (a.length <= rules.maxJsonBytes && b.length <= rules.maxJsonBytes && bodyIsJson(left, right, a, b, rules)) {
    try {
      return diffJsonBodies(a, b, rules);
    } catch (err) {
      if (!(err instanceof JsonScanError)) throw err;
    }
  }
  return diffTextBodies(a, b, rules.maxValueChars);
}

/**
 * All differences between two responses: status, headers (minus the ignored ones) and body.
 * Pure and synchronous. Pass the primary first: `missing` means "in the primary, not in the other".
 * @example
 * const rules = compileRules({ ignorePaths: ['meta.generatedAt'] });
 * const diffs = diffResponses(
 *   { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from('{"n":1}') },
 *   { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from('{"n":2}') },
 *   rules,
 * );
 * // → [{ section: 'body', path: 'n', kind: 'value', left: 1, right: 2 }]
 */
export function diffResponses(left: CompareResponse, right: CompareResponse, rules: CompiledRules = compileRules()): Difference[] {
  const out: Difference[] = [];
  if (!rules.ignoreStatus && left.status !== right.status) {
    out.push({ section: 'status', path: '', kind: 'value', left: left.status, right: right.status });
  }
  for (const d of diffHeaders(left.headers, right.headers, rules)) out.push(d);
  for (const d of diffBodies(left, right, rules)) out.push(d);
  return out;
}

/**
 * The name a difference is counted under in findings: `status`, `header.<name>`, `body` for the whole
 * body or its root value, `body.<path>` for a field (array positions kept; the collector generalises them).
 * @example fieldOf({ section: 'body', path: 'items[2].price', kind: 'value' }) // → 'body.items[2].price'
 */
export function fieldOf(d: Difference): string {
  if (d.section === 'status') return 'status';
  if (d.section === 'header') return `header.${d.path}`;
  if (d.path === '') return 'body';
  return d.path.charCodeAt(0) === 0x5b ? `body${d.path}` : `body.${d.path}`;
}
