import type { ControlExtension } from './extensions.ts';
import { createRolloutExtension } from '../rollout/extension.ts';
import { eventsExtension } from './events-extension.ts';
import { experimentsExtension } from '../experiments/routes.ts';

/**
 * Every control-plane capability beyond the core (services, weights, audit), in start order.
 * Add one line per capability.
 */
export const CONTROL_EXTENSIONS: ControlExtension[] = [
  eventsExtension,
  experimentsExtension,
  createRolloutExtension(),
];
