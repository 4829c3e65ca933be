import { WeirError } from '../errors.ts';
import type { WeirConfig } from '../config/schema.ts';
import { buildTable, checkWeights, configuredWeights } from '../proxy/table.ts';
import type { RoutingTable } from '../proxy/table.ts';
import type { FaultRule } from '../proxy/faults/config.ts';
import { faultPolicyOf } from '../proxy/faults/config.ts';
import { parseFaultRules } from '../proxy/faults/api.ts';
import type { StateStore, WeightOverride } from '../store/types.ts';

export type TableListener = (table: RoutingTable) => void;

/**
 * The control plane's core: the current config plus live state (weight overrides) → the routing
 * table, published to every subscriber (the in-process proxy, `weir proxy` streams). Each published
 * table has a larger version than the last.
 */
export class ControlPlane {
  readonly store: StateStore;
  readonly #now: () => number;
  #config: WeirConfig;
  #overrides: Record<string, WeightOverride> = {};
  #stables: Record<string, string> = {};
  /** Fault rules set through the API (drills), per service; in memory, every change audited. */
  #faults: Record<string, FaultRule[]> = {};
  #table: RoutingTable;
  /** Flag definitions by key (the control plane's merged flag set), for services that route by a flag. */
  #flagDefs: Record<string, unknown> = {};
  #listeners = new Set<TableListener>();

  private constructor(config: WeirConfig, store: StateStore, now: () => number) {
    this.#config = config;
    this.store = store;
    this.#now = now;
    this.#table = buildTable(config, now());
  }

  /** Loads live state from the store and computes the first table. */
  static async create(config: WeirConfig, store: StateStore, now: () => number = Date.now): Promise<ControlPlane> {
    const plane = new ControlPlane(config, store, now);
    plane.#overrides = await store.getWeightOverrides();
    await plane.#dropStaleOverrides('startup');
    plane.#publish();
    return plane;
  }

  get config(): WeirConfig {
    return this.#config;
  }

  get table(): RoutingTable {
    return this.#table;
  }

  get overrides(): Readonly<Record<string, WeightOverride>> {
    return this.#overrides;
  }

  subscribe(listener: TableListener): () => void {
    this.#listeners.add(listener);
    listener(this.#table);
    return () => this.#listeners.delete(listener);
  }

  /** Applies a new, already validated config. Overrides whose service's configured weights changed are dropped (the file wins). */
  async applyConfig(config: WeirConfig, actor = 'config'): Promise<void> {
    const before = Object.keys(this.#config.services);
    this.#config = config;
    await this.#dropStaleOverrides(actor);
    await this.store.appendAudit({ actor, action: 'config.apply', target: '*', before: { services: before }, after: { services: Object.keys(config.services) } });
    this.#publish();
  }

  /**
   * Sets a service's weights (percent per version, summing to 100). Validated against the service;
   * a failed change applies nothing.
   */
  async setWeights(service: string, weights: unknown, actor: string, reason?: string): Promise<RoutingTable> {
    const route = this.#table.services.find((s) => s.name === service);
    if (!route) throw new WeirError('NOT_FOUND', `no service named "${service}"`);
    const problems = checkWeights(route, weights);
    if (problems.length) throw new WeirError('VALIDATION_FAILED', `invalid weights for ${service}: ${problems.join('; ')}`, { details: { problems } });
    const full: Record<string, number> = {};
    for (const v of route.versions) full[v.name] = (weights as Record<string, number>)[v.name] ?? 0;
    const override: WeightOverride = { weights: full, configWeights: configuredWeights(this.#config.services[service]) };
    await this.store.setWeights(service, override, { actor, action: 'weights.set', target: service, before: route.weights, after: full, reason });
    this.#overrides = { ...this.#overrides, [service]: override };
    this.#publish();
    return this.#table;
  }

  /**
   * Sets (or clears) a service's live stable version: the rollout controller's, after a rollout made a
   * new version the stable one. It applies only while the service's weights are live (an override):
   * when a config edit resets the weights, the config's `stable` applies again.
   */
  setStable(service: string, version: string | undefined): void {
    if (this.#stables[service] === version) return;
    const next = { ...this.#stables };
    if (version === undefined) delete next[service];
    else next[service] = version;
    this.#stables = next;
    this.#publish();
  }

  /**
   * Re-reads live state from the store and publishes a new table if it changed: after another writer
   * (the rollout controller's putRollout, another `weir server` replica) changed weights.
   */
  async refresh(): Promise<boolean> {
    const next = await this.store.getWeightOverrides();
    if (JSON.stringify(next) === JSON.stringify(this.#overrides)) return false;
    this.#overrides = next;
    this.#publish();
    return true;
  }

  async #dropStaleOverrides(actor: string): Promise<void> {
    const next: Record<string, WeightOverride> = {};
    for (const [service, o] of Object.entries(this.#overrides)) {
      const svc = this.#config.services[service];
      const stale = !svc || JSON.stringify(configuredWeights(svc)) !== JSON.stringify(o.configWeights)
        || Object.keys(o.weights).some((v) => !(v in svc.versions));
      if (stale) await this.store.clearWeights(service, { actor, action: 'weights.reset', target: service, before: o.weights, reason: 'the configured weights changed; the config wins' });
      else next[service] = o;
    }
    this.#overrides = next;
  }

  /** Fault rules set through the API, per service (the config's rules apply where none are set). */
  get faults(): Readonly<Record<string, FaultRule[]>> {
    return this.#faults;
  }

  /**
   * Replaces a service's fault rules at run time (validated against its versions and blast-radius
   * caps; `durationMs` makes them expire on their own). Audited.
   */
  async setFaults(service: string, rules: unknown, actor: string, opts: { reason?: string; durationMs?: number } = {}): Promise<RoutingTable> {
    const svc = this.#config.services[service];
    if (!svc) throw new WeirError('NOT_FOUND', `no service named "${service}"`);
    const parsed = parseFaultRules(rules, Object.keys(svc.versions), faultPolicyOf(svc.faults), this.#now(), opts.durationMs);
    await this.store.appendAudit({ actor, action: 'faults.set', target: service, before: this.#faults[service] ?? null, after: parsed, reason: opts.reason });
    this.#faults = { ...this.#faults, [service]: parsed };
    this.#publish();
    return this.#table;
  }

  /**
   * Removes a service's API-set faults, so weir.yaml's rules apply again (`keepConfigRules: false`
   * silences those too, until the next change). Audited, with a drill's report.
   */
  async clearFaults(service: string, actor: string, opts: { reason?: string; report?: unknown; keepConfigRules?: boolean } = {}): Promise<RoutingTable> {
    if (!this.#config.services[service]) throw new WeirError('NOT_FOUND', `no service named "${service}"`);
    await this.store.appendAudit({ actor, action: 'faults.clear', target: service, before: this.#faults[service] ?? null, after: opts.report ?? null, reason: opts.reason });
    const next = { ...this.#faults };
    if (opts.keepConfigRules) delete next[service];
    else next[service] = [];
    this.#faults = next;
    this.#publish();
    return this.#table;
  }

  /**
   * The current flag definitions (self-contained flagd definitions by key). Publishes a new table only
   * when a flag some service routes by (or one of its prerequisites) changed.
   */
  setFlagDefinitions(defs: Record<string, unknown>): void {
    const before = JSON.stringify(this.#table.services.map((s) => s.flag?.flags ?? null));
    this.#flagDefs = defs;
    const after = JSON.stringify(buildTable(this.#config, this.#table.version, {}, {}, {}, defs).services.map((s) => s.flag?.flags ?? null));
    if (after !== before) this.#publish();
  }

  #publish(): void {
    const overrides = Object.fromEntries(Object.entries(this.#overrides).map(([k, o]) => [k, o.weights]));
    const version = Math.max(this.#table.version + 1, this.#now());
    const stables = Object.fromEntries(Object.entries(this.#stables).filter(([k]) => k in overrides));
    this.#table = buildTable(this.#config, version, overrides, stables, this.#faults, this.#flagDefs);
    for (const l of this.#listeners) l(this.#table);
  }
}
