import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { FormatError } from '../../src/io/errors.js';
import { decodeIdx, encodeIdx } from '../../src/io/idx-codec.js';
import { readIdx, writeIdx } from '../../src/io/idx.js';
import type { RawTensor } from '../../src/io/raw.js';

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'chainrule-idx-')); });

/** IDX bytes assembled by hand, big-endian, independent of encodeIdx. */
function idxBytes(code: number, dims: number[], body: number[]): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = code;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(body)]);
}

const images: RawTensor = { dtype: 'uint8', shape: [2, 2, 3], data: Uint8Array.from({ length: 12 }, (_, i) => i * 20) };

async function expectIdxError(bytes: Uint8Array, message: RegExp): Promise<void> {
  const path = join(dir, `bad-${Math.random().toString(36).slice(2)}.idx`);
  writeFileSync(path, bytes);
  const err = await readIdx(path).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(FormatError);
  expect((err as Error).message.startsWith(`${path}: `)).toBe(true);
  expect((err as Error).message).toMatch(message);
}

describe('readIdx', () => {
  it('reads a plain u8 file, big-endian dims', async () => {
    const path = join(dir, 'plain-idx3-ubyte');
    writeFileSync(path, idxBytes(0x08, [2, 2, 3], Array.from(images.data)));
    expect(await readIdx(path)).toEqual(images);
  });

  it('gunzips a file that starts with the gzip magic, whatever its name', async () => {
    const path = join(dir, 'looks-plain-idx3-ubyte');
    writeFileSync(path, gzipSync(idxBytes(0x08, [2, 2, 3], Array.from(images.data))));
    expect(await readIdx(path)).toEqual(images);
  });

  it('reads every IDX dtype, widening i8 and i16 to int32', () => {
    expect(decodeIdx(idxBytes(0x09, [3], [0x80, 0xff, 0x7f]))).toEqual({ dtype: 'int32', shape: [3], data: Int32Array.of(-128, -1, 127) });
    expect(decodeIdx(idxBytes(0x0b, [2], [0x80, 0x00, 0x01, 0x02]))).toEqual({ dtype: 'int32', shape: [2], data: Int32Array.of(-32768, 258) });
    expect(decodeIdx(idxBytes(0x0c, [1], [0xff, 0xff, 0xff, 0xfe]))).toEqual({ dtype: 'int32', shape: [1], data: Int32Array.of(-2) });
    expect(decodeIdx(idxBytes(0x0d, [1], [0x3f, 0xc0, 0, 0]))).toEqual({ dtype: 'float32', shape: [1], data: Float32Array.of(1.5) });
    expect(decodeIdx(idxBytes(0x0e, [1], [0xc0, 0x04, 0, 0, 0, 0, 0, 0]))).toEqual({ dtype: 'float64', shape: [1], data: Float64Array.of(-2.5) });
    expect(decodeIdx(idxBytes(0x08, [], [9]))).toEqual({ dtype: 'uint8', shape: [], data: Uint8Array.of(9) });
  });

  it('round-trips through writeIdx, gzipped or not, for every dtype', async () => {
    const tensors: RawTensor[] = [
      images,
      { dtype: 'int32', shape: [3], data: Int32Array.of(-5, 0, 2 ** 31 - 1) },
      { dtype: 'float32', shape: [1, 2], data: Float32Array.of(0.25, -Infinity) },
      { dtype: 'float64', shape: [2], data: Float64Array.of(Math.PI, -0) },
    ];
    for (const [i, t] of tensors.entries()) {
      for (const gzip of [false, true]) {
        const path = join(dir, `rt-${i}-${gzip}`);
        await writeIdx(path, t, { gzip });
        expect(await readIdx(path, { allowNan: true })).toEqual(t); // -Infinity is refused by default
      }
    }
    // bool has no IDX code: it is stored as u8.
    await writeIdx(join(dir, 'mask.gz'), { dtype: 'bool', shape: [2], data: Uint8Array.of(1, 0) });
    expect(await readIdx(join(dir, 'mask.gz'))).toEqual({ dtype: 'uint8', shape: [2], data: Uint8Array.of(1, 0) });
  });

  it('writes the layout MNIST readers expect', () => {
    expect(Array.from(encodeIdx({ dtype: 'uint8', shape: [1, 2], data: Uint8Array.of(7, 8) })))
      .toEqual([0, 0, 8, 2, 0, 0, 0, 1, 0, 0, 0, 2, 7, 8]);
  });
});

describe('readIdx errors name the file and the problem', () => {
  it('a missing file', async () => {
    await expect(readIdx(join(dir, 'nope.gz'))).rejects.toThrow(new RegExp(`^${join(dir, 'nope.gz')}: file not found$`));
  });

  it('a wrong magic number', async () => {
    await expectIdxError(Buffer.from('PK\x03\x04 a zip file'), /wrong magic number 0x50 0x4B 0x03 0x04: an IDX file starts with two zero bytes/);
  });

  it('an unsupported dtype code', async () => {
    await expectIdxError(idxBytes(0x0a, [1], [0]), /unsupported dtype code 0x0A in magic number 0x00 0x00 0x0A 0x01 \(supported: 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64\)/);
  });

  it('truncated data, with expected and actual byte counts', async () => {
    const full = idxBytes(0x08, [10, 28, 28], new Array(7840).fill(0));
    await expectIdxError(full.subarray(0, 5000), /truncated: expected 7856 bytes for u8 \[10,28,28\], got 5000/);
    await expectIdxError(gzipSync(full.subarray(0, 5000)), /truncated: expected 7856 bytes/);
    await expectIdxError(full.subarray(0, 10), /truncated: expected 16 header bytes for 3 dims, got 10/);
    await expectIdxError(full.subarray(0, 2), /truncated: expected at least 4 bytes for the IDX magic number, got 2/);
  });

  it('trailing bytes after the data', async () => {
    await expectIdxError(idxBytes(0x08, [2], [1, 2, 3]), /1 trailing bytes: expected 10 bytes for u8 \[2\], got 11/);
  });

  it('a gzip stream that is cut short', async () => {
    const gz = gzipSync(idxBytes(0x08, [1000], new Array(1000).fill(3)));
    await expectIdxError(gz.subarray(0, gz.length - 10), /starts like gzip but does not decompress/);
  });
});
