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
 * One writer per directory at a time: two processes saving into the same DIR at once are
 * not supported.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from './atomic.js';
import { FormatError } from './errors.js';
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

interface Manifest {
  format: string;
  version: number;
  files: Record<string, { bytes: number; sha256: string }>;
}

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
    if (files.has(name) || name === MANIFEST || name.includes('/') || name.startsWith('.')) {
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
    await mkdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if ((await stat(dir)).isDirectory()) return;
      throw new FormatError(dir, 'is a file; a checkpoint is written into a directory');
    }
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir || depth > 64) throw err;
    await ensureDir(parent, depth + 1);
    await mkdir(dir);
  }
}

/** Saves `ckpt` into `dir` (created if needed), replacing the checkpoint there as one unit. */
export async function saveCheckpoint(dir: string, ckpt: Checkpoint): Promise<void> {
  savesInThisProcess++;
  const files = serialise(ckpt);
  await ensureDir(dir);
  await finishInstall(dir);
  for (const entry of await readdir(dir)) {
    if (entry.startsWith(STAGING_PREFIX)) await rm(join(dir, entry), { recursive: true, force: true });
  }

  const staging = join(dir, `${STAGING_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
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

  await rename(staging, join(dir, COMMIT));
  await syncDir(dir);
  await finishInstall(dir);
}

/** Step 3 of a save, also run by the next save when a crash interrupted it. */
async function finishInstall(dir: string): Promise<void> {
  const commit = join(dir, COMMIT);
  if (!existsSync(commit)) return;
  const manifestPath = join(commit, MANIFEST);
  if (existsSync(manifestPath)) {
    const manifest = parseManifest(await readFile(manifestPath, 'utf8'), manifestPath);
    for (const name of Object.keys(manifest.files)) {
      const from = join(commit, name);
      if (existsSync(from)) await rename(from, join(dir, name));
      pauseHook('installing');
    }
    await syncDir(dir);
    await rename(manifestPath, join(dir, MANIFEST));
    await syncDir(dir);
  }
  await rm(commit, { recursive: true, force: true });
}

function parseManifest(text: string, source: string): Manifest {
  const m = decodeJson(text, source) as Partial<Manifest> | null;
  if (!m || m.format !== FORMAT || typeof m.files !== 'object' || m.files === null) {
    throw new FormatError(source, `not a chainrule checkpoint manifest (expected "format": "${FORMAT}")`);
  }
  if (m.version !== FORMAT_VERSION) {
    throw new FormatError(source, `checkpoint format version ${m.version} is not supported (this chainrule reads version ${FORMAT_VERSION})`);
  }
  return m as Manifest;
}

/** Where each file of the current checkpoint is (see the protocol above). */
async function locate(dir: string): Promise<{ manifest: Manifest; manifestPath: string; paths: Map<string, string> }> {
  let info;
  try {
    info = await stat(dir);
  } catch {
    throw new FormatError(dir, 'checkpoint directory not found');
  }
  if (!info.isDirectory()) throw new FormatError(dir, 'is a file; a checkpoint is a directory (the --out of chainrule train)');
  const pending = join(dir, COMMIT, MANIFEST);
  const committing = existsSync(pending);
  const manifestPath = committing ? pending : join(dir, MANIFEST);
  if (!existsSync(manifestPath)) {
    throw new FormatError(dir, `not a checkpoint: ${MANIFEST} is missing (checkpoints are written by chainrule train --out DIR)`);
  }
  const manifest = parseManifest(await readFile(manifestPath, 'utf8'), manifestPath);
  const paths = new Map<string, string>();
  for (const name of Object.keys(manifest.files)) {
    const staged = join(dir, COMMIT, name);
    paths.set(name, committing && existsSync(staged) ? staged : join(dir, name));
  }
  return { manifest, manifestPath, paths };
}

/** Reads and verifies every file of the checkpoint in `dir`. */
export async function loadCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const { manifest, paths } = await locate(dir);
  const bytesOf = new Map<string, Uint8Array>();
  for (const [name, path] of paths) {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch {
      throw new FormatError(path, `missing, but ${MANIFEST} lists it: the checkpoint is incomplete`);
    }
    const want = manifest.files[name]!;
    if (bytes.length !== want.bytes) {
      throw new FormatError(path, `${bytes.length} bytes, but ${MANIFEST} records ${want.bytes}: the file is truncated or was replaced`);
    }
    if (sha256(bytes) !== want.sha256) {
      throw new FormatError(path, `contents do not match the SHA-256 in ${MANIFEST}: the file was modified or damaged`);
    }
    bytesOf.set(name, bytes);
  }
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
