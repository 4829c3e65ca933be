/**
 * Field paths and the globs that select them.
 *
 * A path renders a position in a JSON body: keys joined by `.` (`user.address.city`), array positions
 * in brackets (`items[3].price`), keys that are not plain identifiers quoted (`headers["content-type"]`),
 * and `[*]` for an element of an array compared as a set. The root is `''`.
 *
 * A glob is a path where `*` stands for one key, `[*]` for any array position and `**` for any number
 * of segments: `meta.requestId`, `items[*].updatedAt`, `**.traceId`, `debug.**`.
 */

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/**
 * The path of member `key` under `parent`.
 * @example childKey('user', 'city') // → 'user.city'
 * @example childKey('', 'a.b') // → '["a.b"]'
 */
export function childKey(parent: string, key: string): string {
  if (IDENT.test(key)) return parent === '' ? key : `${parent}.${key}`;
  return `${parent}[${JSON.stringify(key)}]`;
}

/**
 * The path of element `index` under `parent`.
 * @example childIndex('items', 3) // → 'items[3]'
 */
export function childIndex(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

/**
 * A path with its array positions replaced by `[*]`, so that findings group `items[0].price` and
 * `items[7].price` under one field.
 * @example generalizePath('items[3].tags[0]') // → 'items[*].tags[*]'
 */
export function generalizePath(path: string): string {
  return path.indexOf('[') < 0 ? path : path.replace(/\[\d+\]/g, '[*]');
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/**
 * The regular-expression source for one field-path glob.
 * @example new RegExp(`^${globSource('items[*].id')}$`).test('items[2].id') // → true
 */
export function globSource(glob: string): string {
  let out = '';
  let i = 0;
  // `**.x` at the start: x at any depth, including the root.
  if (glob.startsWith('**.')) {
    out += '(?:.*[.\\]])?';
    i = 3;
  }
  while (i < glob.length) {
    if (glob.startsWith('.**', i) && i + 3 === glob.length) {
      // `a.**`: a itself and everything under it.
      out += '(?:[.\\[].*)?';
      i += 3;
    } else if (glob.startsWith('.**.', i)) {
      // `a.**.b`: b directly under a or at any depth below it.
      out += '(?:\\.|[.\\[].*[.\\]])';
      i += 4;
    } else if (glob.startsWith('**', i)) {
      out += '.*';
      i += 2;
    } else if (glob.startsWith('[*]', i)) {
      out += '\\[(?:\\d+|\\*)\\]';
      i += 3;
    } else if (glob[i] === '*') {
      out += '[^.\\[]*';
      i += 1;
    } else {
      out += escapeRe(glob[i]);
      i += 1;
    }
  }
  return out;
}

/** A compiled set of globs: one regular expression, or null when the set is empty. */
export type GlobSet = RegExp | null;

/**
 * Compiles field-path globs into one matcher.
 * @example matchesAny(compilePathGlobs(['items[*].updatedAt']), 'items[2].updatedAt') // → true
 */
export function compilePathGlobs(globs: readonly string[]): GlobSet {
  if (globs.length === 0) return null;
  return new RegExp(`^(?:${globs.map(globSource).join('|')})$`);
}

/**
 * Compiles header-name globs (`x-b3-*`), case-insensitive.
 * @example matchesAny(compileHeaderGlobs(['x-b3-*']), 'x-b3-traceid') // → true
 */
export function compileHeaderGlobs(globs: readonly string[]): GlobSet {
  if (globs.length === 0) return null;
  const parts = globs.map((g) => g.toLowerCase().split('*').map(escapeRe).join('.*'));
  return new RegExp(`^(?:${parts.join('|')})$`, 'i');
}

/**
 * True when `set` matches `value` (false for an empty set).
 * @example matchesAny(compilePathGlobs(['meta.**']), 'meta.ts') // → true
 */
export function matchesAny(set: GlobSet, value: string): boolean {
  return set !== null && set.test(value);
}
