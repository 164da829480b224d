import type { TypedArray } from './types.js';

/**
 * The data-movement kernels: copies through strides, selection and scatter by index, joins and
 * fills. Arrays are host typed arrays of any dtype, addressed in elements; indices are int32 and
 * in range (the ops check them before the call, and report the bad value). Each kernel writes only
 * the elements its contract names, and reads integer values exactly (no arithmetic but `+=`).
 */
export interface MovementKernels {
  /** out (row-major, numel(shape) long) ← src[offset + Σ index_d·strides_d] for every index of shape (a view made contiguous; strides of 0 broadcast). */
  stridedCopy(src: TypedArray, shape: readonly number[], strides: readonly number[], offset: number, out: TypedArray): void;

  /** dst[offset + Σ index_d·strides_d] ← values[row-major index] for every index of shape (a write through a view); other elements of dst untouched. */
  stridedWrite(dst: TypedArray, shape: readonly number[], strides: readonly number[], offset: number, values: TypedArray): void;

  /**
   * out[idx] = cond[cIndex] ≠ 0 ? a[aIndex] : b[bIndex] over outShape, each input addressed by its
   * element strides in outShape's dims (0 on a broadcast dim), as `binary`.
   */
  where(
    cond: TypedArray,
    cStrides: readonly number[],
    a: TypedArray,
    aStrides: readonly number[],
    b: TypedArray,
    bStrides: readonly number[],
    out: TypedArray,
    outShape: readonly number[],
  ): void;

  /**
   * out[o] = x[base(o) + index[o]·step] for every row-major position o of `shape` (index's shape),
   * base(o) = Σ idx_d·strides_d: strides are x's with 0 on the gathered dim, step x's stride there.
   */
  gather(x: TypedArray, strides: readonly number[], step: number, index: Int32Array, shape: readonly number[], out: TypedArray): void;

  /**
   * gather's adjoint, in place: out[base(o) + index[o]·step] += src[srcBase(o)] for every position o
   * of `shape` in row-major order (repeated indices add up in that order); srcBase walks srcStrides.
   */
  scatterAdd(
    out: TypedArray,
    strides: readonly number[],
    step: number,
    index: Int32Array,
    shape: readonly number[],
    src: TypedArray,
    srcStrides: readonly number[],
  ): void;

  /** x viewed as [outer, size, inner]: out [outer, index.length, inner] with out[o, j, :] = x[o, index[j], :]. */
  indexSelect(x: TypedArray, outer: number, size: number, inner: number, index: Int32Array, out: TypedArray): void;

  /** indexSelect's adjoint, in place on out [outer, size, inner]: out[o, index[j], :] += src[o, j, :], j ascending. */
  indexAdd(out: TypedArray, outer: number, size: number, inner: number, index: Int32Array, src: TypedArray): void;

  /**
   * Concatenation along a dim: each part viewed as [outer, chunk_i] (chunk_i = its length / outer)
   * and out as [outer, Σ chunk_i], the parts side by side in each of the outer rows.
   */
  cat(parts: readonly TypedArray[], outer: number, out: TypedArray): void;

  /** out[start..end) = value (in out's dtype). */
  fill(out: TypedArray, value: number, start: number, end: number): void;
}
