import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { runStoreContract } from './contract.ts';

runStoreContract('sqlite', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'state.db');
  return { open: async (now) => openSqliteStore(path, now) };
});
