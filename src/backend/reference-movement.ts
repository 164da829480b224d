import type { TypedArray } from './types.js';

/**
 * The reference data-movement kernels (contracts in ./types-movement.ts): index arithmetic over
 * typed arrays, dims walked innermost-first with running offsets so that no index is recomputed
 * per element.
 */

export function stridedCopy(src: TypedArray, shape: readonly number[], strides: readonly number[], offset: number, out: TypedArray): void {
  const nd = shape.length;
  if (nd === 0) {
    out[0] = src[offset]!;
    return;
  }
  let total = 1;
  for (const s of shape) total *= s;
  if (total === 0) return;
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
}

export function stridedWrite(dst: TypedArray, shape: readonly number[], strides: readonly number[], offset: number, values: TypedArray): void {
  const nd = shape.length;
  if (nd === 0) {
    dst[offset] = values[0]!;
    return;
  }
  let total = 1;
  for (const s of shape) total *= s;
  if (total === 0) return;
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

export function where(
  cond: TypedArray,
  cs: readonly number[],
  a: TypedArray,
  as: readonly number[],
  b: TypedArray,
  bs: readonly number[],
  out: TypedArray,
  shape: readonly number[],
): void {
  const nd = shape.length;
  const idx = new Array<number>(nd).fill(0);
  let total = 1;
  for (const s of shape) total *= s;
  let ci = 0;
  let ai = 0;
  let bi = 0;
  for (let o = 0; o < total; o++) {
    out[o] = cond[ci] ? a[ai]! : b[bi]!;
    for (let d = nd - 1; d >= 0; d--) {
      ci += cs[d]!;
      ai += as[d]!;
      bi += bs[d]!;
      if (++idx[d]! < shape[d]!) break;
      ci -= cs[d]! * shape[d]!;
      ai -= as[d]! * shape[d]!;
      bi -= bs[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
}

/** Every position of `shape` in row-major order, with two running offsets under s1 and s2. */
function forEachOffset2(shape: readonly number[], s1: readonly number[], s2: readonly number[], fn: (o: number, off1: number, off2: number) => void): void {
  const nd = shape.length;
  let total = 1;
  for (const s of shape) total *= s;
  const idx = new Array<number>(nd).fill(0);
  let a = 0;
  let b = 0;
  for (let o = 0; o < total; o++) {
    fn(o, a, b);
    for (let d = nd - 1; d >= 0; d--) {
      a += s1[d]!;
      b += s2[d]!;
      if (++idx[d]! < shape[d]!) break;
      a -= s1[d]! * shape[d]!;
      b -= s2[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
}

export function gather(x: TypedArray, strides: readonly number[], step: number, index: Int32Array, shape: readonly number[], out: TypedArray): void {
  forEachOffset2(shape, strides, strides, (o, off) => {
    out[o] = x[off + index[o]! * step]!;
  });
}

export function scatterAdd(
  out: TypedArray,
  strides: readonly number[],
  step: number,
  index: Int32Array,
  shape: readonly number[],
  src: TypedArray,
  srcStrides: readonly number[],
): void {
  forEachOffset2(shape, strides, srcStrides, (o, off, so) => {
    out[off + index[o]! * step]! += src[so]!;
  });
}

export function indexSelect(x: TypedArray, outer: number, size: number, inner: number, index: Int32Array, out: TypedArray): void {
  const m = index.length;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < m; j++) {
      const src = (o * size + index[j]!) * inner;
      out.set(x.subarray(src, src + inner), (o * m + j) * inner);
    }
  }
}

export function indexAdd(out: TypedArray, outer: number, size: number, inner: number, index: Int32Array, src: TypedArray): void {
  const m = index.length;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < m; j++) {
      const dst = (o * size + index[j]!) * inner;
      const s = (o * m + j) * inner;
      for (let i = 0; i < inner; i++) out[dst + i]! += src[s + i]!;
    }
  }
}

export function cat(parts: readonly TypedArray[], outer: number, out: TypedArray): void {
  if (outer === 0) return;
  const rowOut = out.length / outer;
  let col = 0;
  for (const t of parts) {
    const chunk = t.length / outer;
    for (let o = 0; o < outer; o++) out.set(t.subarray(o * chunk, (o + 1) * chunk), o * rowOut + col);
    col += chunk;
  }
}

export function fill(out: TypedArray, value: number, start: number, end: number): void {
  out.fill(value, start, end);
}
