import type { CliIO } from './command.ts';

/**
 * A progress bar for long CLI work, on stderr and only when stderr is a terminal (`io.progress`), so
 * pipes, `--json` consumers and CI logs never see it. Written by hand: it is one line of text, and
 * the maintained libraries (cli-progress, progress) bring their own terminal handling for little gain.
 */
export interface Progress {
  /** `done` units of `total` are finished; redraws at most every 100 ms. */
  update(done: number, detail?: string): void;
  /** Draws the final state and ends the line. */
  finish(detail?: string): void;
}

const WIDTH = 24;

function short(n: number): string {
  return n >= 10_000 ? `${(n / 1000).toFixed(0)}k` : n >= 1000 ? `${(n / 1000).toFixed(1)}k` : String(Math.round(n));
}

function clock(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/**
 * One line of the bar: `label [█████░░░░░] 512/2000  26%  1.2k/s  ~3s left`. With `unit: 'ms'` the
 * counts are durations (a drill's elapsed time) and the rate is left out. Pure, for tests.
 * @example renderProgress('compare', 50, 200, 1000) // 'compare [██████░░░…] 50/200  25%  50/s  ~3s left'
 */
export function renderProgress(label: string, done: number, total: number, elapsedMs: number, unit: 'count' | 'ms' = 'count', detail = ''): string {
  const frac = total > 0 ? Math.min(1, Math.max(0, done / total)) : 1;
  const full = Math.round(frac * WIDTH);
  const bar = `${'█'.repeat(full)}${'░'.repeat(WIDTH - full)}`;
  const pct = `${Math.floor(frac * 100)}%`.padStart(4);
  const parts = [`${label} [${bar}]`];
  if (unit === 'ms') {
    parts.push(`${clock(done)}/${clock(total)}`, pct);
  } else {
    parts.push(`${short(done)}/${short(total)}`, pct);
    if (elapsedMs > 0 && done > 0) {
      const rate = (done * 1000) / elapsedMs;
      parts.push(`${short(rate)}/s`);
      if (done < total) parts.push(`~${clock(((total - done) / rate) * 1000)} left`);
    }
  }
  if (detail) parts.push(detail);
  return parts.join('  ');
}

/**
 * Starts a bar; a no-op when `io.progress` is not true.
 * @example
 * const bar = progressBar(io, 'compare', requests.length);
 * bar.update(10);
 * bar.finish();
 */
export function progressBar(io: CliIO, label: string, total: number, unit: 'count' | 'ms' = 'count', now: () => number = () => performance.now()): Progress {
  if (io.progress !== true) return { update() {}, finish() {} };
  const started = now();
  let lastDraw = Number.NEGATIVE_INFINITY;
  let lastLength = 0;
  const draw = (done: number, detail?: string) => {
    const line = renderProgress(label, done, total, now() - started, unit, detail);
    io.stderr(`\r${line}${' '.repeat(Math.max(0, lastLength - line.length))}`);
    lastLength = line.length;
  };
  let last = 0;
  return {
    update(done, detail) {
      last = done;
      const t = now();
      if (t - lastDraw < 100 && done < total) return;
      lastDraw = t;
      draw(done, detail);
    },
    finish(detail) {
      draw(last, detail);
      io.stderr('\n');
    },
  };
}
