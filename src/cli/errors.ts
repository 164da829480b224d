import { ChainruleError } from '../errors.js';

/** A mistake on the command line itself (unknown flag, missing or bad value): exit code 2. */
export class UsageError extends ChainruleError {}

/**
 * A user error found while running a command (a file that is missing or malformed, a
 * checkpoint that does not fit, an empty dataset): exit code 1, one line, no stack trace.
 */
export class CliError extends ChainruleError {}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/**
 * What the user sees for an error, and the exit code. chainrule's own errors (FormatError,
 * ShapeError, ValueError, ...) carry messages written for users, so they are shown as they
 * are; anything else is a bug in chainrule or Node trouble (out of memory, EACCES on the
 * output directory), shown with its message and a pointer to --debug for the stack.
 */
export function describeError(err: unknown): { message: string; code: number } {
  if (err instanceof UsageError) return { message: err.message, code: EXIT_USAGE };
  if (err instanceof ChainruleError) return { message: oneLine(err.message), code: EXIT_FAILURE };
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
