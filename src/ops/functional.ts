import { DTypeError, ShapeError, ValueError, fmtShape } from '../errors.js';
import { floatTypeFor, isFloat, promoteTypes, promoteWithScalar, type DType } from '../tensor/dtype.js';
import { broadcastShapes, normalizeDim, normalizeDims, numel } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { kernel } from '../backend/dispatch.js';
import type { CompareKernel } from '../backend/types.js';
import { SELF, defineOp } from './define.js';
import { asFloat, matmulT, maxShift } from './internal.js';
import { compareK, fullK } from './kernels.js';
import { apply } from './registry.js';
import { squeeze } from './shape-functional.js';

/**
 * The public ops: argument checking with messages that name the op and the shapes, dtype
 * promotion, and the composites (mean, var, softmax, ...) whose gradients come from the
 * primitives they are built of. Each op is one defineOp entry (see define.ts): the function,
 * its Tensor method(s), and through index.ts's `export *` its export.
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

// ---- elementwise ------------------------------------------------------------------------

/** x.add(y, alpha) and x.sub(y, alpha) take y · alpha, as PyTorch's. */
const scaled = (o: TensorLike, alpha: number): TensorLike => (alpha === 1 ? o : typeof o === 'number' ? o * alpha : mul(o, alpha));

export const add = defineOp((input: TensorLike, other: TensorLike): Tensor => apply('add', promote('add', input, other), {}), {
  add(this: Tensor, other: TensorLike, alpha = 1): Tensor {
    return add(this, scaled(other, alpha));
  },
});
export const sub = defineOp((input: TensorLike, other: TensorLike): Tensor => apply('sub', promote('sub', input, other), {}), {
  sub(this: Tensor, other: TensorLike, alpha = 1): Tensor {
    return sub(this, scaled(other, alpha));
  },
});
export const mul = defineOp((input: TensorLike, other: TensorLike): Tensor => apply('mul', promote('mul', input, other), {}), { mul: SELF });
/** True division: integer operands give a float result, as in PyTorch. */
export const div = defineOp((input: TensorLike, other: TensorLike): Tensor => apply('div', promote('div', input, other, true), {}), { div: SELF });
export const maximum = defineOp((input: TensorLike, other: TensorLike): Tensor => apply('maximum', promote('maximum', input, other), {}), {
  maximum: SELF,
});
export const minimum = defineOp((input: TensorLike, other: TensorLike): Tensor => apply('minimum', promote('minimum', input, other), {}), {
  minimum: SELF,
});

export const pow = defineOp(
  (input: TensorLike, exponent: TensorLike): Tensor => {
    if (typeof exponent === 'number' && input instanceof Tensor) {
      if (!isFloat(input.dtype) && (!Number.isInteger(exponent) || exponent < 0)) {
        return apply('powScalar', [input.to('float32')], { exponent });
      }
      return apply('powScalar', [input], { exponent });
    }
    return apply('pow', promote('pow', input, exponent, true), {});
  },
  { pow: SELF },
);

export const neg = defineOp((input: Tensor): Tensor => apply('neg', [input.dtype === 'bool' ? input.to('int32') : input], {}), { neg: SELF });
export const exp = defineOp((input: Tensor): Tensor => apply('exp', [asFloat(input)], {}), { exp: SELF });
export const log = defineOp((input: Tensor): Tensor => apply('log', [asFloat(input)], {}), { log: SELF });
export const sqrt = defineOp((input: Tensor): Tensor => apply('sqrt', [asFloat(input)], {}), { sqrt: SELF });
export const abs = defineOp((input: Tensor): Tensor => apply('abs', [asFloat(input)], {}), { abs: SELF });
export const sin = defineOp((input: Tensor): Tensor => apply('sin', [asFloat(input)], {}), { sin: SELF });
export const cos = defineOp((input: Tensor): Tensor => apply('cos', [asFloat(input)], {}), { cos: SELF });
export const tanh = defineOp((input: Tensor): Tensor => apply('tanh', [asFloat(input)], {}), { tanh: SELF });
export const sigmoid = defineOp((input: Tensor): Tensor => apply('sigmoid', [asFloat(input)], {}), { sigmoid: SELF });
export const relu = defineOp((input: Tensor): Tensor => apply('relu', [asFloat(input)], {}), { relu: SELF });
export const erf = defineOp((input: Tensor): Tensor => apply('erf', [asFloat(input)], {}), { erf: SELF });
export const log1p = defineOp((input: Tensor): Tensor => apply('log1p', [asFloat(input)], {}), { log1p: SELF });
export const expm1 = defineOp((input: Tensor): Tensor => apply('expm1', [asFloat(input)], {}), { expm1: SELF });
export const square = defineOp((input: Tensor): Tensor => pow(input, 2), { square: SELF });
export const rsqrt = defineOp((input: Tensor): Tensor => pow(input, -0.5), { rsqrt: SELF });
export const reciprocal = defineOp((input: Tensor): Tensor => div(1, input), { reciprocal: SELF });

export const clamp = defineOp(
  (input: Tensor, min: number | null = null, max: number | null = null): Tensor => {
    if (min === null && max === null) throw new ValueError('clamp: at least one of min and max must be given');
    if (min !== null && max !== null && min > max) throw new ValueError(`clamp: min ${min} is greater than max ${max}`);
    return apply('clamp', [input], { min, max });
  },
  { clamp: SELF },
);

/** where(cond, a, b): a where cond is true, else b; all three broadcast together. x.where(cond, y) is where(cond, x, y). */
export const where = defineOp(
  (cond: Tensor, a: TensorLike, b: TensorLike): Tensor => {
    const c = cond.dtype === 'bool' ? cond : cond.to('bool');
    const [ta, tb] = promote('where', a, b);
    return apply('where', [c, ta, tb], {});
  },
  {
    where(this: Tensor, condition: Tensor, other: TensorLike): Tensor {
      return where(condition, this, other);
    },
  },
);

function compare(op: CompareKernel, a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = promote(op, a, b);
  return compareK(op, op, ta, tb);
}
export const gt = defineOp((input: TensorLike, other: TensorLike): Tensor => compare('gt', input, other), { gt: SELF });
export const ge = defineOp((input: TensorLike, other: TensorLike): Tensor => compare('ge', input, other), { ge: SELF });
export const lt = defineOp((input: TensorLike, other: TensorLike): Tensor => compare('lt', input, other), { lt: SELF });
export const le = defineOp((input: TensorLike, other: TensorLike): Tensor => compare('le', input, other), { le: SELF });
export const eq = defineOp((input: TensorLike, other: TensorLike): Tensor => compare('eq', input, other), { eq: SELF });
export const ne = defineOp((input: TensorLike, other: TensorLike): Tensor => compare('ne', input, other), { ne: SELF });

// ---- matrix products ----------------------------------------------------------------------

/** Matrix product with PyTorch's rules for 1-D operands and broadcast batch dims. x.mm(y) insists on two 2-D operands. */
export const matmul = defineOp(
  (a: Tensor, b: Tensor): Tensor => {
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
  },
  {
    matmul: SELF,
    mm(this: Tensor, other: Tensor): Tensor {
      if (this.ndim !== 2 || other.ndim !== 2) {
        throw new ShapeError(`mm: needs two 2-D tensors, got ${fmtShape(this.shape)} and ${fmtShape(other.shape)}`);
      }
      return matmul(this, other);
    },
  },
);

/** Dot product of two 1-D tensors. */
export const dot = defineOp(
  (input: Tensor, other: Tensor): Tensor => {
    if (input.ndim !== 1 || other.ndim !== 1) {
      throw new ShapeError(`dot: needs two 1-D tensors, got ${fmtShape(input.shape)} and ${fmtShape(other.shape)}`);
    }
    return matmul(input, other);
  },
  { dot: SELF },
);

// ---- reductions ---------------------------------------------------------------------------

export type Dims = number | readonly number[];

/** The dims a reduction runs over; a 0-d tensor accepts dim 0 (or -1) and has nothing to reduce. */
function reductionDims(op: string, dim: Dims | undefined, x: Tensor): number[] {
  const dims = normalizeDims(op, dim, x.ndim);
  return x.ndim === 0 ? [] : dims;
}

export const sum = defineOp(
  (input: Tensor, dim?: Dims, keepdim = false): Tensor => {
    const t = input.dtype === 'bool' ? input.to('int32') : input;
    return apply('sum', [t], { dims: reductionDims('sum', dim, input), keepdim });
  },
  { sum: SELF },
);

function reducedCount(x: Tensor, dims: number[]): number {
  return dims.reduce((n, d) => n * x.shape[d]!, 1);
}

export const mean = defineOp(
  (input: Tensor, dim?: Dims, keepdim = false): Tensor => {
    if (!isFloat(input.dtype)) throw new DTypeError(`mean: needs a floating-point tensor, got ${input.dtype}; convert with .float() first`);
    return apply('mean', [input], { dims: reductionDims('mean', dim, input), keepdim });
  },
  { mean: SELF },
);

function checkNonEmpty(op: string, x: Tensor, dims: number[]): void {
  for (const d of dims) {
    if (x.shape[d] === 0) throw new ShapeError(`${op}: cannot reduce over dim ${d} of size 0 (shape ${fmtShape(x.shape)})`);
  }
  if (x.ndim === 0 && x.typedData.length === 0) throw new ShapeError(`${op}: empty tensor`);
}

/** Largest value over dims (PyTorch's amax; exported as max too); on ties the gradient is shared equally. */
export const amax = defineOp(
  (input: Tensor, dim?: Dims, keepdim = false): Tensor => {
    const dims = reductionDims('max', dim, input);
    checkNonEmpty('max', input, dims);
    return apply('amax', [input], { dims, keepdim });
  },
  { amax: SELF, max: SELF },
);

export const amin = defineOp(
  (input: Tensor, dim?: Dims, keepdim = false): Tensor => {
    const dims = reductionDims('min', dim, input);
    checkNonEmpty('min', input, dims);
    return apply('amin', [input], { dims, keepdim });
  },
  { amin: SELF, min: SELF },
);

export { amax as max, amin as min };

export interface VarOptions {
  /** Subtracted from the count in the denominator: 1 (default) gives the unbiased estimate. */
  correction?: number;
  /** PyTorch's older flag: false is correction 0. */
  unbiased?: boolean;
  keepdim?: boolean;
}

/** Variance (exported as var too, which JavaScript cannot name a function). */
export const variance = defineOp(
  (input: Tensor, dim?: Dims, options: VarOptions = {}): Tensor => {
    const dims = reductionDims('var', dim, input);
    const correction = options.correction ?? (options.unbiased === false ? 0 : 1);
    const n = reducedCount(input, dims);
    const d = sub(input, mean(input, dims, true));
    return div(sum(mul(d, d), dims, options.keepdim ?? false), Math.max(0, n - correction));
  },
  { var: SELF },
);

export { variance as var };

/** √var; where var is 0 the gradient is 0, as PyTorch (not sqrt'(0)·0 = NaN). */
export const std = defineOp(
  (input: Tensor, dim?: Dims, options: VarOptions = {}): Tensor => {
    const v = variance(input, dim, options);
    // The double where keeps the infinite sqrt'(0) out of the graph entirely.
    const zero = v.detach().eq(0);
    return where(zero, 0, sqrt(where(zero, 1, v)));
  },
  { std: SELF },
);

/** log Σ exp(x) over dims, stable for large |x|: the max is taken out first. */
export const logsumexp = defineOp(
  (input: Tensor, dim: Dims, keepdim = false): Tensor => {
    const dims = reductionDims('logsumexp', dim, input);
    const xf = asFloat(input);
    const shift = maxShift(xf, dims);
    const out = add(log(sum(exp(sub(xf, shift)), dims, true)), shift);
    return keepdim ? out : squeeze(out, dims);
  },
  { logsumexp: SELF },
);

/**
 * Running sum along dim: out[..., j, ...] = Σ_{i ≤ j} input[..., i, ...]. Integer and bool
 * inputs sum as int32 (PyTorch: int64, which chainrule does not have).
 */
export const cumsum = defineOp(
  (input: Tensor, dim: number): Tensor => {
    const d = normalizeDim('cumsum', dim, Math.max(input.ndim, 1));
    const t = input.dtype === 'bool' ? input.to('int32') : input;
    return apply('cumsum', [t], { dim: d, reverse: false });
  },
  { cumsum: SELF },
);

/** Index of the largest value (first on ties), flattened when dim is not given. No gradient. */
export const argmax = defineOp(
  (input: Tensor, dim?: number, keepdim = false): Tensor => argExtreme('argmax', 'max', input, dim, keepdim),
  { argmax: SELF },
);

export const argmin = defineOp(
  (input: Tensor, dim?: number, keepdim = false): Tensor => argExtreme('argmin', 'min', input, dim, keepdim),
  { argmin: SELF },
);

/** The argReduce kernel (the first extreme on ties; a NaN counts as the extreme, as in PyTorch). */
function argExtreme(op: string, kind: 'max' | 'min', x: Tensor, dim: number | undefined, keepdim: boolean): Tensor {
  x = x.rowMajorTensor();
  if (dim === undefined) {
    if (x.typedData.length === 0) throw new ShapeError(`${op}: empty tensor`);
    const out = new Int32Array(1);
    kernel('argReduce', x.typedData.length, x.dtype)(kind, x.typedData, 1, x.typedData.length, 1, out);
    return new Tensor(out, keepdim ? x.shape.map(() => 1) : [], 'int32');
  }
  const d = normalizeDim(op, dim, x.ndim);
  checkNonEmpty(op, x, [d]);
  const outer = numel(x.shape.slice(0, d));
  const size = x.shape[d]!;
  const inner = numel(x.shape.slice(d + 1));
  const out = new Int32Array(outer * inner);
  kernel('argReduce', x.typedData.length, x.dtype)(kind, x.typedData, outer, size, inner, out);
  const shape = keepdim ? x.shape.map((s, i) => (i === d ? 1 : s)) : x.shape.filter((_, i) => i !== d);
  return new Tensor(out, shape, 'int32');
}

export * from './shape-functional.js';
export * from './activations.js';
export * from './rearrange.js';
export * from './masked.js';
export * from './sorting.js';
export * from './products.js';
export * from './sampling.js';
export * from './advanced-index.js';
