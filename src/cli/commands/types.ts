import type { Output } from '../progress.js';

/** Where a command writes and what it may read of its environment (tests pass their own). */
export interface CliIO {
  stdout: Output;
  stderr: Output;
  env: Record<string, string | undefined>;
}

/**
 * One `chainrule <name>` command. `run` gets the arguments after the name, and returns the
 * exit code (or nothing for 0); it reports user errors by throwing UsageError (exit 2) or
 * any ChainruleError (exit 1), which main() turns into one line on stderr.
 */
export interface Command {
  name: string;
  /** One line for the top-level help. */
  summary: string;
  /** The full `chainrule <name> --help` text. */
  help(): string;
  run(argv: string[], io: CliIO): Promise<number | void>;
}
