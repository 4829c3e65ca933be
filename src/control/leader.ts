import pg from 'pg';
import { lockKeySql, pgClientConfig } from '../store/postgres.ts';

/** One connection that can hold the leader lock. Any method may throw when the connection is gone. */
export interface LeaderLock {
  /** Takes the lock if free; true if this connection holds it now. */
  tryAcquire(): Promise<boolean>;
  /** True while this connection still holds the lock (a live round trip, not a cached answer). */
  check(): Promise<boolean>;
  /** Closes the connection, which releases the lock. */
  close(): Promise<void>;
}

export interface LeaderElectionOptions {
  /** Opens a new lock connection; `onLost` must be called when it breaks (from an error or end event). */
  connect(onLost: (why: string) => void): Promise<LeaderLock>;
  /** How often to check or try the lock. Default 1000 ms. */
  intervalMs?: number;
  now?: () => number;
  log?: (line: string) => void;
  onChange?: (leader: boolean) => void;
}

export interface LeaderStatus {
  leader: boolean;
  /** When this replica last became leader or follower, ms. */
  since: number;
  /** Why it is not the leader, when it is not. */
  reason?: string;
}

export interface LeaderElection {
  isLeader(): boolean;
  status(): LeaderStatus;
  /** One round: connect if needed, then try or check the lock. The timer calls it; tests may too. */
  tick(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Leader election over a lock that lives as long as one connection (a PostgreSQL session advisory
 * lock). Every `intervalMs` the follower tries the lock and the leader confirms it still holds it; a
 * broken connection or a failed check makes this replica a follower at once, and it reconnects and
 * tries again three rounds later (a follower takes over first). Nothing is cached: `isLeader()` is false from the moment doubt arises.
 *
 * @example
 *   const election = startLeaderElection({ connect: (lost) => pgLeaderLock(url, schema, lost) });
 *   if (election.isLeader()) runControllers();
 */
export function startLeaderElection(opts: LeaderElectionOptions): LeaderElection {
  const now = opts.now ?? Date.now;
  const log = opts.log ?? (() => {});
  const interval = opts.intervalMs ?? 1000;
  let lock: LeaderLock | undefined;
  let leader = false;
  let since = now();
  let reason: string | undefined = 'starting';
  let stopped = false;
  let running: Promise<void> | undefined;
  /**
   * A replica that just lost the leadership waits three rounds before trying again, so that a follower
   * whose session is sound takes over (the one that lost its session may be the unhealthy one, and a
   * race it wins again would make the hand-over a matter of luck). Alone, it leads again after that.
   */
  let holdUntil = Number.NEGATIVE_INFINITY;

  const set = (next: boolean, why?: string) => {
    reason = next ? undefined : why;
    if (next === leader) return;
    leader = next;
    since = now();
    log(next ? 'weir: this replica is the leader (runs the controllers)' : `weir: this replica is a follower (${why})`);
    opts.onChange?.(next);
  };
  const drop = (why: string) => {
    const l = lock;
    lock = undefined;
    if (leader) holdUntil = now() + 3 * interval;
    set(false, why);
    void l?.close().catch(() => {});
  };

  const round = async () => {
    if (stopped) return;
    try {
      if (!lock) {
        if (now() < holdUntil) return;
        // The connection may report its loss before connect() resolves: only the current lock's loss counts.
        let opened: LeaderLock | undefined;
        opened = await opts.connect((why) => { if (opened !== undefined && lock === opened) drop(`lost the lock connection: ${why}`); });
        if (stopped) return void (await opened.close().catch(() => {}));
        lock = opened;
      }
      const l = lock;
      const held = leader ? await l.check() : await l.tryAcquire();
      if (lock !== l || stopped) return;
      if (held) set(true);
      else if (leader) drop('the lock is no longer held');
      else set(false, 'another replica holds the lock');
    } catch (e) {
      drop((e as Error).message);
    }
  };
  const tick = () => (running ??= round().finally(() => { running = undefined; }));
  const timer = setInterval(() => void tick(), interval);
  timer.unref();
  void tick();

  return {
    isLeader: () => leader,
    status: () => ({ leader, since, ...(reason ? { reason } : {}) }),
    tick,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
      const l = lock;
      lock = undefined;
      set(false, 'stopped');
      await l?.close().catch(() => {});
    },
  };
}

/**
 * A PostgreSQL session advisory lock on its own connection (never a pooled one: the lock belongs to
 * the session). The key is per schema, so Weir installations sharing a database elect separately.
 * Each query times out after `timeoutMs`, so a hung connection turns into a lost lock.
 *
 * @example
 *   startLeaderElection({ connect: (lost) => pgLeaderLock('postgres://db/weir', undefined, lost) });
 */
export async function pgLeaderLock(url: string, schema: string | undefined, onLost: (why: string) => void, timeoutMs = 2000): Promise<LeaderLock> {
  const client = new pg.Client({ ...pgClientConfig(url, schema), query_timeout: timeoutMs, connectionTimeoutMillis: timeoutMs });
  client.on('error', (e) => onLost(e.message));
  client.on('end', () => onLost('connection closed'));
  try {
    await client.connect();
  } catch (e) {
    client.removeAllListeners('end');
    await client.end().catch(() => {});
    throw e;
  }
  const held = async () => {
    const r = await client.query<{ held: boolean }>(`SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()
      AND objid = (${lockKeySql('leader')})::bigint & 4294967295) AS held`);
    return r.rows[0].held;
  };
  return {
    async tryAcquire() {
      const r = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${lockKeySql('leader')}) AS ok`);
      return r.rows[0].ok;
    },
    check: held,
    async close() {
      client.removeAllListeners('end');
      client.on('error', () => {});
      await client.end();
    },
  };
}
