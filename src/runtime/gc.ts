import { availableParallelism } from 'node:os';

/**
 * The V8 flag a Weir process should start with when `processes` Weir processes share this machine's
 * cores: `--single-threaded-gc` once there are at least as many processes as cores (a single core
 * counts: taskset, a cpuset, a one-CPU container quota). V8's parallel GC helper threads can then
 * only take turns with the main threads, which wait for them: at 7k req/s on one core young-generation
 * pauses reached 19–26 ms with the helpers and stayed under 7.5 ms without (docs/proxy.md). Empty
 * when the flag is already on, when WEIR_GC=parallel asks for V8's default, or when there are cores
 * to spare.
 */
export function gcFlags(processes: number): string[] {
  if (process.env.WEIR_GC === 'parallel' || process.execArgv.includes('--single-threaded-gc')) return [];
  return processes >= availableParallelism() ? ['--single-threaded-gc'] : [];
}
