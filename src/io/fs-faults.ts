/**
 * A seam for file-system failures (Node only). A full disk, a read-only mount or a missing
 * permission cannot be arranged reliably in a test (tests may run as root, on tmpfs), so the
 * writers in this directory call `failIfInjected(op, path)` before each step that the kernel
 * could refuse, and a test makes chosen steps fail with a chosen errno:
 *
 *   injectFsFault((op, path) => (op === 'write' && path.endsWith('optimizer.safetensors') ? 'ENOSPC' : undefined));
 *
 * or, for a child process, CHAINRULE_TEST_FS_FAULT=ENOSPC:write:optimizer.safetensors
 * (errno, operation or "*", and a substring of the path). Without either it costs one check.
 */

export type FsOperation = 'mkdir' | 'open' | 'write' | 'rename' | 'remove';

/** Returns the errno code ('ENOSPC', 'EROFS', ...) that `op` on `path` should fail with, or undefined. */
export type FsFaultInjector = (op: FsOperation, path: string) => string | undefined;

function fromEnv(spec: string | undefined): FsFaultInjector | null {
  if (!spec) return null;
  const [code, op, ...rest] = spec.split(':');
  const part = rest.join(':');
  return (o, path) => ((op === '*' || op === o) && path.includes(part) ? code : undefined);
}

let injector: FsFaultInjector | null = fromEnv(process.env.CHAINRULE_TEST_FS_FAULT);

/** Test hook: make matching file-system steps fail (null: none). Returns the previous injector. */
export function injectFsFault(f: FsFaultInjector | null): FsFaultInjector | null {
  const previous = injector;
  injector = f;
  return previous;
}

const MESSAGES: Record<string, string> = {
  ENOSPC: 'no space left on device', EDQUOT: 'disk quota exceeded', EROFS: 'read-only file system',
  EACCES: 'permission denied', EPERM: 'operation not permitted', EIO: 'input/output error',
};

export function failIfInjected(op: FsOperation, path: string): void {
  const code = injector?.(op, path);
  if (code === undefined) return;
  const err = new Error(`${code}: ${MESSAGES[code] ?? 'injected failure'}, ${op} '${path}'`) as NodeJS.ErrnoException;
  err.code = code;
  err.path = path;
  err.syscall = op;
  throw err;
}
