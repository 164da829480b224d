/**
 * `chainrule <command> [options]`: dispatch and error reporting. A user error (a bad flag, a
 * missing or malformed file) is one line on stderr and an exit code (2 for the command line
 * itself, 1 for the rest), never a stack trace; --debug or CHAINRULE_DEBUG=1 adds the stack.
 */
import { COMMANDS, findCommand, type CliIO } from './commands/index.js';
import { describeError, describeStdoutFailure, EXIT_USAGE, EXIT_WRITE, OutputClosedError, UsageError } from './errors.js';
import { chainruleVersion } from './version.js';

export function topLevelHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `chainrule ${chainruleVersion()}: neural networks with reverse-mode autodiff in TypeScript

Usage: chainrule <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Options for every command:
  --help, -h   show the command's options
  --debug      show the stack trace of an error (also CHAINRULE_DEBUG=1)

Try: chainrule train         (a Fashion-MNIST classifier on the embedded subset)
     chainrule train --help
`;
}

export function processIO(): CliIO {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}

/**
 * The executable's run: main() with a standard output that reports being closed or full.
 * Node reports a write to a closed pipe (EPIPE) or a full disk (ENOSPC) as an 'error' event
 * after the write returned; from then on every write throws OutputClosedError, which stops
 * the command (train says what its checkpoint holds). If the command had finished writing,
 * or writes no more, the failure is reported once it ends. One line on stderr, exit code 4.
 */
export async function runProcess(argv: readonly string[]): Promise<number> {
  let failure: string | null = null;
  let reported = false;
  let finished = false;
  const name = argv[0] !== undefined && findCommand(argv[0]) !== undefined ? `chainrule ${argv[0]}` : 'chainrule';
  const report = () => {
    if (reported || failure === null) return;
    reported = true;
    process.stderr.write(`${name}: ${describeStdoutFailure(failure)}\n`);
  };
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    failure ??= err.code ?? 'EIO';
    if (finished) {
      report();
      process.exit(EXIT_WRITE);
    }
  });
  const io = processIO();
  const stdout = {
    get isTTY() { return process.stdout.isTTY; },
    get columns() { return process.stdout.columns; },
    write(text: string) {
      if (failure !== null) {
        reported = true; // main() reports the thrown error itself
        throw new OutputClosedError(failure);
      }
      return process.stdout.write(text);
    },
  };
  const code = await main(argv, { ...io, stdout });
  finished = true;
  if (failure !== null && !reported) {
    report();
    return EXIT_WRITE;
  }
  return code;
}

/** Runs one command line; returns the exit code. */
export async function main(argv: readonly string[], io: CliIO = processIO()): Promise<number> {
  const debug = argv.includes('--debug') || io.env.CHAINRULE_DEBUG === '1';
  const args = argv.filter((a) => a !== '--debug');
  let prefix = 'chainrule';
  try {
    const first = args[0];
    if (first === undefined || first === '--help' || first === '-h') {
      io.stdout.write(topLevelHelp());
      return first === undefined ? EXIT_USAGE : 0;
    }
    if (first === '--version' || first === '-V') {
      io.stdout.write(`${chainruleVersion()}\n`);
      return 0;
    }
    if (first === 'help') {
      const command = args[1] === undefined ? undefined : findCommand(args[1]);
      if (args[1] !== undefined && command === undefined) throw new UsageError(`unknown command "${args[1]}"; commands: ${COMMANDS.map((c) => c.name).join(', ')}`);
      io.stdout.write(command ? command.help() : topLevelHelp());
      return 0;
    }
    const command = findCommand(first);
    if (command === undefined) {
      const hint = first.startsWith('-') ? ' (options come after the command, e.g. chainrule train --epochs 3)' : '';
      throw new UsageError(`unknown command "${first}"; commands: ${COMMANDS.map((c) => c.name).join(', ')}${hint}`);
    }
    prefix = `chainrule ${command.name}`;
    const rest = args.slice(1);
    // --help / -h anywhere wins before any flag is checked (`train --lr abc --help` shows the help).
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout.write(command.help());
      return 0;
    }
    return (await command.run(rest, io)) ?? 0;
  } catch (err) {
    const { message, code } = describeError(err);
    io.stderr.write(`${prefix}: ${message}\n`);
    if (debug && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
    return code;
  }
}
