/**
 * (Re-exported by src/flags/provider.ts, the `weir/provider` package export.)
 * An in-process OpenFeature provider over a Weir flag registry: evaluations run locally (no network), and
 * the provider emits PROVIDER_CONFIGURATION_CHANGED with the changed keys whenever the registry swaps sets.
 * It becomes ready once the registry holds a flag set (at once if it already does).
 */
import { ErrorCode, OpenFeatureEventEmitter, ProviderEvents } from '@openfeature/server-sdk';
import type { EvaluationContext, JsonValue, Provider, ResolutionDetails } from '@openfeature/server-sdk';
import type { FlagRegistry } from './registry.ts';
import type { FlagErrorCode, FlagValue, TypedResolution } from './types.ts';

const CODES: Record<FlagErrorCode, ErrorCode> = {
  FLAG_NOT_FOUND: ErrorCode.FLAG_NOT_FOUND,
  TYPE_MISMATCH: ErrorCode.TYPE_MISMATCH,
  PARSE_ERROR: ErrorCode.PARSE_ERROR,
  GENERAL: ErrorCode.GENERAL,
  TARGETING_KEY_MISSING: ErrorCode.TARGETING_KEY_MISSING,
  INVALID_CONTEXT: ErrorCode.INVALID_CONTEXT,
};

function details<T>(r: TypedResolution<T>): ResolutionDetails<T> {
  const out: ResolutionDetails<T> = { value: r.value, reason: r.reason, flagMetadata: r.flagMetadata };
  if (r.variant !== undefined) out.variant = r.variant;
  if (r.errorCode) {
    out.errorCode = CODES[r.errorCode];
    out.errorMessage = r.errorMessage;
  }
  return out;
}

/**
 * @example
 *   const registry = createFlagRegistry({ clock: Date.now });
 *   await OpenFeature.setProviderAndWait(new WeirFlagProvider(registry));   // waits for the first flag set
 *   const on = await OpenFeature.getClient().getBooleanValue('new-checkout', false, { targetingKey: 'u-1' });
 */
export class WeirFlagProvider implements Provider {
  readonly metadata = { name: 'weir' } as const;
  readonly runsOn = 'server';
  readonly events = new OpenFeatureEventEmitter();
  readonly #registry: FlagRegistry;
  #off: (() => void) | null = null;

  constructor(registry: FlagRegistry) {
    this.#registry = registry;
  }

  /** Resolves when the registry has a flag set; the SDK then emits PROVIDER_READY. */
  initialize(): Promise<void> {
    const reg = this.#registry;
    return new Promise<void>((resolve) => {
      let ready = reg.version > 0;
      if (ready) resolve();
      this.#off?.();
      this.#off = reg.onChange((change) => {
        if (!ready) {
          ready = true;
          resolve();
          return;
        }
        this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: change.changed, metadata: { version: change.version } });
      });
    });
  }

  async onClose(): Promise<void> {
    this.#off?.();
    this.#off = null;
  }

  async resolveBooleanEvaluation(flagKey: string, defaultValue: boolean, context: EvaluationContext): Promise<ResolutionDetails<boolean>> {
    return details(this.#registry.resolveBoolean(flagKey, defaultValue, context));
  }

  async resolveStringEvaluation(flagKey: string, defaultValue: string, context: EvaluationContext): Promise<ResolutionDetails<string>> {
    return details(this.#registry.resolveString(flagKey, defaultValue, context));
  }

  async resolveNumberEvaluation(flagKey: string, defaultValue: number, context: EvaluationContext): Promise<ResolutionDetails<number>> {
    return details(this.#registry.resolveNumber(flagKey, defaultValue, context));
  }

  async resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T, context: EvaluationContext): Promise<ResolutionDetails<T>> {
    return details(this.#registry.resolveObject(flagKey, defaultValue as FlagValue, context)) as ResolutionDetails<T>;
  }
}
