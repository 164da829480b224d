/**
 * One writer per directory (Node only). A writer holds DIR/.chainrule.lock, a small JSON file
 * naming its process (pid, host, start time, command line); a second writer, in this process
 * or another, fails at once with a BusyError naming the first instead of interleaving its
 * staging directories and renames with the first one's.
 *
 * The lock file is made complete under a temporary name and hard-linked into place, so it
 * appears whole or not at all (a link fails if the name exists, atomically). A lock left by a
 * process that died (a kill -9, a crash, a power loss) is taken over automatically when it
 * names this host and a pid that is no longer running: under a second exclusive file
 * (.chainrule.lock.takeover) the taker checks that the lock still holds the dead process's
 * text and renames its own over it, so two processes finding the same stale lock cannot both
 * take it. A lock naming another host (a shared file system) or a pid that is running (maybe
 * a new process that reused the number) is respected; the message says which file to delete
 * if that run has in fact ended.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { link, lstat, open, readFile, realpath, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { BusyError } from './errors.js';
import { failIfInjected } from './fs-faults.js';

export const LOCK_FILE = '.chainrule.lock';
const TAKEOVER_SUFFIX = '.takeover';

interface LockInfo {
  pid: number;
  host: string;
  started: string;
  command: string;
  token: string;
}

export interface DirLock {
  readonly dir: string;
  readonly path: string;
  /** Removes the lock file (if it is still this lock's). */
  release(): Promise<void>;
}

/** Locks held by this process, by the directory's real path. */
const held = new Map<string, { path: string; text: string }>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // process.exit() (a broken pipe, an error in an exit path) skips `finally`: remove our locks.
  process.on('exit', () => {
    for (const { path, text } of held.values()) {
      try {
        if (readFileSync(path, 'utf8') === text) unlinkSync(path);
      } catch { /* already gone */ }
    }
  });
}

function parseLock(text: string): LockInfo | null {
  try {
    const v = JSON.parse(text) as Partial<LockInfo>;
    return Number.isSafeInteger(v.pid) && typeof v.host === 'string' ? (v as LockInfo) : null;
  } catch {
    return null;
  }
}

/** Whether the process a lock names may still be running. */
function mayBeRunning(info: LockInfo, realDir: string): boolean {
  if (info.host !== hostname()) return true; // another machine's pids mean nothing here
  if (info.pid === process.pid) return held.has(realDir);
  try {
    process.kill(info.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** The lock file's text, or null when it vanished; a lock file that is not a small regular file is refused. */
async function readLockText(path: string): Promise<string | null> {
  let info;
  try {
    info = await lstat(path);
  } catch {
    return null;
  }
  if (!info.isFile() || info.size > 64 * 1024) {
    throw new BusyError(`${path} is in the way of chainrule's lock file and is not one (${info.isFile() ? 'too large' : 'not a regular file'}); remove it`);
  }
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

/** Creates `path` holding `text`, or returns false if it exists. */
async function createExclusive(path: string, text: string): Promise<boolean> {
  failIfInjected('open', path);
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, text, { flag: 'wx' });
  try {
    await link(temp, path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
    // No hard links here (some network and FAT file systems): an exclusive create instead.
    try {
      const handle = await open(path, 'wx');
      try { await handle.writeFile(text); } finally { await handle.close(); }
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

function describeHolder(info: LockInfo | null): string {
  if (info === null) return 'a process whose lock file cannot be read';
  const where = info.host === hostname() ? 'on this machine' : `on host ${info.host}`;
  return `chainrule process ${info.pid} ${where} (since ${info.started}${info.command ? `: ${info.command}` : ''})`;
}

/**
 * Takes DIR's lock for this process, or throws BusyError at once if another writer holds it.
 * `command` is recorded for the message another writer would see.
 */
export async function lockDir(dir: string, command = ''): Promise<DirLock> {
  const realDir = await realpath(dir);
  const path = join(dir, LOCK_FILE);
  if (held.has(realDir)) {
    throw new BusyError(`${dir} is already being written by this process (another run or save into the same directory); two writers would overwrite each other's checkpoints`);
  }
  const info: LockInfo = { pid: process.pid, host: hostname(), started: new Date().toISOString(), command, token: randomBytes(8).toString('hex') };
  const text = `${JSON.stringify(info)}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await createExclusive(path, text)) return register(dir, realDir, path, text);
    const otherText = await readLockText(path);
    if (otherText === null) continue; // released meanwhile: try again
    const other = parseLock(otherText);
    if (other === null || mayBeRunning(other, realDir)) {
      const ended = other !== null && other.host !== hostname()
        ? `if that run has ended, delete ${path}`
        : `wait for it to finish or write to another directory; if no chainrule process is writing there, delete ${path}`;
      throw new BusyError(`${dir} is being written by ${describeHolder(other)}; two writers would overwrite each other's checkpoints: ${ended}`);
    }
    if (await takeOver(path, otherText, text, other)) return register(dir, realDir, path, text);
  }
  throw new BusyError(`${dir}: could not take its lock ${path}, which other processes keep changing; try again`);
}

/** Replaces a dead process's lock by ours, unless someone else did first. */
async function takeOver(path: string, staleText: string, text: string, stale: LockInfo): Promise<boolean> {
  const guard = `${path}${TAKEOVER_SUFFIX}`;
  const mine = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.new`;
  if (!(await createExclusive(guard, text))) {
    const g = parseLock((await readLockText(guard)) ?? '');
    if (g !== null && g.host === hostname() && g.pid !== process.pid && !mayBeRunning(g, '')) {
      throw new BusyError(`${path} was left by chainrule process ${stale.pid}, which is no longer running, and ${guard} by process ${g.pid}, which died while taking it over; if no chainrule process is writing there, delete both files`);
    }
    throw new BusyError(`${path} was left by chainrule process ${stale.pid}, which is no longer running, and another process is taking it over now`);
  }
  try {
    if ((await readLockText(path)) !== staleText) return false;
    await writeFile(mine, text, { flag: 'wx' });
    failIfInjected('rename', path);
    await rename(mine, path);
    return true;
  } finally {
    await unlink(mine).catch(() => undefined);
    await unlink(guard).catch(() => undefined);
  }
}

function register(dir: string, realDir: string, path: string, text: string): DirLock {
  installExitHook();
  held.set(realDir, { path, text });
  let released = false;
  return {
    dir,
    path,
    async release() {
      if (released) return;
      released = true;
      held.delete(realDir);
      try {
        if ((await readFile(path, 'utf8')) === text) await unlink(path);
      } catch { /* gone already, or the directory is read-only now */ }
    },
  };
}

/** Whether this process holds DIR's lock. */
export async function holdsLock(dir: string): Promise<boolean> {
  if (held.size === 0 || !existsSync(dir)) return false;
  return held.has(await realpath(dir));
}

/** Runs `fn` holding DIR's lock: the caller's, when it holds it already (a CLI run), or one taken for `fn`. */
export async function withDirLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  if (await holdsLock(dir)) return fn();
  const lock = await lockDir(dir, 'saveCheckpoint');
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
