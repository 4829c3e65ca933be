/**
 * Flags in the control plane (`weir up`, `weir server`): loads the files and the local overrides file,
 * starts the flag service over the state store, watches the files, applies scheduled changes on a tick
 * (leader only), counts OFREP evaluations and persists the counts periodically.
 */
import { resolve } from 'node:path';
import { WeirError } from '../errors.ts';
import type { ApiRoute } from '../control/route.ts';
import type { StateStore } from '../store/types.ts';
import { createFlagRoutes } from './api-routes.ts';
import { loadFlagFiles, watchFlagFiles } from './files.ts';
import { formatFlagIssues } from './load.ts';
import type { FlagRegistry } from './registry.ts';
import { createFlagService } from './service.ts';
import type { FlagService } from './service.ts';
import type { CompiledFlagSet } from './types.ts';
import { createFlagUsageCounter } from './usage.ts';
import type { FlagUsageCounter } from './usage.ts';

export interface StartFlagsOptions {
  registry: FlagRegistry;
  store: StateStore;
  now: () => number;
  log: (line: string) => void;
  env: Record<string, string | undefined>;
  /** Relative file names are resolved against it (the config file's directory). */
  configDir: string;
  config?: { files?: string[]; overrides?: string };
  isLeader: () => boolean;
  /** How often scheduled changes are checked and counts persisted. Default 1000 ms; 0 disables (tests tick by hand). */
  tickMs?: number;
}

export interface StartedFlags {
  service: FlagService;
  usage: FlagUsageCounter;
  /** The registry as OFREP sees it: single-flag evaluations are counted for the stale report. */
  counted: FlagRegistry;
  routes(signal: AbortSignal): ApiRoute[];
  /** Applies due schedules and persists counts (what the timer does). */
  tick(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The overrides file: `flags.overrides` or `WEIR_FLAG_OVERRIDES`. Refused when NODE_ENV or WEIR_ENV is
 * `production`, so a developer's file can never switch flags in production by accident.
 *
 * @example
 *   overridesPath({ overrides: 'flags.local.yaml' }, process.env, '/app') // '/app/flags.local.yaml'
 */
export function overridesPath(config: StartFlagsOptions['config'], env: Record<string, string | undefined>, dir: string): string | undefined {
  const p = env.WEIR_FLAG_OVERRIDES || config?.overrides;
  if (!p) return undefined;
  if (env.NODE_ENV === 'production' || env.WEIR_ENV === 'production') {
    throw new WeirError('CONFIG_INVALID', `flag overrides (${p}) are for development and are refused when NODE_ENV or WEIR_ENV is production — remove flags.overrides / WEIR_FLAG_OVERRIDES`);
  }
  return resolve(dir, p);
}

/**
 * @example
 *   const flags = await startFlags({ registry, store, now: Date.now, log: console.log, env: process.env, configDir: '.', config: { files: ['flags.yaml'] }, isLeader: () => true });
 */
export async function startFlags(o: StartFlagsOptions): Promise<StartedFlags> {
  const files = (o.config?.files ?? []).map((f) => resolve(o.configDir, f));
  const ovPath = overridesPath(o.config, o.env, o.configDir);
  const empty: CompiledFlagSet = { flags: new Map(), metadata: {}, sources: [] };
  const load = async (paths: string[], what: string): Promise<CompiledFlagSet> => {
    if (!paths.length) return empty;
    const r = await loadFlagFiles(paths);
    if (!r.ok) throw new WeirError('CONFIG_INVALID', `${what} are invalid:\n${formatFlagIssues(r.errors)}`, { details: { issues: r.errors } });
    return r.set;
  };
  const fileSet = await load(files, 'flag files');
  const ovSet = ovPath ? await load([ovPath], 'flag overrides') : null;
  const service = createFlagService({ registry: o.registry, store: o.store, now: o.now, log: o.log, isLeader: o.isLeader });
  await service.start(fileSet, ovSet);
  if (ovSet) {
    o.log(`weir: !!! FLAG OVERRIDES ACTIVE from ${ovPath}: ${[...ovSet.flags.keys()].join(', ') || '(none)'} win over flag files and the API — development only !!!`);
  }
  const onError = (what: string) => (e: Parameters<typeof formatFlagIssues>[0]) => o.log(`weir: ${what} NOT reloaded, keeping the last good set:\n${formatFlagIssues(e)}`);
  const watchers = [
    files.length ? watchFlagFiles(files, { replace: (s) => service.setFiles(s) }, { onError: onError('flags') }) : null,
    ovPath ? watchFlagFiles([ovPath], { replace: (s) => service.setOverrides(s) }, { onError: onError('flag overrides') }) : null,
  ];
  const usage = createFlagUsageCounter(o.now);
  const counted: FlagRegistry = Object.create(o.registry, {
    evaluate: {
      value: (key: string, ctx?: Record<string, unknown>) => {
        const r = o.registry.evaluate(key, ctx);
        if (r.errorCode !== 'FLAG_NOT_FOUND') usage.record(key, r.variant);
        return r;
      },
    },
  });
  const persist = async () => {
    const batch = usage.drain();
    if (!batch.length) return;
    try {
      await o.store.addFlagUsage(batch);
    } catch (e) {
      usage.add(batch); // kept for the next try
      o.log(`weir: flag usage not saved: ${(e as Error).message}`);
    }
  };
  const tick = async () => {
    try {
      const n = await service.tick();
      if (n) o.log(`weir: applied ${n} scheduled flag change(s)`);
    } catch (e) {
      o.log(`weir: scheduled flag changes: ${(e as Error).message}`);
    }
    await persist();
  };
  let running: Promise<void> | null = null;
  const tickMs = o.tickMs ?? 1000;
  const timer = tickMs > 0 ? setInterval(() => { running ??= tick().finally(() => { running = null; }); }, tickMs) : null;
  timer?.unref();
  return {
    service, usage, counted, tick,
    routes: (signal) => createFlagRoutes({ service, registry: o.registry, store: o.store, usage, now: o.now, signal }),
    async close() {
      if (timer) clearInterval(timer);
      for (const w of watchers) w?.close();
      await running;
      await persist();
    },
  };
}
