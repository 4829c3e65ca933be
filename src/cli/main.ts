import { WeirError } from '../errors.ts';
import { EXIT, UsageError } from './command.ts';
import type { CliIO, Command } from './command.ts';
import { upCommand } from './commands/up.ts';
import { validateCommand } from './commands/validate.ts';
import { servicesCommand, weightsCommand } from './commands/services.ts';
import { demoCommand } from './commands/demo.ts';
import { compareCommand } from './commands/compare.ts';
import { drillCommand } from './commands/drill.ts';
import { rolloutCommand } from './commands/rollout.ts';
import { haltCommand, unhaltCommand } from './commands/halt.ts';
import { auditCommand } from './commands/audit.ts';
import { serverCommand } from './commands/server.ts';
import { proxyCommand } from './commands/proxy.ts';
import { tokensCommand } from './commands/tokens.ts';

export const VERSION = '0.1.0';

/** Every sub-command, in the order `weir --help` lists them. */
export const COMMANDS: Command[] = [upCommand, demoCommand, validateCommand, servicesCommand, weightsCommand, compareCommand, rolloutCommand, haltCommand, unhaltCommand, auditCommand, serverCommand, proxyCommand, tokensCommand, drillCommand];

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
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    io.stderr(`weir: unknown command "${name}". Run 'weir --help' for the list.\n`);
    return EXIT.USAGE;
  }
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
