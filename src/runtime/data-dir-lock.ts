import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { WeirError } from '../errors.ts';

/**
 * One Weir process per data directory. Two would append to the same access log, take turns on the
 * state file and fight over the event store's lock (DuckDB refuses the second with an I/O error that
 * does not say what to do). `<dataDir>/weir.pid` holds the owner's pid, created exclusively; a file
 * left by a process that no longer runs (a crash, a kill -9) is taken over.
 */

/** The lock file's name inside the data directory. */
export const LOCK_FILE = 'weir.pid';

export interface DataDirLock {
  readonly path: string;
  /** Removes the lock file if it is still this process's. */
  release(): void;
}

/** Whether a process with this pid exists (EPERM: it exists but is someone else's). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the data directory for this process, or throws CONFLICT naming the process that has it.
 * `alive` says whether a pid runs (injected for tests).
 * @example const lock = lockDataDir('/var/lib/weir'); … lock.release();
 */
export function lockDataDir(dir: string, pid: number = process.pid, alive: (pid: number) => boolean = running): DataDirLock {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = Number.parseInt(readOwner(path), 10);
      // A second EEXIST: another process took the stale file over at the same moment.
      if ((Number.isInteger(owner) && owner > 0 && owner !== pid && alive(owner)) || attempt > 0) {
        throw new WeirError('CONFLICT', `the data directory ${dir} is in use by another Weir process (pid ${owner || 'unknown'}). Stop that process first, or give this one its own data directory (--data-dir, or dataDir: in the config).`);
      }
      // Left by a process that is gone (or by this one): take it over.
      try {
        unlinkSync(path);
      } catch (u) {
        if ((u as NodeJS.ErrnoException).code !== 'ENOENT') throw u;
      }
      continue;
    }
    writeSync(fd, `${pid}\n`);
    closeSync(fd);
    return {
      path,
      release() {
        try {
          if (Number.parseInt(readOwner(path), 10) === pid) unlinkSync(path);
        } catch {
          // already gone
        }
      },
    };
  }
}

function readOwner(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
