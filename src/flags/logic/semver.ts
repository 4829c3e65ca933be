/**
 * Semantic-version parsing and comparison with the rules of Go's golang.org/x/mod/semver, which flagd's
 * `sem_ver` uses: an optional leading "v"/"V", shorthand "1" and "1.2" (= 1.0.0, 1.2.0) when there is no
 * pre-release or build suffix, pre-release ordering per semver.org, build metadata ignored.
 * Hand-written (60 lines) so the comparison matches flagd's Go core exactly rather than node-semver's.
 */
export interface SemVer {
  major: string;
  minor: string;
  patch: string;
  prerelease: string[];
}

const NUM = /^(0|[1-9]\d*)$/;
const IDENT = /^[0-9A-Za-z-]+$/;

/** Parses a version as flagd does (`ensureString` + "v" prefix); null when it is not valid. */
export function parseSemVer(input: unknown): SemVer | null {
  let s = typeof input === 'string' ? input : typeof input === 'number' ? String(input) : null;
  if (s === null) return null;
  if (s.startsWith('v')) s = s.slice(1);
  else if (s.startsWith('V')) s = s.slice(1);
  let build: string | null = null;
  const plus = s.indexOf('+');
  if (plus >= 0) {
    build = s.slice(plus + 1);
    s = s.slice(0, plus);
  }
  let pre: string | null = null;
  const dash = s.indexOf('-');
  if (dash >= 0) {
    pre = s.slice(dash + 1);
    s = s.slice(0, dash);
  }
  const parts = s.split('.');
  if (parts.length > 3 || !parts.every((p) => NUM.test(p))) return null;
  if (parts.length < 3 && (pre !== null || build !== null)) return null;
  if (build !== null && !build.split('.').every((id) => IDENT.test(id))) return null;
  const prerelease = pre === null ? [] : pre.split('.');
  for (const id of prerelease) {
    if (!IDENT.test(id)) return null;
    if (/^\d+$/.test(id) && !NUM.test(id)) return null;
  }
  return { major: parts[0], minor: parts[1] ?? '0', patch: parts[2] ?? '0', prerelease };
}

function cmpNum(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a === b ? 0 : a < b ? -1 : 1;
}

function cmpPre(a: string[], b: string[]): number {
  if (a.length === 0 || b.length === 0) return a.length === b.length ? 0 : a.length === 0 ? 1 : -1;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    const xn = /^\d+$/.test(x);
    const yn = /^\d+$/.test(y);
    if (xn && yn) return cmpNum(x, y);
    if (xn !== yn) return xn ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** -1, 0 or 1. */
export function compareSemVer(a: SemVer, b: SemVer): number {
  return cmpNum(a.major, b.major) || cmpNum(a.minor, b.minor) || cmpNum(a.patch, b.patch) || cmpPre(a.prerelease, b.prerelease);
}
