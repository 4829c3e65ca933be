/** Rollouts: canary and blue/green releases that judge themselves (docs/rollouts.md). */
export { transition, newRollout, weightsOf, isFinal } from './machine.ts';
export type { Transition } from './machine.ts';
export { rolloutSpec } from './spec.ts';
export { inBlackout, describeBlackout } from './blackout.ts';
export { RolloutController, HALT_KEY } from './controller.ts';
export type { HaltState, RolloutControllerOptions } from './controller.ts';
export { createRolloutRoutes, describeRollout } from './routes.ts';
export { createRolloutExtension } from './extension.ts';
export type * from './types.ts';
