import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dirs: string[] = [];

// Removed once every test of the file is done. Per-test `t.after` hooks run in the order they were
// registered, so a directory removed in its test's first hook would go while the servers and child
// processes registered after it still write there (ENOTEMPTY), and a failing hook skips the hooks
// that would have stopped them: the test file then never exits.
after(() => {
  for (const dir of dirs) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    } catch {
      // A leftover temporary directory is harmless.
    }
  }
});

/** A temporary directory, removed when the test file's tests are all done. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}
