import { WeirError } from '../errors.ts';
import { EXIT, UsageError } from './command.ts';
import type { CliIO, Command } from './command.ts';

export const VERSION = '0.1.0';

/**
 * The sub-commands, in the order `weir --help` lists them. Each module is imported only when its
 * command runs, so `weir --help` and small commands start fast (no DuckDB, pg, … loaded).
 * test/cli/registry.test.ts checks that every summary here matches its module's.
 */
export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}

export const COMMANDS: CommandEntry[] = [
  { name: 'up', summary: 'Run everything in one process: proxy, control API, state and events', load: async () => (await import('./commands/up.ts')).upCommand },
  { name: 'demo', summary: 'Start two versions of a sample shop, Weir in front, and live traffic', load: async () => (await import('./commands/demo.ts')).demoCommand },
  { name: 'validate', summary: 'Check a weir.yaml and report every problem at once', load: async () => (await import('./commands/validate.ts')).validateCommand },
  { name: 'services', summary: 'Show services, their versions, weights and live counts', load: async () => (await import('./commands/services.ts')).servicesCommand },
  { name: 'weights', summary: 'Set a service\'s weights: weir weights shop stable=75 canary=25', load: async () => (await import('./commands/services.ts')).weightsCommand },
  { name: 'rollout', summary: 'Canary and blue/green rollouts: start, status, promote, pause, resume, abort, retry', load: async () => (await import('./commands/rollout.ts')).rolloutCommand },
  { name: 'halt', summary: 'Emergency stop: every service back to its stable version, rollouts frozen', load: async () => (await import('./commands/halt.ts')).haltCommand },
  { name: 'unhalt', summary: 'Lift a halt: rollouts may start and move again', load: async () => (await import('./commands/halt.ts')).unhaltCommand },
  { name: 'query', summary: 'Query wide events: weir query --calc "P99(duration_ms)" --by version --last 15m', load: async () => (await import('./commands/query.ts')).queryCommand },
  { name: 'experiment', summary: 'A/B experiments on flags: weir experiment list | results ID', load: async () => (await import('./commands/experiment.ts')).experimentCommand },
  { name: 'compare', summary: 'Tap compare offline: send requests to primary, secondary and candidate, report real differences', load: async () => (await import('./commands/compare.ts')).compareCommand },
  { name: 'drill', summary: 'Run a fault-injection drill: weir drill run drill.yaml', load: async () => (await import('./commands/drill.ts')).drillCommand },
  { name: 'audit', summary: 'The audit log: every change to traffic, rollouts and config, who and why', load: async () => (await import('./commands/audit.ts')).auditCommand },
  { name: 'server', summary: 'Run the control plane alone (API, controllers, state); replicas share PostgreSQL', load: async () => (await import('./commands/server.ts')).serverCommand },
  { name: 'proxy', summary: 'Run the proxy alone, following a control plane\'s routing-table stream', load: async () => (await import('./commands/proxy.ts')).proxyCommand },
  { name: 'flags', summary: 'Feature flags: list, get, set, enable, disable (kill switch), history, schedule, stale', load: async () => (await import('./commands/flags.ts')).flagsCommand },
  { name: 'tokens', summary: 'Create, list and delete API tokens (admin, operator, read)', load: async () => (await import('./commands/tokens.ts')).tokensCommand },
];

function globalHelp(): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length));
  return `weir — test in production, safely

Usage: weir <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`).join('\n')}

Run 'weir <command> --help' for a command's options.
Exit codes: 0 ok, 1 failure, 2 usage error (some commands document more).
Docs: docs/ in the repository; start with README.md.
`;
}

/**
 * Runs the CLI with explicit I/O (so tests call it directly) and returns the exit code.
 *
 * @example
 *   const code = await main(['validate', '-c', 'weir.yaml'], io);
 */
export async function main(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    if (name === 'help' && rest[0]) return main([rest[0], '--help'], io);
    io.stdout(globalHelp());
    return name ? EXIT.OK : EXIT.USAGE;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    io.stdout(`weir ${VERSION}\n`);
    return EXIT.OK;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    io.stderr(`weir: unknown command "${name}". Run 'weir --help' for the list.\n`);
    return EXIT.USAGE;
  }
  const cmd = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(`${cmd.help}\n`);
    return EXIT.OK;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`weir ${cmd.name}: ${e.message}\nRun 'weir ${cmd.name} --help' for usage.\n`);
      return EXIT.USAGE;
    }
    if (e instanceof WeirError) {
      io.stderr(`weir ${cmd.name}: ${e.code}: ${e.message}\n`);
      return EXIT.FAILURE;
    }
    io.stderr(`weir ${cmd.name}: ${(e as Error).stack ?? e}\n`);
    return EXIT.FAILURE;
  }
}
