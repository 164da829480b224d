import { kernel } from '../backend/dispatch.js';
import type { BinaryKernel, CompareKernel, FloatArray, GemmArgs, ReduceKernel, TypedArray, UnaryKernel } from '../backend/types.js';
import { allocate, allocateUninit, castArray, type DType } from '../tensor/dtype.js';
import { batchOffsets, broadcastShapes, broadcastStrides, contiguousStrides, numel, sameShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { deviceKernel } from '../tensor/device.js';

/**
 * Untracked computations on tensors: the forward halves of the ops. Arithmetic goes through
 * the backend's kernels, data movement (gather, cat, where, ...) included: this file only
 * allocates outputs and works out the shapes, strides and offsets each kernel is handed.
 * Nothing in this file records a graph.
 */

function make(data: TypedArray, shape: readonly number[], dtype: DType): Tensor {
  return new Tensor(data, shape, dtype);
}

export function asDType(t: Tensor, dtype: DType): Tensor {
  if (t.deviceResident && t.dtype !== dtype) return deviceKernel('cast', 'cast', [t, dtype], asDType);
  return t.dtype === dtype ? t : make(castArray(t.rowMajor(false), dtype), t.shape, dtype);
}

/** An output array the kernel will overwrite entirely (float outputs skip the zero-fill). */
function outputArray(dtype: DType, size: number): TypedArray {
  return dtype === 'float32' || dtype === 'float64' ? allocateUninit(dtype, size) : allocate(dtype, size);
}

export function unaryK(op: UnaryKernel, x: Tensor): Tensor {
  if (x.deviceResident) return deviceKernel('unary', op, [op, x], unaryK);
  x = x.rowMajorTensor();
  const out = outputArray(x.dtype, x.typedData.length) as FloatArray;
  kernel('unary', out.length, x.dtype)(op, x.typedData as FloatArray, out);
  return make(out, x.shape, x.dtype);
}

export function binaryK(op: BinaryKernel, opName: string, a: Tensor, b: Tensor): Tensor {
  if (a.deviceResident || b.deviceResident) return deviceKernel('binary', opName, [op, opName, a, b], binaryK);
  a = a.rowMajorTensor();
  b = b.rowMajorTensor();
  if (sameShape(a.shape, b.shape)) {
    const out = outputArray(a.dtype, a.typedData.length);
    const strides = contiguousStrides(a.shape);
    kernel('binary', out.length, a.dtype)(op, a.typedData, strides, b.typedData, strides, out, a.shape);
    return make(out, a.shape, a.dtype);
  }
  const shape = broadcastShapes(opName, a.shape, b.shape);
  const out = outputArray(a.dtype, numel(shape));
  kernel('binary', out.length, a.dtype)(op, a.typedData, broadcastStrides(a.shape, shape), b.typedData, broadcastStrides(b.shape, shape), out, shape);
  return make(out, shape, a.dtype);
}

export function compareK(op: CompareKernel, opName: string, a: Tensor, b: Tensor): Tensor {
  if (a.deviceResident || b.deviceResident) return deviceKernel('compare', opName, [op, opName, a, b], compareK);
  a = a.rowMajorTensor();
  b = b.rowMajorTensor();
  const shape = sameShape(a.shape, b.shape) ? [...a.shape] : broadcastShapes(opName, a.shape, b.shape);
  const out = new Uint8Array(numel(shape));
  kernel('compare', out.length, a.dtype)(op, a.typedData, broadcastStrides(a.shape, shape), b.typedData, broadcastStrides(b.shape, shape), out, shape);
  return make(out, shape, 'bool');
}

/** Reduce over the given (sorted, normalised) dims; the result keeps them as size 1. */
export function reduceK(op: ReduceKernel, x: Tensor, dims: readonly number[]): Tensor {
  if (x.deviceResident) return deviceKernel('reduce', op, [op, x, dims], reduceK);
  x = x.rowMajorTensor();
  const shape = [...x.shape];
  let data = x.typedData;
  // Reduce one dim at a time from the last, merging runs of adjacent dims into one pass.
  // (dims ascend: walked from the end, so no sorted copy is made.)
  let i = dims.length - 1;
  while (i >= 0) {
    let lo = dims[i]!;
    const hi = lo;
    while (i - 1 >= 0 && dims[i - 1] === lo - 1) {
      i--;
      lo = dims[i]!;
    }
    i--;
    let outer = 1;
    let size = 1;
    let inner = 1;
    for (let d = 0; d < shape.length; d++) {
      if (d < lo) outer *= shape[d]!;
      else if (d <= hi) size *= shape[d]!;
      else inner *= shape[d]!;
    }
    const out = allocate(x.dtype, outer * inner);
    kernel('reduce', data.length, x.dtype)(op, data, outer, size, inner, out);
    data = out;
    for (let d = lo; d <= hi; d++) shape[d] = 1;
  }
  if (dims.length === 0) data = data.slice();
  return make(data, shape, x.dtype);
}

/**
 * How gemm reads the matrices (last two dims) of x: row-major as they are, or as the transpose
 * of a row-major matrix (x is a transposed view, e.g. w.t()), in which case the product flips
 * that operand's transpose flag instead of copying. Null: neither (a copy is needed).
 */
export function matrixLayout(x: Tensor): 'rows' | 'cols' | null {
  if (x.isContiguous()) return 'rows'; // (without making the strides of a fresh tensor)
  const nd = x.ndim;
  const r = x.shape[nd - 2]!;
  const c = x.shape[nd - 1]!;
  const sr = x.strides[nd - 2]!;
  const sc = x.strides[nd - 1]!;
  if ((c === 1 || sc === 1) && (r === 1 || sr === c)) return 'rows';
  if ((r === 1 || sr === 1) && (c === 1 || sc === r)) return 'cols';
  return null;
}

/** An operand as gemm takes it: its host array, the flag it is read with, and its per-matrix strides by batch dim. */
interface GemmOperand {
  array: FloatArray;
  trans: boolean;
  offset: number;
  batchStrides: readonly number[];
}

const NO_BATCH: readonly number[] = [];

function gemmOperand(x: Tensor, trans: boolean, batchShape: readonly number[]): GemmOperand {
  let t = x;
  let layout = matrixLayout(t);
  if (layout === null) {
    t = x.rowMajorTensor();
    layout = 'rows';
  }
  // Batch dims: the view's own strides, 0 along broadcast (missing or size-1) dims.
  const nb = t.ndim - 2;
  const lead = batchShape.length - nb;
  const batchStrides = batchShape.length === 0 ? NO_BATCH : batchShape.map((_, i) => (i < lead || t.shape[i - lead] === 1 ? 0 : t.strides[i - lead]!));
  return { array: t.wholeHostArray() as FloatArray, trans: layout === 'cols' ? !trans : trans, offset: t.offset, batchStrides };
}

/**
 * Batched C = op(A)·op(B) over broadcast batch dims; A, B at least 2-D, same float dtype. A or B
 * may be strided views: a transposed matrix goes to gemm with its flag flipped (no copy), any
 * batch strides become per-item offsets; only a matrix that is neither row- nor column-major
 * (a narrowed or stepped one) is copied first.
 */
export function matmulK(a: Tensor, b: Tensor, transA: boolean, transB: boolean, batchShape: readonly number[]): Tensor {
  const ar = a.ndim;
  const br = b.ndim;
  const m = transA ? a.shape[ar - 1]! : a.shape[ar - 2]!;
  const k = transA ? a.shape[ar - 2]! : a.shape[ar - 1]!;
  const n = transB ? b.shape[br - 2]! : b.shape[br - 1]!;
  const batch = numel(batchShape);
  const out = outputArray(a.dtype, batch * m * n) as FloatArray;
  const A = gemmOperand(a, transA, batchShape);
  const B = gemmOperand(b, transB, batchShape);
  const g: GemmArgs = {
    transA: A.trans, transB: B.trans, m, n, k, a: A.array, aOffset: A.offset, b: B.array, bOffset: B.offset, c: out, cOffset: 0, accumulate: false,
  };
  if (ar === 2 && br === 2) {
    // The common case (every Linear layer): one product, no batch bookkeeping.
    kernel('gemm', m * n * k, a.dtype)(g);
    return make(out, [m, n], a.dtype);
  }
  // Where each item's A and B start (a broadcast operand repeats its offsets).
  const [aOffsets, bOffsets] = batchOffsets(batchShape, A.offset, A.batchStrides, B.offset, B.batchStrides);
  gemmEach(g, aOffsets, bOffsets);
  return make(out, [...batchShape, m, n], a.dtype);
}

/**
 * aOffsets.length products of g's shape and layout: item i is C at g.cOffset + i·m·n (+)=
 * op(A at aOffsets[i])·op(B at bOffsets[i]). One gemmBatched call (one gemm for a single
 * item). g is used as scratch.
 */
export function gemmEach(g: GemmArgs, aOffsets: Int32Array, bOffsets: Int32Array): void {
  const work = g.m * g.n * g.k;
  const dtype = g.c instanceof Float32Array ? 'float32' : 'float64';
  if (aOffsets.length !== 1) return kernel('gemmBatched', work, dtype)(g, aOffsets, bOffsets);
  g.aOffset = aOffsets[0]!;
  g.bOffset = bOffsets[0]!;
  kernel('gemm', work, dtype)(g);
}

export function expandK(x: Tensor, shape: readonly number[]): Tensor {
  x = x.rowMajorTensor();
  const out = allocate(x.dtype, numel(shape));
  kernel('stridedCopy', out.length, x.dtype)(x.typedData, shape, broadcastStrides(x.shape, shape), 0, out);
  return make(out, shape, x.dtype);
}

/** Zeros of `shape` with g written into the slice [start:end:step] along dim (slice's adjoint). */
export function sliceScatterK(g: Tensor, shape: readonly number[], dim: number, start: number, step: number): Tensor {
  g = g.rowMajorTensor();
  const strides = contiguousStrides(shape);
  const gStrides = [...strides];
  gStrides[dim] = strides[dim]! * step;
  const out = allocate(g.dtype, numel(shape));
  kernel('stridedWrite', g.typedData.length, g.dtype)(out, g.shape, gStrides, start * strides[dim]!, g.typedData);
  return make(out, shape, g.dtype);
}

export function catK(xs: readonly Tensor[], dim: number): Tensor {
  xs = xs.map((t) => t.rowMajorTensor());
  const shape = [...xs[0]!.shape];
  shape[dim] = xs.reduce((s, t) => s + t.shape[dim]!, 0);
  const out = allocate(xs[0]!.dtype, numel(shape));
  kernel('cat', out.length, xs[0]!.dtype)(xs.map((t) => t.typedData), numel(shape.slice(0, dim)), out);
  return make(out, shape, xs[0]!.dtype);
}

/** out = where(cond, a, b) with broadcasting of all three. */
export function whereK(cond: Tensor, a: Tensor, b: Tensor, shape: readonly number[]): Tensor {
  if (cond.deviceResident || a.deviceResident || b.deviceResident) {
    return deviceKernel('where', 'where', [cond, a, b, shape], whereK);
  }
  cond = cond.rowMajorTensor();
  a = a.rowMajorTensor();
  b = b.rowMajorTensor();
  const out = allocate(a.dtype, numel(shape));
  const cs = broadcastStrides(cond.shape, shape);
  kernel('where', out.length, a.dtype)(cond.typedData, cs, a.typedData, broadcastStrides(a.shape, shape), b.typedData, broadcastStrides(b.shape, shape), out, shape);
  return make(out, shape, a.dtype);
}

/** Rows (along dim) of x picked by index; index is 1-D int32, already range-checked. */
export function indexSelectK(x: Tensor, dim: number, index: Tensor): Tensor {
  x = x.rowMajorTensor();
  index = index.rowMajorTensor();
  const idx = index.typedData as Int32Array;
  const shape = [...x.shape];
  shape[dim] = idx.length;
  const outer = numel(x.shape.slice(0, dim));
  const inner = numel(x.shape.slice(dim + 1));
  const out = outputArray(x.dtype, numel(shape)); // every element is written below
  // Rows of a float32 table (a dataset's batch, an embedding): the row-gather kernel.
  if (outer === 1 && out instanceof Float32Array) {
    kernel('gatherRowsF32', idx.length * inner, x.dtype)(x.typedData as Float32Array, inner, idx, out);
  } else {
    kernel('indexSelect', out.length, x.dtype)(x.typedData, outer, x.shape[dim]!, inner, idx, out);
  }
  return make(out, shape, x.dtype);
}

/** self with src's rows added at the positions in index along dim (indexSelect's adjoint). */
export function indexAddK(self: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  self = self.rowMajorTensor();
  index = index.rowMajorTensor();
  src = src.rowMajorTensor();
  const out = self.typedData.slice();
  const outer = numel(self.shape.slice(0, dim));
  const inner = numel(self.shape.slice(dim + 1));
  kernel('indexAdd', src.typedData.length, self.dtype)(out, outer, self.shape[dim]!, inner, index.typedData as Int32Array, src.typedData);
  return make(out, self.shape, self.dtype);
}

/** out[i][j][k] = x[index[i][j][k]][j][k] (for dim 0), and so on; index range-checked. */
export function gatherK(x: Tensor, dim: number, index: Tensor): Tensor {
  x = x.rowMajorTensor();
  index = index.rowMajorTensor();
  const out = allocate(x.dtype, index.typedData.length);
  const xs = contiguousStrides(x.shape);
  const base = xs.map((s, d) => (d === dim ? 0 : s));
  kernel('gather', out.length, x.dtype)(x.typedData, base, xs[dim]!, index.typedData as Int32Array, index.shape, out);
  return make(out, index.shape, x.dtype);
}

/** self with src[i][j][k] added at self[index[i][j][k]][j][k] (gather's adjoint). */
export function scatterAddK(self: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  self = self.rowMajorTensor();
  index = index.rowMajorTensor();
  src = src.rowMajorTensor();
  const out = self.typedData.slice();
  const ss = contiguousStrides(self.shape);
  const base = ss.map((s, d) => (d === dim ? 0 : s));
  // src is read at the same multi-index as index (src may be larger than index).
  kernel('scatterAdd', index.typedData.length, self.dtype)(out, base, ss[dim]!, index.typedData as Int32Array, index.shape, src.typedData, contiguousStrides(src.shape));
  return make(out, self.shape, self.dtype);
}

/** Zeros, in host memory, or on the device of `like` when given (a rule's result beside its gradient). */
export function zerosK(shape: readonly number[], dtype: DType, like?: Tensor): Tensor {
  return onDeviceOf(make(allocate(dtype, numel(shape)), shape, dtype), like);
}

/** `value` everywhere, in host memory, or on the device of `like` when given. */
export function fullK(shape: readonly number[], value: number, dtype: DType, like?: Tensor): Tensor {
  const data = allocate(dtype, numel(shape));
  if (!Object.is(value, 0)) kernel('fill', data.length, dtype)(data, value, 0, data.length);
  return onDeviceOf(make(data, shape, dtype), like);
}

function onDeviceOf(t: Tensor, like: Tensor | undefined): Tensor {
  return like === undefined || like.deviceResident === false ? t : t.to(like.storage.device);
}
