const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/**
 * Parses a duration: a number of milliseconds, or a string like `250ms`, `10s`, `1.5m`, `2h`, `7d`.
 * Returns undefined when the input is not a duration.
 *
 * @example
 *   parseDuration('10s') // 10000
 */
export function parseDuration(input: unknown): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? input : undefined;
  if (typeof input !== 'string') return undefined;
  const m = PATTERN.exec(input.trim());
  return m ? Number(m[1]) * UNITS[m[2]] : undefined;
}

/** Formats milliseconds compactly: 1500 → `1.5s`, 90000 → `1.5m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(1)}s`;
  if (ms < 3_600_000) return `${+(ms / 60_000).toFixed(1)}m`;
  return `${+(ms / 3_600_000).toFixed(1)}h`;
}
