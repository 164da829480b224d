/**
 * Reading an input file (Node only) with an error a command-line user can act on: a
 * missing or unreadable file becomes a FormatError naming the path and the reason,
 * instead of a bare ENOENT stack.
 */
import { readFile } from 'node:fs/promises';
import { FormatError } from './errors.js';

export async function readInputFile(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'file not found'
      : code === 'EISDIR' ? 'is a directory, not a file'
      : code === 'EACCES' ? 'permission denied'
      : (err as Error).message;
    throw new FormatError(path, reason, { cause: err });
  }
}
