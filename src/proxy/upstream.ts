import { Pool } from 'undici';
import type { Timeouts } from './table.ts';
import { UpstreamPool } from './upstream-client.ts';

/**
 * One instance of a version (one upstream URL) with its connection pool and passive health.
 * Instances outlive routing tables: a reload that keeps a URL keeps its pool and its warm connections.
 */
export class Instance {
  readonly url: string;
  readonly origin: string;
  /** host:port, for events. */
  readonly address: string;
  /** Keep-alive connections that carry users' requests. */
  readonly pool: UpstreamPool;
  #upgrades: Pool | undefined;
  readonly #connectTimeoutMs: number;
  pending = 0;
  consecutiveFailures = 0;
  ejectedUntil = 0;
  ejections = 0;
  /** Path prefix of the upstream URL (`http://h/base` → `/base`), prepended to forwarded paths. */
  readonly basePath: string;

  constructor(url: string, connectTimeoutMs: number) {
    const u = new URL(url);
    this.url = url;
    this.origin = u.origin;
    this.address = u.host;
    this.basePath = u.pathname === '/' ? '' : u.pathname.replace(/\/+$/, '');
    this.#connectTimeoutMs = connectTimeoutMs;
    this.pool = new UpstreamPool(u.origin, connectTimeoutMs);
  }

  /** An undici pool for WebSocket upgrades (made on the first one). */
  get upgrades(): Pool {
    return (this.#upgrades ??= new Pool(this.origin, { connectTimeout: this.#connectTimeoutMs, connections: null }));
  }

  /** Closes connections gracefully: requests in flight finish. */
  async close(): Promise<void> {
    await Promise.all([this.pool.close(), this.#upgrades?.close()]);
  }

  async destroy(): Promise<void> {
    await Promise.all([this.pool.destroy(), this.#upgrades?.destroy()]);
  }

  isEjected(now: number): boolean {
    return this.ejectedUntil > now;
  }

  /** Records a connection failure; ejects the instance after `threshold` in a row. Returns true when it ejected. */
  connectFailed(now: number, threshold: number, cooldownMs: number): boolean {
    this.consecutiveFailures++;
    if (this.consecutiveFailures >= threshold && !this.isEjected(now)) {
      this.ejectedUntil = now + cooldownMs;
      this.ejections++;
      this.consecutiveFailures = 0;
      return true;
    }
    return false;
  }

  succeeded(): void {
    this.consecutiveFailures = 0;
  }
}

/**
 * Keeps one Instance per (URL, connect timeout), shared across routing tables, and closes instances
 * that no table references any more once they are idle.
 */
export class InstanceRegistry {
  readonly #instances = new Map<string, Instance>();

  get(url: string, timeouts: Timeouts): Instance {
    const key = `${url}#${timeouts.connectMs}`;
    let inst = this.#instances.get(key);
    if (!inst) {
      inst = new Instance(url, timeouts.connectMs);
      this.#instances.set(key, inst);
    }
    return inst;
  }

  all(): Instance[] {
    return [...this.#instances.values()];
  }

  /** Closes instances not in `keep` (gracefully: in-flight requests finish). */
  async retain(keep: Set<Instance>): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const [key, inst] of this.#instances) {
      if (!keep.has(inst)) {
        this.#instances.delete(key);
        closing.push(inst.close().catch(() => {}));
      }
    }
    await Promise.all(closing);
  }

  async closeAll(): Promise<void> {
    await this.retain(new Set());
  }

  async destroyAll(): Promise<void> {
    const all = [...this.#instances.values()];
    this.#instances.clear();
    await Promise.all(all.map((i) => i.destroy().catch(() => {})));
  }
}

/**
 * Least pending requests among instances that are not ejected; ties go round-robin. When every
 * instance is ejected, all are candidates again (a panic mode like Envoy's: better a struggling
 * instance than certain failure). `exclude` skips an instance (the one a retry just failed on).
 */
export function pickInstance(instances: readonly Instance[], now: number, cursor: { n: number }, exclude?: Instance): Instance | undefined {
  const n = instances.length;
  if (n === 1) return instances[0] === exclude ? undefined : instances[0];
  let best: Instance | undefined;
  let anyHealthy = false;
  for (let pass = 0; pass < 2 && !best; pass++) {
    const start = cursor.n++ % n;
    for (let k = 0; k < n; k++) {
      const inst = instances[(start + k) % n];
      if (inst === exclude) continue;
      if (pass === 0 && inst.isEjected(now)) continue;
      anyHealthy = true;
      if (!best || inst.pending < best.pending) best = inst;
    }
    if (pass === 0 && anyHealthy) break;
  }
  return best;
}
