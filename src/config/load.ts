import { readFileSync } from 'node:fs';
import { WeirError } from '../errors.ts';
import type { WeirConfig } from './schema.ts';
import { formatIssues, parseConfig } from './validate.ts';
import type { ConfigIssue } from './validate.ts';

/**
 * Reads and validates a weir.yaml file. Throws CONFIG_INVALID with every issue in `details.issues`.
 *
 * @example
 *   const config = loadConfigFile('weir.yaml', process.env);
 */
export function loadConfigFile(path: string, env: Record<string, string | undefined>): WeirConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new WeirError('CONFIG_INVALID', `cannot read ${path}: ${(cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file (create one, or pass -c PATH)' : (cause as Error).message}`, { cause });
  }
  const r = parseConfig(text, env);
  if (!r.ok) throw new WeirError('CONFIG_INVALID', `${path} is invalid:\n${formatIssues(r.issues)}`, { details: { issues: r.issues satisfies ConfigIssue[] } });
  return r.config;
}
