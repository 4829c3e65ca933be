import { createHash } from 'node:crypto';
import type { WideEvent } from './schema.ts';

/** What an error fingerprint was computed from. */
export type FingerprintBasis = 'stack' | 'message' | 'status';

export interface Fingerprint {
  /** 16 hex characters, stable across processes and releases for the same error. */
  id: string;
  basis: FingerprintBasis;
  /** The text that was hashed: type + frames, type + normalised message, or the status line. */
  normalized: string;
}

/** How many in-app frames count: deeper frames change with callers, not with the error. */
const MAX_FRAMES = 5;

const PLACEHOLDERS: readonly (readonly [RegExp, string])[] = [
  [/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, '<url>'],
  [/\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b/g, '<email>'],
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>'],
  [/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`/g, '<str>'],
  [/\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b/gi, '<id>'],
  [/\b0x[0-9a-f]+\b/gi, '<hex>'],
  [/(?<![\w<])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?/gi, '<n>'],
];

/**
 * Replaces the variable parts of an error message by placeholders so that one kind of error gets one
 * fingerprint: urls, emails, uuids, quoted strings, hex ids, numbers.
 *
 * @example
 *   normalizeMessage('user 42 not found: "bob@x.io"') // 'user <n> not found: <str>'
 */
export function normalizeMessage(message: string): string {
  let out = message;
  for (const [pattern, placeholder] of PLACEHOLDERS) out = out.replace(pattern, placeholder);
  return out.replace(/\s+/g, ' ').trim().slice(0, 500);
}

const NOT_IN_APP = /(?:node_modules|node:|internal\/|site-packages|dist-packages|<anonymous>|^java\.|^javax\.|^sun\.|^jdk\.|\/usr\/lib\/|runtime\/)/;

/**
 * The in-app frames of a stack trace, normalised to `function@file` with line and column numbers and
 * directories removed. Understands V8 (`at fn (file:1:2)`), Python (`File "f", line 1, in fn`) and
 * JVM (`at a.b.C.fn(C.java:12)`) frames; other lines are ignored.
 */
export function inAppFrames(stack: string): string[] {
  const frames: string[] = [];
  for (const raw of stack.split('\n')) {
    const line = raw.trim();
    let fn: string | undefined;
    let file: string | undefined;
    let m: RegExpExecArray | null;
    if ((m = /^at (?:(.+?) \()?(.+?)(?::\d+)?(?::\d+)?\)?$/.exec(line))) {
      fn = m[1] ?? '<anonymous>';
      file = m[2];
      const jvm = /^(.+)\((.+?)(?::\d+)?\)$/.exec(line.slice(3));
      if (!m[1] && jvm) {
        fn = jvm[1];
        file = jvm[2];
      }
    } else if ((m = /^File "(.+?)", line \d+, in (.+)$/.exec(line))) {
      file = m[1];
      fn = m[2];
    }
    if (fn === undefined || file === undefined) continue;
    if (NOT_IN_APP.test(file) || NOT_IN_APP.test(fn)) continue;
    const base = file.replace(/^file:\/\//, '').replace(/[?#].*$/, '').split(/[\\/]/).pop() ?? file;
    frames.push(`${fn.replace(/\s*\[as .+\]$/, '').replace(/^async /, '')}@${base.replace(/:\d+(?::\d+)?$/, '')}`);
    if (frames.length === MAX_FRAMES) break;
  }
  return frames;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** Every field `fingerprint` reads: the writer builds its input from these alone. */
export const FINGERPRINT_FIELDS = [
  'exception.type', 'exception.message', 'exception.stacktrace', 'error.type', 'otel.status_code', 'otel.status_description',
  'http.response.status_code', 'name', 'http.route', 'url.path', 'http.request.method',
] as const;

/** True when the event describes an error: an exception, an `error.type`, a span with status ERROR, or a 5xx status. */
export function isErrorEvent(event: Partial<WideEvent>): boolean {
  const status = event['http.response.status_code'];
  return str(event['exception.type']) !== undefined || str(event['exception.message']) !== undefined ||
    str(event['exception.stacktrace']) !== undefined || str(event['error.type']) !== undefined ||
    event['otel.status_code'] === 'ERROR' || (typeof status === 'number' && status >= 500);
}

/**
 * The error fingerprint of an event, or undefined when the event is not an error. With a stack: the
 * exception type and the top in-app frames. Without one: the type and the normalised message. With
 * neither (a bare 5xx): the status, the Weir error code and the route.
 *
 * @example
 *   fingerprint({ ...event, 'exception.type': 'TypeError', 'exception.message': 'id 7 missing' })
 *   // { id: '3f0c…', basis: 'message', normalized: 'TypeError: id <n> missing' }
 */
export function fingerprint(event: Partial<WideEvent>): Fingerprint | undefined {
  if (!isErrorEvent(event)) return undefined;
  const type = str(event['exception.type']) ?? str(event['error.type']);
  const stack = str(event['exception.stacktrace']);
  const message = str(event['exception.message']) ?? str(event['otel.status_description']);
  let basis: FingerprintBasis;
  let normalized: string;
  const frames = stack ? inAppFrames(stack) : [];
  if (frames.length > 0) {
    basis = 'stack';
    normalized = `${type ?? firstLineType(stack!) ?? 'Error'}\n${frames.join('\n')}`;
  } else if (message !== undefined || (stack !== undefined && stack.trim() !== '')) {
    basis = 'message';
    normalized = `${type ?? 'Error'}: ${normalizeMessage(message ?? stack!.split('\n')[0])}`;
  } else if (type !== undefined && event['http.response.status_code'] === undefined) {
    basis = 'message';
    normalized = `${type}`;
  } else {
    basis = 'status';
    if (event['http.response.status_code'] === undefined) {
      normalized = `${type ?? 'ERROR'} ${str(event.name) ?? ''}`.trim(); // a failed span without details
    } else {
      const route = str(event['http.route']) ?? normalizeMessage(String(event['url.path'] ?? ''));
      normalized = `HTTP ${event['http.response.status_code']} ${type ?? ''} ${event['http.request.method'] ?? ''} ${route}`.replace(/\s+/g, ' ').trim();
    }
  }
  const id = createHash('sha1').update(normalized).digest('hex').slice(0, 16);
  return { id, basis, normalized };
}

function firstLineType(stack: string): string | undefined {
  const m = /^([\w.$]+(?:Error|Exception)\b)/.exec(stack.trim());
  return m?.[1];
}
