import { isFloat, type DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { amax, where } from './functional.js';
import { apply } from './registry.js';

/**
 * Helpers the op definitions, the rules and nn share but that are not public API (index.ts
 * re-exports the op modules whole, so anything internal lives here instead).
 */

/** The float tensor unary float functions compute on (ints and bools become float32). */
export function asFloat(x: Tensor): Tensor {
  return isFloat(x.dtype) ? x : x.to('float32');
}

/** The recorded dtype conversion behind Tensor.to() and clone(). */
export function cast(x: Tensor, dtype: DType, copy = false): Tensor {
  if (x.dtype === dtype && !copy) return x;
  return apply('cast', [x], { dtype });
}

/** op(A)·op(B) on ≥2-D operands, no 1-D promotion. */
export function matmulT(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  return apply('matmul', [a, b], { transA, transB });
}

/** The (constant) max over dims, kept, that stable exp-sums subtract first. */
export function maxShift(xf: Tensor, dims: number[]): Tensor {
  const m = amax(xf, dims, true).detach();
  // An all −∞ (or +∞) slice would give ∞ − ∞; shift by 0 there instead.
  return where(m.abs().eq(Infinity), 0, m);
}

/** g on the diagonal of zeros of `shape` (diagonal's adjoint). */
export function diagonalScatter(g: Tensor, shape: readonly number[], offset: number, dim1: number, dim2: number): Tensor {
  return apply('diagonalScatter', [g], { shape: [...shape], offset, dim1, dim2 });
}

/** g embedded at [start::step] along dim in zeros of `shape` (slice's adjoint). */
export function sliceScatter(g: Tensor, shape: readonly number[], dim: number, start: number, step: number): Tensor {
  return apply('sliceScatter', [g], { shape: [...shape], dim, start, step });
}
