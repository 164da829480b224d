/**
 * IDX files on disk (Node only), gzipped or not: MNIST-family datasets are distributed as
 * .gz, and users often unpack them, so the reader sniffs the gzip magic bytes (1f 8b)
 * rather than trusting the file name. The format itself is in idx-codec.ts.
 */
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { writeFileAtomic } from './atomic.js';
import { FormatError } from './errors.js';
import { decodeIdx, encodeIdx, type IdxReadOptions } from './idx-codec.js';
import type { RawTensor, RawTensorLike } from './raw.js';
import { readInputFile } from './read-input.js';

const gunzipAsync = promisify(gunzip);
const gzipAsync = promisify(gzip);

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

export async function readIdx(path: string, options: IdxReadOptions = {}): Promise<RawTensor> {
  let bytes = await readInputFile(path);
  if (isGzip(bytes)) {
    try {
      bytes = await gunzipAsync(bytes);
    } catch (err) {
      throw new FormatError(path, `starts like gzip but does not decompress: ${(err as Error).message}`, { cause: err });
    }
  }
  return decodeIdx(bytes, path, options);
}

/** Writes atomically; gzip defaults to on when the path ends in .gz. */
export async function writeIdx(path: string, t: RawTensorLike, options: { gzip?: boolean } = {}): Promise<void> {
  const raw = encodeIdx(t);
  const compress = options.gzip ?? path.endsWith('.gz');
  await writeFileAtomic(path, compress ? await gzipAsync(raw, { level: 9 }) : raw);
}
