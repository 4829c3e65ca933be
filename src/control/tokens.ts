import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The admin token: `WEIR_ADMIN_TOKEN` if set, else the one stored in `<dataDir>/admin-token`
 * (mode 0600), else a new random one written there. `created` tells the caller to print it once.
 */
export function adminToken(dataDir: string, env: Record<string, string | undefined>): { token: string; created: boolean; source: 'env' | 'file' } {
  if (env.WEIR_ADMIN_TOKEN) return { token: env.WEIR_ADMIN_TOKEN, created: false, source: 'env' };
  const file = join(dataDir, 'admin-token');
  try {
    const token = readFileSync(file, 'utf8').trim();
    if (token) return { token, created: false, source: 'file' };
  } catch {
    // first start
  }
  const token = `weir_${randomBytes(24).toString('base64url')}`;
  writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'w' });
  chmodSync(file, 0o600);
  return { token, created: true, source: 'file' };
}
