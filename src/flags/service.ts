/**
 * The control plane's flags: three layers merged the way flagd merges sources (later wins per key) —
 * flag files < flags defined through the API (the state store) < the local overrides file — checked as a
 * whole (prerequisites), and installed into the registry, which publishes every change to OFREP streams
 * and providers. Writes go to the store first; a change that does not validate applies nothing.
 */
import { WeirError } from '../errors.ts';
import type { AuditInput, FlagSchedule, StateStore, StoredFlag } from '../store/types.ts';
import { checkFlagSet, flagSetError, formatFlagIssues, loadFlagSet } from './load.ts';
import { mergeFlagSets } from './merge.ts';
import type { FlagRegistry } from './registry.ts';
import type { CompiledFlagSet, FlagIssue, LoadResult } from './types.ts';
import { isPlainObject } from './util.ts';

const EMPTY: CompiledFlagSet = { flags: new Map(), metadata: {}, sources: [] };

export interface FlagServiceOptions {
  registry: FlagRegistry;
  store: StateStore;
  now: () => number;
  log?: (line: string) => void;
  /** Only the leader applies scheduled changes. */
  isLeader?: () => boolean;
}

export interface FlagService {
  /** Installs all three layers at once (startup); throws CONFIG_INVALID with every issue when they do not fit together. */
  start(files: CompiledFlagSet, overrides: CompiledFlagSet | null): Promise<void>;
  /** The file layer changed (the watcher loaded the files cleanly). False when the merged set is invalid. */
  setFiles(set: CompiledFlagSet): boolean;
  /** The overrides layer (development): wins over everything. */
  setOverrides(set: CompiledFlagSet | null): boolean;
  /** Re-reads the stored flags (other replicas' writes) and recomposes. */
  refresh(): Promise<void>;
  /** Where each flag of the current set comes from: `file`, `api` or `overrides`. */
  layerOf(key: string): 'file' | 'api' | 'overrides' | undefined;
  /** Validates `definition` as the flag `key` against the current layers; the errors, or none. */
  validate(key: string, definition: unknown): FlagIssue[];
  put(key: string, definition: unknown, actor: string, reason?: string): Promise<StoredFlag>;
  remove(key: string, actor: string, reason?: string): Promise<boolean>;
  /** The kill switch: the flag's current definition with `state` set; a file flag gets an API copy. */
  setState(key: string, state: 'ENABLED' | 'DISABLED', actor: string, reason?: string): Promise<StoredFlag>;
  schedule(key: string, at: number, definition: unknown, actor: string): Promise<FlagSchedule>;
  cancelSchedule(key: string, id: number, actor: string): Promise<boolean>;
  /** Applies due scheduled changes (leader only); returns how many were applied. Idempotent. */
  tick(): Promise<number>;
}

/**
 * @example
 *   const flags = createFlagService({ registry, store, now: Date.now, isLeader: () => true });
 *   await flags.refresh();
 *   await flags.setState('new-checkout', 'DISABLED', 'ann', 'checkout errors');   // kill switch
 */
export function createFlagService(o: FlagServiceOptions): FlagService {
  const log = o.log ?? (() => {});
  let files = EMPTY;
  let overrides: CompiledFlagSet | null = null;
  let stored = new Map<string, unknown>();
  let apiSet = EMPTY;

  const compileStored = (defs: Map<string, unknown>): LoadResult => loadFlagSet({ flags: Object.fromEntries(defs) }, 'api');
  const compose = (f: CompiledFlagSet, api: CompiledFlagSet, ov: CompiledFlagSet | null): LoadResult => {
    const set = mergeFlagSets(ov ? [f, api, ov] : [f, api]);
    const issues = checkFlagSet(set);
    return issues.length ? { ok: false, errors: issues } : { ok: true, set };
  };
  const install = (f: CompiledFlagSet, api: CompiledFlagSet, ov: CompiledFlagSet | null): boolean => {
    const r = compose(f, api, ov);
    if (!r.ok) {
      log(`weir: flags NOT changed, the merged set is invalid:\n${formatFlagIssues(r.errors)}`);
      return false;
    }
    files = f;
    apiSet = api;
    overrides = ov;
    o.registry.replace(r.set);
    return true;
  };
  const candidate = (key: string, definition: unknown): LoadResult => {
    if (!isPlainObject(definition)) return { ok: false, errors: [{ path: '(body)', message: 'a flag definition must be an object: { state, variants, defaultVariant, targeting? }', source: 'api' }] };
    const next = new Map(stored);
    next.set(key, definition);
    const r = compileStored(next);
    if (!r.ok) return r;
    return compose(files, r.set, overrides);
  };
  const effective = (key: string): unknown => stored.get(key) ?? files.flags.get(key)?.definition;
  const audit = (actor: string, action: string, key: string, before: unknown, after: unknown, reason?: string): AuditInput =>
    ({ actor, action, target: `flag:${key}`, before, after, reason });

  const service: FlagService = {
    async start(f, ov) {
      const rows = await o.store.listFlags();
      const defs = new Map(rows.map((r) => [r.key, r.definition]));
      const api = compileStored(defs);
      const r = api.ok ? compose(f, api.set, ov) : api;
      if (!r.ok) throw flagSetError(r.errors);
      stored = defs;
      install(f, (api as { set: CompiledFlagSet }).set, ov);
    },
    setFiles: (set) => install(set, apiSet, overrides),
    setOverrides: (set) => install(files, apiSet, set),
    async refresh() {
      const rows = await o.store.listFlags();
      const defs = new Map(rows.map((r) => [r.key, r.definition]));
      const r = compileStored(defs);
      if (!r.ok) {
        log(`weir: stored flags are invalid, keeping the last good set:\n${formatFlagIssues(r.errors)}`);
        return;
      }
      if (install(files, r.set, overrides)) stored = defs;
    },
    layerOf(key) {
      if (overrides?.flags.has(key)) return 'overrides';
      if (apiSet.flags.has(key)) return 'api';
      return files.flags.has(key) ? 'file' : undefined;
    },
    validate(key, definition) {
      const r = candidate(key, definition);
      return r.ok ? [] : r.errors;
    },
    async put(key, definition, actor, reason) {
      const r = candidate(key, definition);
      if (!r.ok) throw flagSetError(r.errors);
      const out = await o.store.putFlag(key, definition, audit(actor, 'flag.put', key, effective(key), definition, reason));
      await service.refresh();
      return out;
    },
    async remove(key, actor, reason) {
      if (!stored.has(key)) throw new WeirError('NOT_FOUND', `flag "${key}" is not defined through the API${files.flags.has(key) ? ' (it comes from a flag file: edit the file)' : ''}`);
      const next = new Map(stored);
      next.delete(key);
      const r = compileStored(next);
      const check = r.ok ? compose(files, r.set, overrides) : r;
      if (!check.ok) throw flagSetError(check.errors);
      const ok = await o.store.deleteFlag(key, audit(actor, 'flag.delete', key, stored.get(key), files.flags.get(key)?.definition, reason));
      await service.refresh();
      return ok;
    },
    async setState(key, state, actor, reason) {
      const cur = effective(key);
      if (!isPlainObject(cur)) throw new WeirError('NOT_FOUND', `no flag "${key}" — weir flags list shows the flags`);
      const next = { ...cur, state };
      const out = await o.store.putFlag(key, next, audit(actor, state === 'DISABLED' ? 'flag.disable' : 'flag.enable', key, cur, next, reason));
      await service.refresh();
      return out;
    },
    async schedule(key, at, definition, actor) {
      const r = candidate(key, definition);
      if (!r.ok) throw flagSetError(r.errors);
      return o.store.addFlagSchedule({ key, at, definition, createdBy: actor }, audit(actor, 'flag.schedule', key, effective(key), definition, `at ${new Date(at).toISOString()}`));
    },
    async cancelSchedule(key, id, actor) {
      const s = (await o.store.listFlagSchedules({ key })).find((x) => x.id === id);
      if (!s) throw new WeirError('NOT_FOUND', `no scheduled change ${id} for flag "${key}"`);
      return o.store.finishFlagSchedule(id, 'cancelled', audit(actor, 'flag.schedule.cancel', key, s.definition, undefined));
    },
    async tick() {
      if (o.isLeader && !o.isLeader()) return 0;
      const now = o.now();
      let applied = 0;
      for (const s of await o.store.listFlagSchedules({ pending: true })) {
        if (s.at > now) break;
        await service.refresh();
        const r = candidate(s.key, s.definition);
        if (!r.ok) {
          await o.store.finishFlagSchedule(s.id, 'cancelled', audit('controller', 'flag.schedule.cancel', s.key, s.definition, undefined, `no longer valid: ${formatFlagIssues(r.errors)}`));
          continue;
        }
        // finishFlagSchedule flips `pending` and writes the flag in one transaction: a crash before it
        // leaves the change pending (applied on the next tick), after it the change is done — never twice.
        if (await o.store.finishFlagSchedule(s.id, 'applied', audit('controller', 'flag.schedule.apply', s.key, effective(s.key), s.definition, `scheduled by ${s.createdBy}`))) applied++;
      }
      if (applied) await service.refresh();
      return applied;
    },
  };
  return service;
}
