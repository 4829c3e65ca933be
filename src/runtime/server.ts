import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { loadConfigFile } from '../config/load.ts';
import { startLeaderElection, pgLeaderLock } from '../control/leader.ts';
import type { LeaderElection } from '../control/leader.ts';
import { isPostgresUrl, splitSchema } from '../store/index.ts';
import { startControl } from './control.ts';
import type { ControlOptions, RunningControl } from './control.ts';

export interface ServerOptions extends Omit<ControlOptions, 'isLeader' | 'leaderStatus' | 'proxy'> {
  /** How often to re-read state other replicas wrote (weights, tokens). Default 1000 ms. */
  pollMs?: number;
  /** How often to try or confirm the leader lock. Default 1000 ms. */
  leaderIntervalMs?: number;
  /** This replica's name in `GET /api/v1/leader`. Default: host name and pid. */
  replica?: string;
}

export interface WeirServer extends RunningControl {
  /** Present with a PostgreSQL store; with SQLite this single replica always leads. */
  election?: LeaderElection;
  replica: string;
  /** True while this replica runs the controllers. */
  isLeader(): boolean;
}

/**
 * `weir server`: the control plane alone (API, controllers, stores), no proxy. With a PostgreSQL
 * store several replicas share one database: all serve the API and re-read shared state every
 * `pollMs`; the one holding the PostgreSQL advisory lock runs the controllers (`ctx.isLeader()`).
 *
 * @example
 *   const server = await startServer({ configPath: 'weir.yaml', env: process.env, cwd: process.cwd(), store: 'postgres://db/weir' });
 */
export async function startServer(opts: ServerOptions): Promise<WeirServer> {
  const log = opts.log ?? (() => {});
  const replica = opts.replica ?? `${hostname()}:${process.pid}`;
  let election: LeaderElection | undefined;
  // The election must run before the controllers start, so the store's location is resolved first.
  const storeOpt = opts.store ?? loadConfigFile(resolve(opts.cwd, opts.configPath), opts.env).store;
  if (storeOpt !== undefined && isPostgresUrl(storeOpt)) {
    const { url, schema } = splitSchema(storeOpt);
    const interval = opts.leaderIntervalMs ?? 1000;
    election = startLeaderElection({
      connect: (lost) => pgLeaderLock(url, schema, lost, Math.max(500, interval * 2)),
      intervalMs: interval,
      now: opts.now,
      log,
    });
  }
  const isLeader = election ? () => election.isLeader() : () => true;
  let cp: RunningControl;
  try {
    cp = await startControl({
      ...opts, isLeader,
      leaderStatus: () => ({ replica, ...(election ? election.status() : { leader: true, since: 0, reason: undefined }) }),
    });
  } catch (e) {
    await election?.stop();
    throw e;
  }
  // Polling rather than LISTEN/NOTIFY: it works through connection poolers, survives dropped
  // connections without re-subscribing, and a second of delay is fine for weights and tokens.
  let warned = false;
  let polling: Promise<void> | undefined;
  const poll = setInterval(() => {
    polling ??= cp.refresh().then(() => { warned = false; }, (e: Error) => {
      if (!warned) log(`weir server: cannot re-read shared state (${e.message}); serving the last known table`);
      warned = true;
    }).finally(() => { polling = undefined; });
  }, opts.pollMs ?? 1000);
  poll.unref();
  cp.setReady(true);
  const close = cp.close;
  return Object.assign(cp, {
    election, replica, isLeader,
    close: (drain?: () => Promise<void>) => close(async () => {
      clearInterval(poll);
      await polling;
      await election?.stop();
      await drain?.();
    }),
  });
}
