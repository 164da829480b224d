/** safetensors files on disk (Node only); the format itself is in safetensors.ts. */
import { writeFileAtomic } from './atomic.js';
import type { RawTensorLike } from './raw.js';
import { readInputFile } from './read-input.js';
import { decodeSafetensors, encodeSafetensors, type SafetensorsContents } from './safetensors.js';

export async function readSafetensorsFile(path: string): Promise<SafetensorsContents> {
  return decodeSafetensors(await readInputFile(path), path);
}

/** Written atomically: an interrupted save leaves the previous file intact. */
export async function writeSafetensorsFile(
  path: string, tensors: Record<string, RawTensorLike>, metadata?: Record<string, string>,
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}
