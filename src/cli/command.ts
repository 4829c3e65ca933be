/**
 * The shape of one `weir` sub-command. Each lives in src/cli/commands/<name>.ts and is registered in
 * src/cli/main.ts. Exit codes: 0 ok, 1 failure, 2 usage error; a command may document more
 * (e.g. `weir compare` exits 4 when real differences exist).
 */
export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Resolves when the user asks to stop (SIGINT/SIGTERM); long-running commands await it. */
  signal: AbortSignal;
  /** Draw progress bars on stderr (it is a terminal). Absent: no bars. */
  progress?: boolean;
}

export interface Command {
  name: string;
  /** One line for `weir --help`. */
  summary: string;
  /** Full text for `weir <name> --help`. */
  help: string;
  run(args: string[], io: CliIO): Promise<number>;
}

export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2 } as const;

/** Thrown by commands for bad arguments; main prints the message and the command's help hint, exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
