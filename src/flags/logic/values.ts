import type { CompiledRule } from '../types.ts';

/** A rule that always returns `value`. */
export function constant(value: unknown): CompiledRule {
  return () => value;
}

/** JsonLogic truthiness: like JavaScript's, except that an empty array is false. */
export function truthy(v: unknown): boolean {
  if (v === true) return true;
  if (v === false || v === null || v === undefined) return false;
  return Array.isArray(v) ? v.length > 0 : Boolean(v);
}

/** Reads an own property only, so a context can never reach `constructor` or `__proto__` getters. */
export function own(obj: unknown, key: string): unknown {
  if (obj === null || typeof obj !== 'object') return undefined;
  if (Array.isArray(obj)) {
    if (key === '' || !/^\d+$/.test(key)) return undefined;
    return obj[Number(key)];
  }
  const v = (obj as Record<string, unknown>)[key];
  // Only Object.prototype's members can be inherited by a JSON context: all functions, plus the
  // `__proto__` accessor. Everything else read directly is an own property, so skip the hasOwn check.
  if (v === undefined || (typeof v !== 'function' && key !== '__proto__')) return v;
  return Object.hasOwn(obj, key) ? v : undefined;
}

/** `cat`'s string conversion: null/undefined become "" (flagd's Go engine), everything else as JavaScript. */
export function str(v: unknown): string {
  if (v === null || v === undefined) return '';
  return typeof v === 'string' ? v : String(v);
}
