import { DTypeError, ShapeError, ValueError, fmtShape } from '../errors.js';
import { floatTypeFor, isFloat, promoteTypes, promoteWithScalar, type DType } from '../tensor/dtype.js';
import { broadcastShapes, normalizeDim, normalizeDims, numel } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { compareK, fullK } from './kernels.js';
import { apply } from './registry.js';
import type { CompareKernel } from '../backend/types.js';
import { squeeze } from './shape-functional.js';

/**
 * The user-facing functions over the primitives: argument checking with messages that
 * name the op and the shapes, dtype promotion, and the composites (mean, var, softmax, ...)
 * whose gradients come from the primitives they are built of.
 */

export type TensorLike = Tensor | number;

function scalarTensor(v: number, dtype: DType): Tensor {
  return fullK([], v, dtype);
}

/** Bring two operands to one dtype by PyTorch's promotion rules (numbers adapt to tensors). */
function promote(op: string, a: TensorLike, b: TensorLike, floatOnly = false): [Tensor, Tensor] {
  if (typeof a === 'number' && typeof b === 'number') {
    throw new ValueError(`${op}: at least one operand must be a tensor`);
  }
  let dtype: DType;
  if (typeof a === 'number') dtype = promoteWithScalar((b as Tensor).dtype, a);
  else if (typeof b === 'number') dtype = promoteWithScalar(a.dtype, b);
  else dtype = promoteTypes(a.dtype, b.dtype);
  if (floatOnly) dtype = floatTypeFor(dtype);
  if (dtype === 'bool') dtype = 'int32';
  const ta = typeof a === 'number' ? scalarTensor(a, dtype) : a.to(dtype);
  const tb = typeof b === 'number' ? scalarTensor(b, dtype) : b.to(dtype);
  return [ta, tb];
}

/** Internal: the float tensor unary float functions compute on (ints become float32). */
export function asFloat(op: string, x: Tensor): Tensor {
  if (isFloat(x.dtype)) return x;
  if (x.dtype === 'bool' && op !== 'cast') return x.to('float32');
  return x.to('float32');
}

// ---- elementwise ------------------------------------------------------------------------

export const add = (a: TensorLike, b: TensorLike): Tensor => apply('add', promote('add', a, b), {});
export const sub = (a: TensorLike, b: TensorLike): Tensor => apply('sub', promote('sub', a, b), {});
export const mul = (a: TensorLike, b: TensorLike): Tensor => apply('mul', promote('mul', a, b), {});
/** True division: integer operands give a float result, as in PyTorch. */
export const div = (a: TensorLike, b: TensorLike): Tensor => apply('div', promote('div', a, b, true), {});
export const maximum = (a: TensorLike, b: TensorLike): Tensor => apply('maximum', promote('maximum', a, b), {});
export const minimum = (a: TensorLike, b: TensorLike): Tensor => apply('minimum', promote('minimum', a, b), {});

export function pow(a: TensorLike, b: TensorLike): Tensor {
  if (typeof b === 'number' && a instanceof Tensor) {
    if (!isFloat(a.dtype) && (!Number.isInteger(b) || b < 0)) return apply('powScalar', [a.to('float32')], { exponent: b });
    return apply('powScalar', [a], { exponent: b });
  }
  return apply('pow', promote('pow', a, b, true), {});
}

export const neg = (x: Tensor): Tensor => apply('neg', [x.dtype === 'bool' ? x.to('int32') : x], {});
export const exp = (x: Tensor): Tensor => apply('exp', [asFloat('exp', x)], {});
export const log = (x: Tensor): Tensor => apply('log', [asFloat('log', x)], {});
export const sqrt = (x: Tensor): Tensor => apply('sqrt', [asFloat('sqrt', x)], {});
export const abs = (x: Tensor): Tensor => apply('abs', [isFloat(x.dtype) ? x : x.to('float32')], {});
export const sin = (x: Tensor): Tensor => apply('sin', [asFloat('sin', x)], {});
export const cos = (x: Tensor): Tensor => apply('cos', [asFloat('cos', x)], {});
export const tanh = (x: Tensor): Tensor => apply('tanh', [asFloat('tanh', x)], {});
export const sigmoid = (x: Tensor): Tensor => apply('sigmoid', [asFloat('sigmoid', x)], {});
export const relu = (x: Tensor): Tensor => apply('relu', [asFloat('relu', x)], {});
export const erf = (x: Tensor): Tensor => apply('erf', [asFloat('erf', x)], {});
export const log1p = (x: Tensor): Tensor => apply('log1p', [asFloat('log1p', x)], {});
export const expm1 = (x: Tensor): Tensor => apply('expm1', [asFloat('expm1', x)], {});
export const square = (x: Tensor): Tensor => pow(x, 2);
export const rsqrt = (x: Tensor): Tensor => pow(x, -0.5);
export const reciprocal = (x: Tensor): Tensor => div(1, x);

export function clamp(x: Tensor, min: number | null = null, max: number | null = null): Tensor {
  if (min === null && max === null) throw new ValueError('clamp: at least one of min and max must be given');
  if (min !== null && max !== null && min > max) throw new ValueError(`clamp: min ${min} is greater than max ${max}`);
  return apply('clamp', [x], { min, max });
}

/** where(cond, a, b): a where cond is true, else b; all three broadcast together. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const c = cond.dtype === 'bool' ? cond : cond.to('bool');
  const [ta, tb] = promote('where', a, b);
  return apply('where', [c, ta, tb], {});
}

function compare(op: CompareKernel, a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = promote(op, a, b);
  return compareK(op, op, ta, tb);
}
export const gt = (a: TensorLike, b: TensorLike): Tensor => compare('gt', a, b);
export const ge = (a: TensorLike, b: TensorLike): Tensor => compare('ge', a, b);
export const lt = (a: TensorLike, b: TensorLike): Tensor => compare('lt', a, b);
export const le = (a: TensorLike, b: TensorLike): Tensor => compare('le', a, b);
export const eq = (a: TensorLike, b: TensorLike): Tensor => compare('eq', a, b);
export const ne = (a: TensorLike, b: TensorLike): Tensor => compare('ne', a, b);

export function cast(x: Tensor, dtype: DType, copy = false): Tensor {
  if (x.dtype === dtype && !copy) return x;
  return apply('cast', [x], { dtype });
}

// ---- matrix products ----------------------------------------------------------------------

/** Internal: op(A)·op(B) on ≥2-D operands, no 1-D promotion. */
export function matmulT(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  return apply('matmul', [a, b], { transA, transB });
}

/** Matrix product with PyTorch's rules for 1-D operands and broadcast batch dims. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.ndim === 0 || b.ndim === 0) {
    throw new ShapeError(`matmul: both arguments need at least 1 dim, got ${fmtShape(a.shape)} @ ${fmtShape(b.shape)}`);
  }
  const ka = a.shape[a.ndim - 1]!;
  const kb = b.ndim === 1 ? b.shape[0]! : b.shape[b.ndim - 2]!;
  if (ka !== kb) {
    throw new ShapeError(`matmul: ${fmtShape(a.shape)} @ ${fmtShape(b.shape)}: inner dimensions ${ka} and ${kb} differ`);
  }
  if (!isFloat(a.dtype) || !isFloat(b.dtype)) {
    throw new DTypeError(`matmul: needs floating-point tensors, got ${a.dtype} @ ${b.dtype}`);
  }
  const [ta, tb] = promote('matmul', a, b);
  if (a.ndim >= 2 && b.ndim >= 2) {
    broadcastShapes('matmul (batch dims)', a.shape.slice(0, -2), b.shape.slice(0, -2));
    return matmulT(ta, tb, false, false);
  }
  if (a.ndim === 1 && b.ndim === 1) return matmulT(ta.reshape([1, ka]), tb.reshape([ka, 1]), false, false).reshape([]);
  if (a.ndim === 1) return matmulT(ta.unsqueeze(0), tb, false, false).squeeze(-2);
  return matmulT(ta, tb.unsqueeze(-1), false, false).squeeze(-1);
}

/** Dot product of two 1-D tensors. */
export function dot(a: Tensor, b: Tensor): Tensor {
  if (a.ndim !== 1 || b.ndim !== 1) throw new ShapeError(`dot: needs two 1-D tensors, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  return matmul(a, b);
}

// ---- reductions ---------------------------------------------------------------------------

export type Dims = number | readonly number[];

/** The dims a reduction runs over; a 0-d tensor accepts dim 0 (or -1) and has nothing to reduce. */
function reductionDims(op: string, dim: Dims | undefined, x: Tensor): number[] {
  const dims = normalizeDims(op, dim, x.ndim);
  return x.ndim === 0 ? [] : dims;
}

export function sum(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  const t = x.dtype === 'bool' ? x.to('int32') : x;
  return apply('sum', [t], { dims: reductionDims('sum', dim, x), keepdim });
}

function reducedCount(x: Tensor, dims: number[]): number {
  return dims.reduce((n, d) => n * x.shape[d]!, 1);
}

export function mean(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  if (!isFloat(x.dtype)) throw new DTypeError(`mean: needs a floating-point tensor, got ${x.dtype}; convert with .float() first`);
  return apply('mean', [x], { dims: reductionDims('mean', dim, x), keepdim });
}

function checkNonEmpty(op: string, x: Tensor, dims: number[]): void {
  for (const d of dims) {
    if (x.shape[d] === 0) throw new ShapeError(`${op}: cannot reduce over dim ${d} of size 0 (shape ${fmtShape(x.shape)})`);
  }
  if (x.ndim === 0 && x.data.length === 0) throw new ShapeError(`${op}: empty tensor`);
}

/** Largest value over dims (PyTorch's amax); on ties the gradient is shared equally. */
export function amax(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  const dims = reductionDims('max', dim, x);
  checkNonEmpty('max', x, dims);
  return apply('amax', [x], { dims, keepdim });
}

export function amin(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  const dims = reductionDims('min', dim, x);
  checkNonEmpty('min', x, dims);
  return apply('amin', [x], { dims, keepdim });
}

export interface VarOptions {
  /** Subtracted from the count in the denominator: 1 (default) gives the unbiased estimate. */
  correction?: number;
  /** PyTorch's older flag: false is correction 0. */
  unbiased?: boolean;
  keepdim?: boolean;
}

export function variance(x: Tensor, dim?: Dims, opts: VarOptions = {}): Tensor {
  const dims = reductionDims('var', dim, x);
  const correction = opts.correction ?? (opts.unbiased === false ? 0 : 1);
  const n = reducedCount(x, dims);
  const d = sub(x, mean(x, dims, true));
  return div(sum(mul(d, d), dims, opts.keepdim ?? false), Math.max(0, n - correction));
}

/** √var; where var is 0 the gradient is 0, as PyTorch (not sqrt'(0)·0 = NaN). */
export function std(x: Tensor, dim?: Dims, opts: VarOptions = {}): Tensor {
  const v = variance(x, dim, opts);
  // The double where keeps the infinite sqrt'(0) out of the graph entirely.
  const zero = v.detach().eq(0);
  return where(zero, 0, sqrt(where(zero, 1, v)));
}

/** log Σ exp(x) over dims, stable for large |x|: the max is taken out first. */
export function logsumexp(x: Tensor, dim: Dims, keepdim = false): Tensor {
  const dims = reductionDims('logsumexp', dim, x);
  const xf = asFloat('logsumexp', x);
  const shift = maxShift(xf, dims);
  const out = add(log(sum(exp(sub(xf, shift)), dims, true)), shift);
  return keepdim ? out : squeeze(out, dims);
}

/** The (constant) max over dims, kept, that stable exp-sums subtract first. */
export function maxShift(xf: Tensor, dims: number[]): Tensor {
  const m = amax(xf, dims, true).detach();
  // An all −∞ (or +∞) slice would give ∞ − ∞; shift by 0 there instead.
  return where(m.abs().eq(Infinity), 0, m);
}

/** Index of the largest value (first on ties), flattened when dim is not given. No gradient. */
export function argmax(x: Tensor, dim?: number, keepdim = false): Tensor {
  return argExtreme('argmax', x, dim, keepdim, (v, best) => v > best || (v !== v && best === best));
}

export function argmin(x: Tensor, dim?: number, keepdim = false): Tensor {
  return argExtreme('argmin', x, dim, keepdim, (v, best) => v < best || (v !== v && best === best));
}

function argExtreme(op: string, x: Tensor, dim: number | undefined, keepdim: boolean, better: (v: number, best: number) => boolean): Tensor {
  x = x.rowMajorTensor();
  if (dim === undefined) {
    if (x.data.length === 0) throw new ShapeError(`${op}: empty tensor`);
    let bi = 0;
    for (let i = 1; i < x.data.length; i++) if (better(x.data[i]!, x.data[bi]!)) bi = i;
    const out = fullK(keepdim ? x.shape.map(() => 1) : [], bi, 'int32');
    return out;
  }
  const d = normalizeDim(op, dim, x.ndim);
  checkNonEmpty(op, x, [d]);
  const outer = numel(x.shape.slice(0, d));
  const size = x.shape[d]!;
  const inner = numel(x.shape.slice(d + 1));
  const out = new Int32Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * size * inner + j;
      let bi = 0;
      for (let r = 1; r < size; r++) if (better(x.data[base + r * inner]!, x.data[base + bi * inner]!)) bi = r;
      out[o * inner + j] = bi;
    }
  }
  const shape = keepdim ? x.shape.map((s, i) => (i === d ? 1 : s)) : x.shape.filter((_, i) => i !== d);
  return new Tensor(out, shape, 'int32');
}


export * from './shape-functional.js';
export * from './activations.js';
