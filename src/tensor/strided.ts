import type { TypedArray } from '../backend/types.js';
import { numel } from './shape.js';

/**
 * The two loops every strided view needs on the host: reading its elements out row-major, and
 * writing row-major values back through its strides (an in-place op on a view). Dims are walked
 * innermost-first with running offsets, so no index is recomputed per element.
 */

/** out (row-major, numel(shape) long) ← `shape`'s elements read from `src` at offset + Σ index·stride. */
export function stridedCopy(src: TypedArray, shape: readonly number[], strides: readonly number[], offset: number, out: TypedArray): TypedArray {
  const total = numel(shape);
  if (total === 0) return out;
  const nd = shape.length;
  if (nd === 0) {
    out[0] = src[offset]!;
    return out;
  }
  const inner = shape[nd - 1]!;
  const step = strides[nd - 1]!;
  const idx = new Array<number>(nd).fill(0);
  let base = offset;
  for (let o = 0; o < total; o += inner) {
    for (let j = 0, p = base; j < inner; j++, p += step) out[o + j] = src[p]!;
    for (let d = nd - 2; d >= 0; d--) {
      base += strides[d]!;
      if (++idx[d]! < shape[d]!) break;
      base -= strides[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
  return out;
}

/** dst[offset + Σ index·stride] = values[row-major index], for every index of `shape`. */
export function stridedWrite(dst: TypedArray, shape: readonly number[], strides: readonly number[], offset: number, values: TypedArray): void {
  const total = numel(shape);
  if (total === 0) return;
  const nd = shape.length;
  if (nd === 0) {
    dst[offset] = values[0]!;
    return;
  }
  const inner = shape[nd - 1]!;
  const step = strides[nd - 1]!;
  const idx = new Array<number>(nd).fill(0);
  let base = offset;
  for (let o = 0; o < total; o += inner) {
    for (let j = 0, p = base; j < inner; j++, p += step) dst[p] = values[o + j]!;
    for (let d = nd - 2; d >= 0; d--) {
      base += strides[d]!;
      if (++idx[d]! < shape[d]!) break;
      base -= strides[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
}
