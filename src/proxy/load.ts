import { performance } from 'node:perf_hooks';

/*
 * How busy this process is, for the copy caps (shadow and tap compare): the share of the last ~100 ms
 * its event loop spent running code rather than waiting for I/O (Node's event-loop utilization). A
 * proxy whose loop is nearly always busy makes users' requests queue behind each other; copies are
 * the first work to shed then (`maxLoad`), before they add to the queue. One sample every 100 ms, on
 * an unref'd timer, costs about a microsecond.
 */

/** How often the busy share is sampled, ms. */
export const LOAD_INTERVAL_MS = 100;

let last = performance.eventLoopUtilization();
let current = 0;
let timer: NodeJS.Timeout | undefined;

function sample(): void {
  const now = performance.eventLoopUtilization();
  current = performance.eventLoopUtilization(now, last).utilization;
  last = now;
}

/**
 * This process's event-loop busy share over the last sampling interval, 0..1 (0 until the first
 * sample, 100 ms after the first call).
 * @example if (processLoad() > 0.8) dropCopy('overload');
 */
export function processLoad(): number {
  if (timer === undefined) {
    last = performance.eventLoopUtilization();
    timer = setInterval(sample, LOAD_INTERVAL_MS);
    timer.unref();
  }
  return current;
}
