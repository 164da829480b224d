import { DTypeError, IndexError, ShapeError, ValueError, fmtShape } from '../errors.js';
import { floatTypeFor, isFloat, promoteTypes, promoteWithScalar, type DType } from '../tensor/dtype.js';
import { broadcastShapes, inferShape, normalizeDim, normalizeDims, numel, sameShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { compareK, fullK } from './kernels.js';
import { apply } from './registry.js';
import type { CompareKernel } from '../backend/types.js';
import { noGrad } from '../autograd/grad-mode.js';

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

function asFloat(op: string, x: Tensor): Tensor {
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
function maxShift(xf: Tensor, dims: number[]): Tensor {
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

// ---- shape ---------------------------------------------------------------------------------

export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const resolved = inferShape('reshape', x.shape, shape);
  if (sameShape(resolved, x.shape)) return x;
  return apply('reshape', [x], { shape: resolved });
}

export function permute(x: Tensor, dims: readonly number[]): Tensor {
  if (dims.length !== x.ndim) {
    throw new ShapeError(`permute: got ${dims.length} dims [${dims.join(',')}] for a tensor of shape ${fmtShape(x.shape)} (${x.ndim} dims)`);
  }
  const perm = dims.map((d) => normalizeDim('permute', d, x.ndim));
  if (new Set(perm).size !== perm.length) throw new IndexError(`permute: dims [${dims.join(',')}] repeat a dim`);
  if (perm.every((p, i) => p === i)) return x;
  return apply('permute', [x], { perm });
}

export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const a = normalizeDim('transpose', dim0, x.ndim);
  const b = normalizeDim('transpose', dim1, x.ndim);
  if (x.ndim === 0) return x;
  const perm = x.shape.map((_, i) => i);
  perm[a] = b;
  perm[b] = a;
  return permute(x, perm);
}

export function expand(x: Tensor, shape: readonly number[]): Tensor {
  if (shape.length < x.ndim) {
    throw new ShapeError(`expand: target shape ${fmtShape(shape)} has fewer dims than the tensor's ${fmtShape(x.shape)}`);
  }
  const lead = shape.length - x.ndim;
  const resolved = shape.map((s, i) => {
    const own = i < lead ? 1 : x.shape[i - lead]!;
    if (s === -1) {
      if (i < lead) throw new ShapeError(`expand: -1 is not allowed for the new leading dim ${i} in ${fmtShape(shape)}`);
      return own;
    }
    if (own !== 1 && own !== s) {
      throw new ShapeError(`expand: the size of dim ${i - lead} (${own}) must match the target ${s} or be 1; tensor ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
    }
    return s;
  });
  if (sameShape(resolved, x.shape)) return x;
  return apply('expand', [x], { shape: resolved });
}

export function squeeze(x: Tensor, dim?: Dims): Tensor {
  if (dim === undefined) return reshape(x, x.shape.filter((s) => s !== 1));
  const dims = normalizeDims('squeeze', dim, x.ndim);
  return reshape(x, x.shape.filter((s, i) => !(dims.includes(i) && s === 1)));
}

export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normalizeDim('unsqueeze', dim, x.ndim + 1);
  const shape = [...x.shape];
  shape.splice(d, 0, 1);
  return apply('reshape', [x], { shape });
}

export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normalizeDim('flatten', startDim, x.ndim);
  const e = normalizeDim('flatten', endDim, x.ndim);
  if (s > e) throw new IndexError(`flatten: startDim ${startDim} comes after endDim ${endDim}`);
  const shape = [...x.shape.slice(0, s), numel(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)];
  return reshape(x, shape);
}

export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new ValueError('cat: expected a non-empty list of tensors');
  const first = tensors[0]!;
  tensors.forEach((t, i) => {
    if (t.ndim === 0) throw new ShapeError(`cat: tensor ${i} is 0-d and cannot be concatenated; stack() or unsqueeze() it first`);
  });
  const d = normalizeDim('cat', dim, first.ndim);
  const dtype = tensors.reduce<DType>((acc, t) => promoteTypes(acc, t.dtype), first.dtype);
  tensors.forEach((t, i) => {
    const bad = t.ndim !== first.ndim || t.shape.some((s, j) => j !== d && s !== first.shape[j]);
    if (bad) {
      throw new ShapeError(`cat: tensor ${i} has shape ${fmtShape(t.shape)}, which does not match tensor 0's ${fmtShape(first.shape)} outside dim ${d}`);
    }
  });
  if (tensors.length === 1) return tensors[0]!.to(dtype);
  return apply('cat', tensors.map((t) => t.to(dtype)), { dim: d });
}

export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new ValueError('stack: expected a non-empty list of tensors');
  const first = tensors[0]!;
  tensors.forEach((t, i) => {
    if (!sameShape(t.shape, first.shape)) {
      throw new ShapeError(`stack: tensor ${i} has shape ${fmtShape(t.shape)}, but tensor 0 has ${fmtShape(first.shape)}; all must be equal`);
    }
  });
  const d = normalizeDim('stack', dim, first.ndim + 1);
  return cat(tensors.map((t) => unsqueeze(t, d)), d);
}

/** Copy of x[start:end:step] along dim, with Python's rules for negative and out-of-range bounds. */
/** Shape ops that pick along a dim have no dim to pick along in a 0-d tensor. */
function needsDims(op: string, x: Tensor): void {
  if (x.ndim === 0) throw new IndexError(`${op}: cannot be applied to a 0-d tensor`);
}

export function slice(x: Tensor, dim: number, start = 0, end: number = Number.MAX_SAFE_INTEGER, step = 1): Tensor {
  needsDims('slice', x);
  const d = normalizeDim('slice', dim, x.ndim);
  if (!Number.isInteger(step) || step <= 0) throw new ValueError(`slice: step must be a positive integer, got ${step}`);
  const n = x.shape[d]!;
  const clampIdx = (i: number) => Math.min(n, Math.max(0, i < 0 ? i + n : i));
  const s = clampIdx(start);
  const e = Math.max(s, clampIdx(end));
  if (s === 0 && e === n && step === 1) return x;
  return apply('slice', [x], { dim: d, start: s, end: e, step });
}

export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  needsDims('narrow', x);
  const d = normalizeDim('narrow', dim, x.ndim);
  const n = x.shape[d]!;
  const s = start < 0 ? start + n : start;
  if (s < 0 || s > n || length < 0 || s + length > n) {
    throw new IndexError(`narrow: start ${start} and length ${length} go outside dim ${d} of size ${n} (shape ${fmtShape(x.shape)})`);
  }
  return slice(x, d, s, s + length);
}

/** Internal: g embedded at [start::step] along dim in zeros of `shape` (slice's adjoint). */
export function sliceScatter(g: Tensor, shape: readonly number[], dim: number, start: number, step: number): Tensor {
  return apply('sliceScatter', [g], { shape: [...shape], dim, start, step });
}

export function select(x: Tensor, dim: number, index: number): Tensor {
  needsDims('select', x);
  const d = normalizeDim('select', dim, x.ndim);
  const n = x.shape[d]!;
  if (!Number.isInteger(index) || index < -n || index >= n) {
    throw new IndexError(`select: index ${index} is out of range for dim ${d} of size ${n} (valid: ${-n} to ${n - 1})`);
  }
  const i = index < 0 ? index + n : index;
  return squeeze(slice(x, d, i, i + 1), d);
}

export function split(x: Tensor, sizes: number | readonly number[], dim = 0): Tensor[] {
  needsDims('split', x);
  const d = normalizeDim('split', dim, x.ndim);
  const n = x.shape[d]!;
  let list: number[];
  if (typeof sizes === 'number') {
    if (!Number.isInteger(sizes) || sizes <= 0) throw new ValueError(`split: split size must be a positive integer, got ${sizes}`);
    list = [];
    for (let s = 0; s < n; s += sizes) list.push(Math.min(sizes, n - s));
  } else {
    list = [...sizes];
    const total = list.reduce((a, b) => a + b, 0);
    if (total !== n) throw new ShapeError(`split: sizes [${list.join(',')}] add up to ${total}, but dim ${d} has size ${n}`);
  }
  const out: Tensor[] = [];
  let start = 0;
  for (const len of list) {
    out.push(narrow(x, d, start, len));
    start += len;
  }
  return out;
}

export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  if (!Number.isInteger(chunks) || chunks <= 0) throw new ValueError(`chunk: chunks must be a positive integer, got ${chunks}`);
  needsDims('chunk', x);
  const d = normalizeDim('chunk', dim, x.ndim);
  const size = Math.ceil(x.shape[d]! / chunks);
  return split(x, Math.max(size, 1), d);
}

// ---- indexing ------------------------------------------------------------------------------

function checkIndex(op: string, index: Tensor, size: number, dim: number): Tensor {
  if (index.dtype !== 'int32') throw new DTypeError(`${op}: index must be an int32 tensor, got ${index.dtype}`);
  for (let i = 0; i < index.data.length; i++) {
    const v = index.data[i]!;
    if (v < 0 || v >= size) {
      throw new IndexError(`${op}: index ${v} (at position ${i}) is out of range for dim ${dim} of size ${size} (valid: 0 to ${size - 1})`);
    }
  }
  return index;
}

export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  const d = normalizeDim('indexSelect', dim, x.ndim);
  if (x.ndim === 0) {
    if (index.data.length !== 1) throw new ShapeError(`indexSelect: a 0-d tensor takes exactly one index, got shape ${fmtShape(index.shape)}`);
    return indexSelect(reshape(x, [1]), 0, reshape(index, [1])).reshape([]);
  }
  if (index.ndim > 1) throw new ShapeError(`indexSelect: index must be 0-D or 1-D, got shape ${fmtShape(index.shape)}`);
  checkIndex('indexSelect', index, x.shape[d]!, d);
  return apply('indexSelect', [x, index.reshape([-1])], { dim: d });
}

/** self + src's rows added at positions `index` along dim (indexSelect's adjoint). */
export function indexAdd(self: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  const d = normalizeDim('indexAdd', dim, self.ndim);
  checkIndex('indexAdd', index, self.shape[d]!, d);
  const expected = self.shape.map((s, i) => (i === d ? index.data.length : s));
  if (!sameShape(src.shape, expected)) {
    throw new ShapeError(`indexAdd: src has shape ${fmtShape(src.shape)}, expected ${fmtShape(expected)} for ${index.data.length} indices into ${fmtShape(self.shape)} along dim ${d}`);
  }
  return apply('indexAdd', [self, index.reshape([-1]), src.to(self.dtype)], { dim: d });
}

function checkGatherShapes(op: string, x: Tensor, d: number, index: Tensor, src?: Tensor): void {
  if (index.ndim !== x.ndim) {
    throw new ShapeError(`${op}: index has ${index.ndim} dims (shape ${fmtShape(index.shape)}) but the tensor has ${x.ndim} (shape ${fmtShape(x.shape)})`);
  }
  index.shape.forEach((s, i) => {
    if (i !== d && s > x.shape[i]!) {
      throw new ShapeError(`${op}: index shape ${fmtShape(index.shape)} is larger than the tensor's ${fmtShape(x.shape)} in dim ${i}`);
    }
    if (src && s > src.shape[i]!) {
      throw new ShapeError(`${op}: index shape ${fmtShape(index.shape)} is larger than src's ${fmtShape(src.shape)} in dim ${i}`);
    }
  });
}

export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  const d = normalizeDim('gather', dim, x.ndim);
  if (x.ndim === 0 && index.ndim === 0) return gather(reshape(x, [1]), 0, reshape(index, [1])).reshape([]);
  checkGatherShapes('gather', x, d, index);
  checkIndex('gather', index, x.shape[d]!, d);
  return apply('gather', [x, index], { dim: d });
}

export function scatterAdd(self: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  const d = normalizeDim('scatterAdd', dim, self.ndim);
  if (self.ndim === 0 && index.ndim === 0 && src.ndim === 0) {
    return scatterAdd(reshape(self, [1]), 0, reshape(index, [1]), reshape(src, [1])).reshape([]);
  }
  checkGatherShapes('scatterAdd', self, d, index, src);
  checkIndex('scatterAdd', index, self.shape[d]!, d);
  return apply('scatterAdd', [self, index, src.to(self.dtype)], { dim: d });
}

// ---- activations (composites) ----------------------------------------------------------------

export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  return where(gt(x, 0), x, mul(x, negativeSlope));
}

/** ELU; the exponential only sees non-positive inputs, so large x cannot overflow it. */
export function elu(x: Tensor, alpha = 1): Tensor {
  const pos = gt(x, 0);
  return where(pos, x, mul(expm1(where(pos, 0, x)), alpha));
}

/** GELU: exact (x·Φ(x) via erf) or the tanh approximation. */
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  if (approximate === 'tanh') {
    const inner = mul(add(x, mul(pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
    return mul(mul(x, 0.5), add(tanh(inner), 1));
  }
  return mul(mul(x, 0.5), add(erf(mul(x, Math.SQRT1_2)), 1));
}

/** softplus(x) = log(1 + exp(βx))/β, linear above the threshold, as PyTorch. */
export function softplus(x: Tensor, beta = 1, threshold = 20): Tensor {
  const bx = mul(x, beta);
  const over = gt(bx, threshold);
  const safe = where(over, 0, bx);
  return where(over, x, div(log1p(exp(safe)), beta));
}

export function softmax(x: Tensor, dim: number): Tensor {
  const d = normalizeDim('softmax', dim, x.ndim);
  const xf = asFloat('softmax', x);
  if (x.shape[d] === 0) return xf.clone(); // nothing to normalise over (amax would refuse)
  const e = exp(sub(xf, amax(xf, d, true).detach()));
  return div(e, sum(e, d, true));
}

export function logSoftmax(x: Tensor, dim: number): Tensor {
  const d = normalizeDim('logSoftmax', dim, x.ndim);
  const xf = asFloat('logSoftmax', x);
  if (x.shape[d] === 0) return xf.clone();
  // (x − m) − log Σ exp(x − m): subtracting the full logsumexp from x instead would cancel
  // two large numbers and lose float32 digits for logits near ±1000.
  const shifted = sub(xf, maxShift(xf, [d]));
  return sub(shifted, log(sum(exp(shifted), d, true)));
}

/** Internal: run fn untracked (for in-place ops). */
export function noGradScope<T>(fn: () => T): T {
  return noGrad(fn);
}
