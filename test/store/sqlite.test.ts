import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { runStoreContract } from './contract.ts';
import { tempDir } from '../tmpdir.ts';

runStoreContract('sqlite', async (t) => {
  const dir = tempDir('weir-store-');
  const path = join(dir, 'state.db');
  return { open: async (now) => openSqliteStore(path, now) };
});
