/**
 * Atomic file replacement (Node only). A checkpoint written in place and interrupted by a
 * crash, a kill or a full disk leaves a torn file and loses the previous good one too.
 * Writing a temporary file beside the target and renaming it over the target avoids that:
 * rename within one directory is atomic on POSIX filesystems, so a reader (or the next run)
 * sees either the old file or the new one, never a mix.
 *
 * The two fsyncs make that hold across a power loss as well: the file's bytes must be on
 * disk before the rename is, or the rename can survive while the data does not; and the
 * directory entry itself is only durable once the directory is synced.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { asWriteError } from './errors.js';
import { failIfInjected } from './fs-faults.js';

function tempPathFor(path: string): string {
  // Hidden, unique per process and call; the same directory keeps rename atomic (a
  // rename across filesystems is a copy).
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** A disk-full or read-only failure as one sentence that says the target is as it was. */
function failed(err: unknown, path: string): unknown {
  return asWriteError(err, `writing ${path}`, existsSync(path) ? `${path} is unchanged` : 'no partial file was left');
}

/** Writes `data` to `path` so that `path` always holds either its old or its new contents. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const temp = tempPathFor(path);
  try {
    failIfInjected('open', temp);
    const file = await open(temp, 'wx');
    try {
      failIfInjected('write', path);
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    failIfInjected('rename', path);
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw failed(err, path);
  }
  await syncDirectory(dirname(path));
}

/** The synchronous twin, for exit handlers where an await would never resume. */
export function writeFileAtomicSync(path: string, data: Uint8Array | string): void {
  const temp = tempPathFor(path);
  try {
    failIfInjected('open', temp);
    const fd = openSync(temp, 'wx');
    try {
      failIfInjected('write', path);
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    failIfInjected('rename', path);
    renameSync(temp, path);
  } catch (err) {
    try { unlinkSync(temp); } catch { /* never created, or already renamed */ }
    throw failed(err, path);
  }
  try {
    const dir = openSync(dirname(path), 'r');
    try { fsyncSync(dir); } finally { closeSync(dir); }
  } catch {
    // Windows cannot open or sync a directory; the rename is still atomic there.
  }
}

async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try { await handle.sync(); } finally { await handle.close(); }
  } catch {
    // Windows cannot open or sync a directory; the rename is still atomic there.
  }
}
