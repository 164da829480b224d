/** Helpers shared by the benchmark scripts (Node only). */
import { readFileSync } from 'node:fs';
import { loadFashionMnist } from '../src/data/fashion.js';

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

/** The full Fashion-MNIST training set as float32 in [0, 1] and int32 labels. */
export async function loadFashionTrain(): Promise<{ images: Float32Array; labels: Int32Array; n: number }> {
  const d = await loadFashionMnist({ subset: false });
  const raw = d.trainImages.data;
  const images = new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) images[i] = raw[i]! / 255;
  return { images, labels: Int32Array.from(d.trainLabels.data), n: d.trainLabels.shape[0]! };
}
