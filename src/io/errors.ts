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
