/**
 * Flag files at the edge: read several flagd files (JSON or YAML), merge them (later wins per key), and
 * optionally watch them, swapping the registry's set when a change loads cleanly. A broken edit never
 * replaces a good set: the errors are reported and the last good set keeps serving (like flagd).
 */
import { readFile } from 'node:fs/promises';
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { dirname, basename } from 'node:path';
import type { FlagIssue, LoadResult } from './types.ts';
import { loadFlagSets } from './merge.ts';
import type { LoadOptions } from './load.ts';
import type { FlagRegistry } from './registry.ts';

/**
 * Reads and merges flag files, in order. Unreadable files are reported like any other error.
 *
 * @example
 *   const r = await loadFlagFiles(['flags/base.yaml', 'flags/prod.json']);
 *   if (r.ok) registry.replace(r.set); else console.error(formatFlagIssues(r.errors));
 */
export async function loadFlagFiles(paths: readonly string[], options: Omit<LoadOptions, 'source'> = {}): Promise<LoadResult> {
  const errors: FlagIssue[] = [];
  const inputs: { text: string; source: string }[] = [];
  for (const path of paths) {
    try {
      inputs.push({ text: await readFile(path, 'utf8'), source: path });
    } catch (err) {
      errors.push({ path: '(file)', source: path, message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
    }
  }
  const r = loadFlagSets(inputs, options);
  if (errors.length) return { ok: false, errors: [...errors, ...(r.ok ? [] : r.errors)] };
  return r;
}

export interface FlagFileWatcher {
  /** Loads the files now; resolves to the result (the registry changes only if it is ok). */
  reload(): Promise<LoadResult>;
  close(): void;
}

export interface WatchOptions extends Omit<LoadOptions, 'source'> {
  /** Called with the errors when a reload fails; the previous set stays. */
  onError?: (errors: FlagIssue[]) => void;
  /** Wait this long after the last file event before reloading (editors write in bursts). Default 100 ms. */
  debounceMs?: number;
}

/**
 * Watches flag files (their directories, so editors' rename-on-save is seen) and reloads on change.
 *
 * @example
 *   const w = watchFlagFiles(['flags.yaml'], registry, { onError: (e) => log.warn(formatFlagIssues(e)) });
 *   await w.reload();   // initial load
 *   // … on shutdown: w.close();
 */
export function watchFlagFiles(paths: readonly string[], registry: Pick<FlagRegistry, 'replace'>, options: WatchOptions = {}): FlagFileWatcher {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<LoadResult> | null = null;
  let again = false;
  const names = new Set(paths.map((p) => basename(p)));

  const reload = async (): Promise<LoadResult> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      let r: LoadResult;
      do {
        again = false;
        r = await loadFlagFiles(paths, options);
        if (r.ok) registry.replace(r.set);
        else options.onError?.(r.errors);
      } while (again);
      return r;
    })();
    try {
      return await running;
    } finally {
      running = null;
    }
  };

  const watchers: FSWatcher[] = [];
  for (const dir of new Set(paths.map((p) => dirname(p)))) {
    const w = watch(dir, { persistent: false }, (_event, file) => {
      if (file !== null && !names.has(String(file))) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        void reload();
      }, options.debounceMs ?? 100);
    });
    w.on('error', () => {});
    watchers.push(w);
  }
  return {
    reload,
    close() {
      if (timer) clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
