/**
 * Training checkpoints on disk (Node only): a directory a crash can never leave unloadable.
 *
 *   DIR/model.safetensors      weights under their module paths (layers.0.weight), PyTorch-readable
 *   DIR/config.json            model, data, normalisation, training options, epoch, library version
 *   DIR/optimizer.safetensors  optimizer state tensors (Adam's moments, momentum buffers)
 *   DIR/optimizer.json         the rest of the optimizer's state, and the scheduler's
 *   DIR/rng.json               generator states (global, data loader)
 *   DIR/metrics.json, .csv     per-epoch metrics
 *   DIR/checkpoint.json        the manifest: every file above with its size and SHA-256
 *
 * Each file is atomic on its own (writeFileAtomic), but a checkpoint is several files, and
 * replacing them one by one would leave, after a crash half-way, new weights beside an old
 * optimizer state: loadable-looking and wrong. So a save is a small two-phase commit:
 *
 *   1. Stage: write every file, then the manifest, into a fresh DIR/.staging-<pid>-<rand>
 *      (each fsynced), and fsync that directory. A crash here leaves DIR untouched; the
 *      stray staging directory is removed by the next save.
 *   2. Commit: rename the staging directory to DIR/.commit. One rename, atomic: before it
 *      the previous checkpoint is the current one, after it the new one is.
 *   3. Install: move each file from .commit into DIR (one rename each), the manifest last,
 *      then remove the empty .commit.
 *
 * A reader that finds DIR/.commit holding a manifest knows a commit was under way: it takes
 * each listed file from .commit when still there, from DIR when already moved. Otherwise
 * DIR/checkpoint.json describes DIR. Either way it checks every file's size and hash
 * against the manifest, so a torn or edited file is reported rather than loaded. The next
 * save finishes an interrupted install before it stages anything. Loading never writes,
 * so `eval` works on a read-only checkpoint.
 *
 * One writer per directory at a time: a save holds DIR/.chainrule.lock (lock.ts) unless its
 * caller holds it already (chainrule train holds it for the whole run), so a second writer
 * fails at once with a BusyError instead of removing the first one's staging directory.
 *
 * A manifest is checked before anything it names is read or moved: it may name only plain
 * file names inside DIR (no "/", "..", absolute paths or hidden names), each with a size and
 * a SHA-256; a listed file must be a regular file whose real path is inside DIR (a symlink
 * out, /dev/zero, a FIFO or a directory is refused without being read or opened), and its
 * size must match before its bytes are read. A leftover DIR/.commit is checked the same way
 * before the next save renames anything out of it.
 *
 * A save that fails because the disk is full, the file system is read-only or permission is
 * denied throws a WriteError saying so and what is intact (the previous checkpoint, or the
 * new one when the failure came after its commit); it removes its staging directory.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants, existsSync } from 'node:fs';
import { lstat, mkdir, open, readdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { writeFileAtomic } from './atomic.js';
import { asWriteError, FormatError } from './errors.js';
import { failIfInjected } from './fs-faults.js';
import { withDirLock } from './lock.js';
import type { RawTensor, RawTensorLike } from './raw.js';
import { decodeSafetensors, encodeSafetensors } from './safetensors.js';

export const MANIFEST = 'checkpoint.json';
const COMMIT = '.commit';
const STAGING_PREFIX = '.staging-';
const FORMAT = 'chainrule-checkpoint';
const FORMAT_VERSION = 1;

export interface Checkpoint {
  /** Module state dict: parameter and buffer paths to tensors. */
  model: Record<string, RawTensorLike>;
  /** config.json: JSON-able; non-finite numbers survive (see encodeJson). */
  config: unknown;
  optimizer?: { tensors: Record<string, RawTensorLike>; state: unknown };
  rng?: unknown;
  metrics?: unknown;
  /** Further text files (e.g. metrics.csv), by file name. */
  extra?: Record<string, string>;
}

export interface LoadedCheckpoint {
  model: Record<string, RawTensor>;
  config: unknown;
  optimizer?: { tensors: Record<string, RawTensor>; state: unknown };
  rng?: unknown;
  metrics?: unknown;
  dir: string;
}

interface ManifestEntry {
  bytes: number;
  sha256: string;
}

interface Manifest {
  format: string;
  version: number;
  files: Record<string, ManifestEntry>;
}

/** A manifest as read: its entries checked, in a Map (no key can reach Object.prototype). */
interface CheckedManifest {
  files: Map<string, ManifestEntry>;
}

/** A file name a manifest may list: a plain name inside the directory, not hidden. */
const FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$/;
const MAX_FILES = 1000;
/** checkpoint.json is a few hundred bytes; anything far larger is not one. */
const MAX_MANIFEST_BYTES = 1 << 20;

/**
 * JSON that keeps NaN and ±Infinity (a plateau scheduler's best loss starts at Infinity,
 * a generator's spare normal is NaN when there is none): they become {"$number": "Infinity"}.
 */
export function encodeJson(value: unknown): string {
  return `${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? { $number: String(v) } : v), 2)}\n`;
}

export function decodeJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text, (_k, v: unknown) => {
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        const keys = Object.keys(v);
        if (keys.length === 1 && keys[0] === '$number') return Number((v as { $number: string }).$number);
      }
      return v;
    });
  } catch (err) {
    throw new FormatError(source, `not valid JSON: ${(err as Error).message}`);
  }
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Test hook: CHAINRULE_TEST_CHECKPOINT_PAUSE=stage[@n] stops the n-th save (default 1st) at `stage`. */
let savesInThisProcess = 0;
function pauseHook(stage: 'staging' | 'staged' | 'installing'): void {
  const spec = process.env.CHAINRULE_TEST_CHECKPOINT_PAUSE;
  if (!spec) return;
  const [want, nth] = spec.split('@');
  if (want !== stage || savesInThisProcess !== Number(nth ?? 1)) return;
  process.stderr.write(`checkpoint-pause ${stage}\n`);
  // Block the thread (not just this async function) so nothing else runs until the kill.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120_000);
}

async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try { await handle.sync(); } finally { await handle.close(); }
  } catch {
    // Windows cannot open a directory; the renames are still atomic there.
  }
}

/** The files of a checkpoint, serialised, in the order they are staged. */
function serialise(ckpt: Checkpoint): Map<string, Uint8Array | string> {
  const files = new Map<string, Uint8Array | string>();
  files.set('model.safetensors', encodeSafetensors(ckpt.model, { format: 'pt' }));
  files.set('config.json', encodeJson(ckpt.config));
  if (ckpt.optimizer) {
    files.set('optimizer.safetensors', encodeSafetensors(ckpt.optimizer.tensors));
    files.set('optimizer.json', encodeJson(ckpt.optimizer.state));
  }
  if (ckpt.rng !== undefined) files.set('rng.json', encodeJson(ckpt.rng));
  if (ckpt.metrics !== undefined) files.set('metrics.json', encodeJson(ckpt.metrics));
  for (const [name, text] of Object.entries(ckpt.extra ?? {})) {
    if (files.has(name) || name === MANIFEST || !FILE_NAME.test(name)) {
      throw new TypeError(`saveCheckpoint: ${JSON.stringify(name)} cannot be an extra file name`);
    }
    files.set(name, text);
  }
  return files;
}

/**
 * mkdir -p, by hand: Node's recursive mkdir never returns for a path it cannot create under
 * some pseudo-filesystems (/proc), and its EEXIST for a file in the way says little. Also
 * for callers that want to know before hours of training that DIR can be written.
 */
export async function ensureDir(dir: string, depth = 0): Promise<void> {
  try {
    await makeDir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if ((await stat(dir)).isDirectory()) return;
      throw new FormatError(dir, 'is a file; a checkpoint is written into a directory');
    }
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir || depth > 64) throw asWriteError(err, `creating the directory ${dir}`, 'nothing was written');
    await ensureDir(parent, depth + 1);
    try {
      await makeDir(dir);
    } catch (e) {
      throw asWriteError(e, `creating the directory ${dir}`, 'nothing was written');
    }
  }
}

async function makeDir(dir: string): Promise<void> {
  failIfInjected('mkdir', dir);
  await mkdir(dir);
}

/** Saves `ckpt` into `dir` (created if needed), replacing the checkpoint there as one unit. */
export async function saveCheckpoint(dir: string, ckpt: Checkpoint): Promise<void> {
  savesInThisProcess++;
  const files = serialise(ckpt);
  await ensureDir(dir);
  await withDirLock(dir, () => commitCheckpoint(dir, files));
}

async function commitCheckpoint(dir: string, files: Map<string, Uint8Array | string>): Promise<void> {
  await finishInstall(dir);
  const previous = existsSync(join(dir, MANIFEST));
  for (const entry of await readdir(dir)) {
    if (entry.startsWith(STAGING_PREFIX)) await rm(join(dir, entry), { recursive: true, force: true });
  }

  const staging = join(dir, `${STAGING_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
  let committed = false;
  try {
    failIfInjected('mkdir', staging);
    await mkdir(staging);
    const manifest: Manifest = { format: FORMAT, version: FORMAT_VERSION, files: {} };
    for (const [name, content] of files) {
      const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
      await writeFileAtomic(join(staging, name), bytes);
      manifest.files[name] = { bytes: bytes.length, sha256: sha256(bytes) };
      pauseHook('staging');
    }
    await writeFileAtomic(join(staging, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    await syncDir(staging);
    pauseHook('staged');

    failIfInjected('rename', join(dir, COMMIT));
    await rename(staging, join(dir, COMMIT));
    committed = true;
    await syncDir(dir);
    await finishInstall(dir);
  } catch (err) {
    if (!committed) await rm(staging, { recursive: true, force: true }).catch(() => undefined);
    const intact = committed
      ? 'the new checkpoint was committed and loads; the next save moves its last files into place'
      : previous ? 'the previous checkpoint is intact' : 'no checkpoint was there before, and nothing partial was left';
    throw asWriteError(err, `saving the checkpoint to ${dir}`, intact);
  }
}

/** Step 3 of a save, also run by the next save when a crash interrupted it. */
async function finishInstall(dir: string): Promise<void> {
  const commit = join(dir, COMMIT);
  const info = await lstat(commit).catch(() => null);
  if (info === null) return;
  if (!info.isDirectory()) {
    throw new FormatError(commit, `is ${kindOf(info)}, not the directory of an interrupted save; remove it if it is not chainrule's`);
  }
  const manifestPath = join(commit, MANIFEST);
  if (existsSync(manifestPath)) {
    // Every name is checked, and every file to move is a regular file, before the first rename.
    const realDir = await realpath(dir);
    const manifest = parseManifest(new TextDecoder().decode(await readInside(realDir, manifestPath, { max: MAX_MANIFEST_BYTES })), manifestPath);
    const moves: string[] = [];
    for (const name of manifest.files.keys()) {
      const from = join(commit, name);
      const st = await lstat(from).catch(() => null);
      if (st === null) continue; // moved into place before the interruption
      if (!st.isFile()) throw new FormatError(from, `is ${kindOf(st)}, not a file a save wrote; refusing to install it (remove ${commit} if it is not chainrule's)`);
      moves.push(name);
    }
    for (const name of moves) {
      failIfInjected('rename', join(dir, name));
      await rename(join(commit, name), join(dir, name));
      pauseHook('installing');
    }
    await syncDir(dir);
    failIfInjected('rename', join(dir, MANIFEST));
    await rename(manifestPath, join(dir, MANIFEST));
    await syncDir(dir);
  }
  failIfInjected('remove', commit);
  await rm(commit, { recursive: true, force: true });
}

function kindOf(info: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean; isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (info.isFile()) return 'a regular file';
  if (info.isDirectory()) return 'a directory';
  if (info.isSymbolicLink()) return 'a symbolic link';
  if (info.isFIFO()) return 'a FIFO (named pipe)';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

function parseManifest(text: string, source: string): CheckedManifest {
  const m = decodeJson(text, source) as Partial<Manifest> | null;
  if (!m || typeof m !== 'object' || m.format !== FORMAT) {
    throw new FormatError(source, `not a chainrule checkpoint manifest (expected "format": "${FORMAT}")`);
  }
  if (m.version !== FORMAT_VERSION) {
    throw new FormatError(source, `checkpoint format version ${m.version} is not supported (this chainrule reads version ${FORMAT_VERSION})`);
  }
  const files = m.files;
  if (typeof files !== 'object' || files === null || Array.isArray(files)) {
    throw new FormatError(source, '"files" must be an object of file name to { bytes, sha256 }');
  }
  const names = Object.keys(files);
  if (names.length > MAX_FILES) throw new FormatError(source, `lists ${names.length} files; a checkpoint has at most ${MAX_FILES}`);
  const checked = new Map<string, ManifestEntry>();
  for (const name of names) {
    if (!FILE_NAME.test(name) || name === MANIFEST) {
      throw new FormatError(source, `names ${JSON.stringify(name.length > 80 ? `${name.slice(0, 77)}...` : name)}, which is not a file inside the checkpoint directory (a manifest lists plain file names: no "/", "..", absolute or hidden paths); refusing to read or move anything it lists`);
    }
    const e = (files as Record<string, unknown>)[name] as Partial<ManifestEntry> | null;
    if (typeof e !== 'object' || e === null || !Number.isSafeInteger(e.bytes) || e.bytes! < 0) {
      throw new FormatError(source, `files.${name}.bytes must be a non-negative integer`);
    }
    if (typeof e.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(e.sha256)) {
      throw new FormatError(source, `files.${name}.sha256 must be 64 lowercase hex digits`);
    }
    checked.set(name, { bytes: e.bytes!, sha256: e.sha256 });
  }
  return { files: checked };
}

const { O_RDONLY, O_NOFOLLOW = 0, O_NONBLOCK = 0 } = constants;

/**
 * Reads `path`, which must be a regular file whose real path is inside `realDir`, of exactly
 * `want.bytes` bytes or at most `want.max`. Symlinks out, devices, FIFOs and directories are
 * refused from lstat, before anything is opened; the open (no-follow, non-blocking) is checked
 * again with fstat, so a file swapped in between is caught too.
 */
async function readInside(realDir: string, path: string, want: { bytes?: number; max?: number }): Promise<Uint8Array> {
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    throw new FormatError(path, `missing, but ${MANIFEST} lists it: the checkpoint is incomplete`);
  }
  if (!real.startsWith(realDir + sep)) {
    throw new FormatError(path, `leads to ${real}, outside the checkpoint directory ${realDir}; refusing to read it`);
  }
  const check = (info: Parameters<typeof kindOf>[0] & { size: number }): void => {
    if (!info.isFile()) throw new FormatError(path, `is ${kindOf(info)}, not a regular file; refusing to read it`);
    if (want.bytes !== undefined && info.size !== want.bytes) {
      throw new FormatError(path, `${info.size} bytes, but ${MANIFEST} records ${want.bytes}: the file is truncated or was replaced`);
    }
    if (want.max !== undefined && info.size > want.max) throw new FormatError(path, `${info.size} bytes, far too large for a checkpoint manifest`);
  };
  check(await lstat(real));
  const handle = await open(real, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  try {
    const info = await handle.stat();
    check(info);
    const bytes = new Uint8Array(info.size);
    let done = 0;
    while (done < bytes.length) {
      const { bytesRead } = await handle.read(bytes, done, bytes.length - done, done);
      if (bytesRead === 0) throw new FormatError(path, `shorter than its ${bytes.length} bytes while being read: the file changed`);
      done += bytesRead;
    }
    return bytes;
  } finally {
    await handle.close();
  }
}

/** Where each file of the current checkpoint is (see the protocol above). */
async function locate(dir: string): Promise<{ manifest: CheckedManifest; manifestPath: string; paths: Map<string, string>; realDir: string }> {
  let info;
  try {
    info = await stat(dir);
  } catch {
    throw new FormatError(dir, 'checkpoint directory not found');
  }
  if (!info.isDirectory()) throw new FormatError(dir, 'is a file; a checkpoint is a directory (the --out of chainrule train)');
  const realDir = await realpath(dir);
  const pending = join(dir, COMMIT, MANIFEST);
  const committing = existsSync(pending);
  const manifestPath = committing ? pending : join(dir, MANIFEST);
  if (!existsSync(manifestPath)) {
    throw new FormatError(dir, `not a checkpoint: ${MANIFEST} is missing (checkpoints are written by chainrule train --out DIR)`);
  }
  const manifestBytes = await readInside(realDir, manifestPath, { max: MAX_MANIFEST_BYTES });
  const manifest = parseManifest(new TextDecoder().decode(manifestBytes), manifestPath);
  const paths = new Map<string, string>();
  for (const name of manifest.files.keys()) {
    const staged = join(dir, COMMIT, name);
    paths.set(name, committing && existsSync(staged) ? staged : join(dir, name));
  }
  return { manifest, manifestPath, paths, realDir };
}

async function readVerified(realDir: string, path: string, want: ManifestEntry): Promise<Uint8Array> {
  const bytes = await readInside(realDir, path, { bytes: want.bytes });
  if (sha256(bytes) !== want.sha256) {
    throw new FormatError(path, `contents do not match the SHA-256 in ${MANIFEST}: the file was modified or damaged`);
  }
  return bytes;
}

/**
 * The config.json of the checkpoint in `dir` (hash-checked), without reading the weights;
 * throws FormatError when `dir` holds no readable checkpoint.
 */
export async function readCheckpointConfig(dir: string): Promise<unknown> {
  const { manifest, paths, realDir } = await locate(dir);
  const want = manifest.files.get('config.json');
  if (want === undefined) throw new FormatError(dir, 'checkpoint has no config.json');
  const path = paths.get('config.json')!;
  return decodeJson(new TextDecoder().decode(await readVerified(realDir, path, want)), path);
}

/** Reads and verifies every file of the checkpoint in `dir`. */
export async function loadCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const { manifest, paths, realDir } = await locate(dir);
  const bytesOf = new Map<string, Uint8Array>();
  for (const [name, path] of paths) bytesOf.set(name, await readVerified(realDir, path, manifest.files.get(name)!));
  const text = (name: string): string | undefined => {
    const b = bytesOf.get(name);
    return b === undefined ? undefined : new TextDecoder().decode(b);
  };
  const json = (name: string): unknown => {
    const t = text(name);
    return t === undefined ? undefined : decodeJson(t, paths.get(name)!);
  };
  const safetensors = (name: string): Record<string, RawTensor> | undefined => {
    const b = bytesOf.get(name);
    return b === undefined ? undefined : decodeSafetensors(b, paths.get(name)!).tensors;
  };

  const model = safetensors('model.safetensors');
  if (model === undefined) throw new FormatError(dir, `checkpoint has no model.safetensors`);
  const config = json('config.json');
  if (config === undefined) throw new FormatError(dir, `checkpoint has no config.json`);
  const optTensors = safetensors('optimizer.safetensors');
  const optState = json('optimizer.json');
  return {
    model,
    config,
    optimizer: optTensors !== undefined && optState !== undefined ? { tensors: optTensors, state: optState } : undefined,
    rng: json('rng.json'),
    metrics: json('metrics.json'),
    dir,
  };
}
