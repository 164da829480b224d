import { ChainruleError } from '../errors.js';

/**
 * FormatError: a file (or byte buffer) that cannot be read as the format it claims to be.
 * The message always starts with the source it came from, so a user who passed several
 * files on a command line knows which one to look at.
 */
export class FormatError extends ChainruleError {
  /** The file path, or a description such as "<bytes>" when decoding from memory. */
  readonly source: string;

  constructor(source: string, message: string, options?: { cause?: unknown }) {
    super(`${source}: ${message}`);
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
    this.name = 'FormatError';
    this.source = source;
  }
}

/**
 * WriteError: a file could not be written because of the machine, not the data: the disk is
 * full, the file system is read-only, permission is denied. The message says what happened,
 * where, and what is still intact ("disk full while saving the checkpoint to runs/a; the
 * previous checkpoint is intact"); `code` is the errno code.
 */
export class WriteError extends ChainruleError {
  readonly code: string;
  readonly path: string;

  constructor(code: string, path: string, message: string, options?: { cause?: unknown }) {
    super(message);
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
    this.name = 'WriteError';
    this.code = code;
    this.path = path;
  }
}

const WRITE_FAILURES: Record<string, (path: string) => string> = {
  ENOSPC: () => 'disk full',
  EDQUOT: () => 'disk quota exceeded',
  EFBIG: (p) => `file too large for the file system (${p})`,
  EROFS: () => 'read-only file system',
  EACCES: (p) => `permission denied on ${p}`,
  EPERM: (p) => `operation not permitted on ${p}`,
  EIO: (p) => `input/output error on ${p}`,
};

/** The errno code of a write failure WriteError stands for, or undefined for any other error. */
export function writeFailureCode(err: unknown): string | undefined {
  if (err instanceof WriteError) return err.code;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && Object.hasOwn(WRITE_FAILURES, code) ? code : undefined;
}

/**
 * `err` as a WriteError saying "<what happened> while <action>; <intact>" when it is a write
 * failure (an errno error or a WriteError from a lower layer); any other error unchanged.
 */
export function asWriteError(err: unknown, action: string, intact: string): unknown {
  const code = writeFailureCode(err);
  if (code === undefined) return err;
  const path = err instanceof WriteError ? err.path : String((err as { path?: unknown }).path ?? '?');
  return new WriteError(code, path, `${WRITE_FAILURES[code]!(path)} while ${action}; ${intact}`, { cause: err });
}

/**
 * BusyError: the directory is being written by another process (its lock file names it), so
 * writing there now would interleave two runs' files. The message names the holder and says
 * how to clear a lock that outlived its process where that cannot be told automatically.
 */
export class BusyError extends ChainruleError {}
