import type { ControlExtension } from '../runtime/extensions.ts';
import type { EventsLike } from '../analysis/events-source.ts';
import { createAnalyzer } from '../analysis/analyzer.ts';
import { RolloutController } from './controller.ts';
import { createRolloutRoutes } from './routes.ts';

/** How often the controller looks at running rollouts (WEIR_ROLLOUT_TICK_MS overrides, for tests and demos). */
export const DEFAULT_TICK_MS = 1000;

/**
 * The rollouts capability: the controller (ticking while this process leads), its API routes, and
 * analysis over the event store that the `events` extension exposes (`ctx.get('events')`).
 *
 * @example
 *   // src/runtime/control-extensions.ts
 *   export const CONTROL_EXTENSIONS = [eventsExtension, createRolloutExtension()];
 */
export function createRolloutExtension(o: { tickMs?: number; events?: () => EventsLike | undefined } = {}): ControlExtension {
  return {
    name: 'rollouts',
    async start(ctx) {
      const analyzer = createAnalyzer({ events: o.events ?? (() => ctx.get<EventsLike>('events')) });
      const controller = new RolloutController({
        plane: ctx.plane, store: ctx.store, config: ctx.config, now: ctx.now, analyzer, isLeader: ctx.isLeader, log: ctx.log,
      });
      await controller.init();
      const tickMs = o.tickMs ?? (Number(process.env.WEIR_ROLLOUT_TICK_MS) || DEFAULT_TICK_MS);
      const timer = setInterval(() => void controller.tick(), tickMs);
      timer.unref();
      void controller.tick();
      return {
        value: controller,
        routes: createRolloutRoutes(controller, ctx.store),
        async stop() {
          clearInterval(timer);
          await controller.idle();
        },
      };
    },
  };
}
