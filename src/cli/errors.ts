import { ChainruleError } from '../errors.js';
import { asWriteError, BusyError, WriteError, writeFailureCode } from '../io/errors.js';
import { NonFiniteLossError } from '../train/loop.js';

/** A mistake on the command line itself (unknown flag, missing or bad value): exit code 2. */
export class UsageError extends ChainruleError {}

/**
 * A user error found while running a command (a file that is missing or malformed, a
 * checkpoint that does not fit, an empty dataset): exit code 1, one line, no stack trace.
 */
export class CliError extends ChainruleError {}

/**
 * The exit codes (README, "Exit codes"): 0 done; 1 a bad file or input; 2 a bad command line;
 * 3 training stopped because the loss became NaN or infinite; 4 an output could not be
 * written (disk full, read-only file system, permission denied, standard output closed or
 * full); 5 the output directory is being written by another chainrule process.
 */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_DIVERGED = 3;
export const EXIT_WRITE = 4;
export const EXIT_BUSY = 5;

/** An error whose message a command has already put together, with its exit code. */
export class ExitError extends ChainruleError {
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }
}

/** Standard output was closed (`chainrule ... | head -1`) or cannot be written (a full disk). */
export class OutputClosedError extends ChainruleError {
  constructor(readonly code: string) {
    super(describeStdoutFailure(code));
  }
}

export function describeStdoutFailure(code: string): string {
  if (code === 'EPIPE') return 'standard output was closed before all output was written (broken pipe)';
  if (code === 'ENOSPC') return 'disk full while writing standard output';
  return `standard output cannot be written (${code})`;
}

/**
 * What the user sees for an error, and the exit code. chainrule's own errors (FormatError,
 * ShapeError, ValueError, ...) carry messages written for users, so they are shown as they
 * are; anything else is a bug in chainrule or Node trouble (out of memory, EACCES on the
 * output directory), shown with its message and a pointer to --debug for the stack.
 */
export function describeError(err: unknown): { message: string; code: number } {
  if (err instanceof UsageError) return { message: err.message, code: EXIT_USAGE };
  if (err instanceof ExitError) return { message: oneLine(err.message), code: err.exitCode };
  if (err instanceof NonFiniteLossError) return { message: oneLine(err.message), code: EXIT_DIVERGED };
  if (err instanceof WriteError || err instanceof OutputClosedError) return { message: oneLine(err.message), code: EXIT_WRITE };
  if (err instanceof BusyError) return { message: oneLine(err.message), code: EXIT_BUSY };
  if (err instanceof ChainruleError) return { message: oneLine(err.message), code: EXIT_FAILURE };
  if (writeFailureCode(err) !== undefined) {
    const path = String((err as NodeJS.ErrnoException).path ?? '?');
    return { message: (asWriteError(err, `writing ${path}`, `${path} may be incomplete`) as Error).message, code: EXIT_WRITE };
  }
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && typeof e.code === 'string' && typeof e.path === 'string') {
    return { message: `${e.path}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.message}`, code: EXIT_FAILURE };
  }
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return { message: `internal error: ${oneLine(text)} (run with --debug or CHAINRULE_DEBUG=1 for the stack trace)`, code: EXIT_FAILURE };
}

/**
 * Some messages list things on indented lines (paths tried, every state-dict mismatch);
 * they are joined into one line: "...; tried: a, b" and "...: shape mismatch for ...".
 */
function oneLine(message: string): string {
  const [first, ...rest] = message.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('at '));
  if (rest.length === 0) return first ?? '';
  return `${first}${first!.endsWith(':') ? ' ' : ': '}${rest.join(', ')}`;
}
