import { readFileSync } from 'node:fs';
import { open, rename, mkdir } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import type { RoutingTable } from '../proxy/table.ts';

/**
 * Why a value is not a routing table, or null when its shape is right. A structural check for what
 * arrives over the stream or from the saved file (the control plane validated the content).
 *
 * @example
 *   tableShapeProblem({ version: 3, services: [] }) // null
 */
export function tableShapeProblem(v: unknown): string | null {
  if (typeof v !== 'object' || v === null) return 'not an object';
  const t = v as Partial<RoutingTable>;
  if (typeof t.version !== 'number' || !Number.isFinite(t.version) || t.version < 0) return 'version must be a non-negative number';
  if (!Array.isArray(t.services)) return 'services must be an array';
  for (const [i, s] of t.services.entries()) {
    if (typeof s !== 'object' || s === null || typeof s.name !== 'string') return `services[${i}].name must be a string`;
    if (!Array.isArray(s.versions) || s.versions.some((x) => typeof x?.name !== 'string' || !Array.isArray(x.upstreams))) return `services[${i}].versions must be a list of { name, upstreams }`;
    if (typeof s.weights !== 'object' || s.weights === null) return `services[${i}].weights must be an object`;
    if (typeof s.match !== 'object' || s.match === null) return `services[${i}].match must be an object`;
  }
  return null;
}

/**
 * Reads the routing table a proxy saved last; `{ table }`, or `{ problem }` when the file is missing
 * or unusable (a proxy then waits for the control plane).
 *
 * @example
 *   const saved = readTableFile('.weir/proxy-table.json');
 *   if ('table' in saved) proxy.setTable(saved.table);
 */
export function readTableFile(path: string): { table: RoutingTable } | { problem: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return { problem: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no saved table' : (e as Error).message };
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { problem: `not JSON: ${(e as Error).message}` };
  }
  const problem = tableShapeProblem(v);
  return problem ? { problem } : { table: v as RoutingTable };
}

/**
 * Saves a routing table atomically: write a temp file beside it, fsync, rename over the old one,
 * fsync the directory. A crash leaves the old file or the new one, never half of one.
 *
 * @example
 *   await writeTableFile('.weir/proxy-table.json', table);
 */
export async function writeTableFile(path: string, table: RoutingTable): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(JSON.stringify(table));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic.
  } finally {
    await d.close();
  }
}
