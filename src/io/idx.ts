/**
 * IDX files on disk (Node only), gzipped or not: MNIST-family datasets are distributed as
 * .gz, and users often unpack them, so the reader sniffs the gzip magic bytes (1f 8b)
 * rather than trusting the file name. The format itself is in idx-codec.ts.
 */
import { promisify } from 'node:util';
import { constants, gunzip, gunzipSync, gzip } from 'node:zlib';
import { writeFileAtomic } from './atomic.js';
import { FormatError } from './errors.js';
import { decodeIdx, encodeIdx, idxByteLength, type IdxReadOptions } from './idx-codec.js';
import type { RawTensor, RawTensorLike } from './raw.js';
import { readInputFile } from './read-input.js';

const gunzipAsync = promisify(gunzip);
const gzipAsync = promisify(gzip);

/** Compressed bytes inflated first to read the header (deflate expands at most ~1032×, so this is bounded). */
const HEADER_PREFIX = 4096;

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

export async function readIdx(path: string, options: IdxReadOptions = {}): Promise<RawTensor> {
  let bytes = await readInputFile(path);
  if (isGzip(bytes)) {
    // The header first, from a prefix of the stream: a small file that inflates to gigabytes is
    // refused by the size its header declares, before anything that large is allocated.
    let head: Uint8Array;
    try {
      head = gunzipSync(bytes.subarray(0, HEADER_PREFIX), { finishFlush: constants.Z_SYNC_FLUSH });
    } catch (err) {
      throw new FormatError(path, `starts like gzip but does not decompress: ${(err as Error).message}`, { cause: err });
    }
    const expected = idxByteLength(head, path);
    try {
      // One byte over the declared size is enough to tell trailing bytes from a match.
      bytes = await gunzipAsync(bytes, { maxOutputLength: expected + 1 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        throw new FormatError(path, `decompresses to more than the ${expected} bytes its header declares`, { cause: err });
      }
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
