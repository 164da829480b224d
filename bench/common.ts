/** Helpers shared by the benchmark scripts (Node only). */
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { findFashionMnist } from '../src/data/fashion.js';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Peak resident set size of this process so far, in MB (Linux: VmHWM). */
export function peakRssMb(): number {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    if (m) return Number(m[1]) / 1024;
  } catch {
    // fall through
  }
  return process.memoryUsage().rss / 2 ** 20;
}

/**
 * One IDX file of the full Fashion-MNIST set, streamed through gunzip straight into one
 * Uint8Array of the payload: the peak stays near the payload's size (47 MB for the training
 * images), where reading the whole .gz and inflating it in one go briefly holds ~4× that.
 */
async function streamIdx(stem: string): Promise<{ data: Uint8Array; dims: number[] }> {
  const dir = findFashionMnist();
  const gz = join(dir, `${stem}.gz`);
  const path = existsSync(gz) ? gz : join(dir, stem);
  let stream: NodeJS.ReadableStream = createReadStream(path);
  if (path.endsWith('.gz')) stream = stream.pipe(createGunzip());
  let header: Buffer | null = null;
  let pending = Buffer.alloc(0);
  let data: Uint8Array | null = null;
  let dims: number[] = [];
  let filled = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let c = chunk;
    if (!data) {
      pending = Buffer.concat([pending, c]);
      if (pending.length < 4) continue;
      const nd = pending[3]!;
      if (pending.length < 4 + 4 * nd) continue;
      header = pending.subarray(0, 4 + 4 * nd);
      dims = Array.from({ length: nd }, (_, d) => header!.readUInt32BE(4 + 4 * d));
      data = new Uint8Array(dims.reduce((a, b) => a * b, 1));
      c = pending.subarray(header.length);
    }
    data.set(c.subarray(0, data.length - filled), filled);
    filled += Math.min(c.length, data.length - filled);
  }
  if (!data || filled !== data.length) throw new Error(`${path}: truncated IDX file`);
  return { data, dims };
}

/**
 * The full Fashion-MNIST training set, kept as the file's uint8 pixels (47 MB; a float32 copy
 * would be 188 MB) with int32 labels: batches are converted to float32 as they are drawn.
 */
export async function loadFashionTrain(): Promise<{ images: Uint8Array; labels: Int32Array; n: number }> {
  const images = await streamIdx('train-images-idx3-ubyte');
  const labels = await streamIdx('train-labels-idx1-ubyte');
  return { images: images.data, labels: Int32Array.from(labels.data), n: labels.dims[0]! };
}

/** The test set, as uint8 pixels and int32 labels. */
export async function loadFashionTest(): Promise<{ images: Uint8Array; labels: Int32Array; n: number }> {
  const images = await streamIdx('t10k-images-idx3-ubyte');
  const labels = await streamIdx('t10k-labels-idx1-ubyte');
  return { images: images.data, labels: Int32Array.from(labels.data), n: labels.dims[0]! };
}

