import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { Tensor, tensor } from '../../src/index.js';

export const FIXTURES = new URL('../fixtures/onnx/', import.meta.url);

export interface TJson {
  shape: number[];
  data: number[];
  dtype?: 'int32';
}

export function loadJson<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as T;
}

export function fromJson(j: TJson): Tensor {
  return j.dtype === 'int32' ? tensor(Int32Array.from(j.data), { shape: j.shape, dtype: 'int32' }) : tensor(Float32Array.from(j.data), { shape: j.shape });
}

/** The largest |a − b| over two equally long arrays (shapes compared by the caller). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}
