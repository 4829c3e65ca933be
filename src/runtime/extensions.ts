import type { WeirConfig } from '../config/schema.ts';
import type { ControlPlane } from '../control/plane.ts';
import type { ApiRoute } from '../control/route.ts';
import type { FanoutSink } from './fanout-sink.ts';
import type { StateStore } from '../store/types.ts';

/** What a control-plane capability gets when the control plane starts (`weir up`, `weir server`). */
export interface ControlContext {
  plane: ControlPlane;
  store: StateStore;
  config(): WeirConfig;
  dataDir: string;
  now: () => number;
  log: (line: string) => void;
  /**
   * Where the proxy's events go (in `weir up`; in `weir server`, batches that `weir proxy` nodes post
   * when no capability serves `POST /api/v1/events`). A capability attaches with `sink.add(mySink)` or
   * `sink.observe(fn)`.
   */
  sink: FanoutSink;
  /**
   * True while this process may run controllers (always in `weir up`; in `weir server` only the replica
   * holding the PostgreSQL advisory lock). Controllers check it before every action.
   */
  isLeader(): boolean;
  /** Capabilities started earlier in the list, by name (e.g. the event store for rollouts' analysis). */
  get<T>(name: string): T | undefined;
}

/**
 * A capability of the control plane: its API routes and, optionally, background work. Registered in
 * CONTROL_EXTENSIONS (src/runtime/control-extensions.ts) and started in that order by both `weir up`
 * and `weir server`, so a capability is wired once for every way of running Weir.
 */
export interface ControlExtension {
  name: string;
  start(ctx: ControlContext): Promise<StartedExtension>;
}

export interface StartedExtension {
  routes?: ApiRoute[];
  /** Exposed to later extensions through ctx.get(name). */
  value?: unknown;
  /** Called on a config reload with the new, valid config. */
  reconfigure?(config: WeirConfig): Promise<void> | void;
  stop?(): Promise<void>;
}
