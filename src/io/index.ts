/**
 * chainrule/io: files on disk (Node only; the browser-safe core has saveToBytes / loadFromBytes
 * for the same bytes in memory).
 *
 *   import { save, load } from 'chainrule/io';
 *   await save(model.stateDict(), 'model.safetensors');
 *   model.loadStateDict(await load('model.safetensors'));
 *
 * The files are safetensors, so PyTorch reads and writes them too (`safetensors.torch.save_file`
 * / `load_file`), and state dicts map by name: chainrule's layers use PyTorch's parameter and
 * buffer names.
 */
import { readFile, stat } from 'node:fs/promises';
import { ChainruleError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { writeFileAtomic } from './atomic.js';
import { readInputFile } from './read-input.js';
import { decodeSafetensors } from './safetensors.js';
import { loadFromBytes, metadataFromBytes, saveToBytes, type NamedTensors } from './tensors.js';

export { saveToBytes, loadFromBytes, metadataFromBytes, type NamedTensors } from './tensors.js';
export { readIdx, writeIdx } from './idx.js';
export { decodeIdx, encodeIdx } from './idx-codec.js';
export { readCsvFile as readCsv } from './csv-file.js';
export { parseCsv, type CsvData, type CsvOptions } from './csv.js';
export { readSafetensorsFile, writeSafetensorsFile } from './safetensors-file.js';
export { decodeSafetensors, encodeSafetensors, type SafetensorsContents } from './safetensors.js';
export { saveCheckpoint, loadCheckpoint, type Checkpoint, type LoadedCheckpoint } from './checkpoint.js';
export { FormatError } from './errors.js';
export type { RawTensor, RawTensorLike, RawDType } from './raw.js';

export interface SaveOptions {
  /** String metadata stored in the file's `__metadata__`. */
  metadata?: Record<string, string>;
  /** Replace an existing file that is not a safetensors file (never done without it). */
  overwrite?: boolean;
}

/**
 * Write tensors (a `stateDict()`, or any name → tensor object) to `path` as safetensors. The
 * write is atomic: an interrupted save leaves the previous file intact. An existing file at
 * `path` is replaced only when it is itself a safetensors file (or with `overwrite: true`), so
 * a mistyped path cannot destroy someone's data.
 */
export async function save(tensors: NamedTensors, path: string, opts: SaveOptions = {}): Promise<void> {
  if (typeof path !== 'string' || path === '') throw new ChainruleError(`save: path must be a non-empty string, got ${JSON.stringify(path)}`);
  const bytes = saveToBytes(tensors, opts.metadata);
  const existing = await stat(path).catch(() => null);
  if (existing !== null) {
    if (existing.isDirectory()) throw new ChainruleError(`save: ${path} is a directory; give a file path such as ${path}/model.safetensors`);
    if (!opts.overwrite && !(await isSafetensorsFile(path))) {
      throw new ChainruleError(`save: ${path} exists and is not a safetensors file; refusing to replace it (pass { overwrite: true } to replace it anyway)`);
    }
  }
  await writeFileAtomic(path, bytes);
}

async function isSafetensorsFile(path: string): Promise<boolean> {
  try {
    decodeSafetensors(await readFile(path), path);
    return true;
  } catch {
    return false;
  }
}

/** Read a safetensors file (chainrule's `save`, PyTorch's `save_file`, ...) as name → tensor. */
export async function load(path: string): Promise<Record<string, Tensor>> {
  if (typeof path !== 'string' || path === '') throw new ChainruleError(`load: path must be a non-empty string, got ${JSON.stringify(path)}`);
  return loadFromBytes(await readInputFile(path), path);
}

/** The `__metadata__` of a safetensors file. */
export async function loadMetadata(path: string): Promise<Record<string, string>> {
  return metadataFromBytes(await readInputFile(path), path);
}


