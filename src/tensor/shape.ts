import { IndexError, ShapeError, fmtShape } from '../errors.js';

export type Shape = readonly number[];

export function numel(shape: Shape): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i]!;
  return n;
}

/** Row-major (C-order) element strides. */
export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

export function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** NumPy broadcasting: align trailing dims; each pair must be equal or contain a 1. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  // Common case (bias add, scalar ops): one shape already is the result.
  if (fitsInto(b, a)) return a as number[];
  if (fitsInto(a, b)) return b as number[];
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(
        `${op}: shapes ${fmtShape(a)} and ${fmtShape(b)} cannot be broadcast: dim ${i} (from the right: ${n - i}) is ${da} against ${db}`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Whether `small` broadcasts to exactly `big` (every trailing dim equal or 1). */
function fitsInto(small: Shape, big: Shape): boolean {
  const off = big.length - small.length;
  if (off < 0) return false;
  for (let i = 0; i < small.length; i++) {
    const d = small[i]!;
    if (d !== 1 && d !== big[i + off]) return false;
  }
  return true;
}

/** Strides of `shape` when read as the broadcast `outShape` (0 along broadcast dims). */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const offset = outShape.length - shape.length;
  const strides = new Array<number>(outShape.length);
  let s = 1;
  for (let i = outShape.length - 1; i >= 0; i--) {
    const d = i >= offset ? shape[i - offset]! : 1;
    strides[i] = d === 1 ? 0 : s;
    s *= d;
  }
  return strides;
}

/** Turn a possibly negative dim into 0..ndim-1, or say which dim was out of range. */
export function normalizeDim(op: string, dim: number, ndim: number): number {
  const lo = -Math.max(ndim, 1);
  const hi = Math.max(ndim, 1) - 1;
  if (!Number.isInteger(dim) || dim < lo || dim > hi) {
    throw new IndexError(`${op}: dim ${dim} is out of range for a tensor with ${ndim} dims (valid: ${lo} to ${hi})`);
  }
  return dim < 0 ? dim + Math.max(ndim, 1) : dim;
}

/** Normalize a dim list (undefined = all dims); sorted, unique. */
export function normalizeDims(op: string, dims: number | readonly number[] | undefined, ndim: number): number[] {
  if (dims === undefined) {
    const all = new Array<number>(ndim);
    for (let i = 0; i < ndim; i++) all[i] = i;
    return all;
  }
  if (typeof dims === 'number') return [normalizeDim(op, dims, ndim)];
  const list = typeof dims === 'number' ? [dims] : dims;
  const out = list.map((d) => normalizeDim(op, d, ndim));
  const set = new Set(out);
  if (set.size !== out.length) throw new IndexError(`${op}: dim list [${list.join(',')}] repeats a dim`);
  return [...set].sort((x, y) => x - y);
}

/** Resolve a shape with at most one -1 against a known element count. */
export function inferShape(op: string, from: Shape, shape: readonly number[]): number[] {
  const total = numel(from);
  let unknown = -1;
  let known = 1;
  shape.forEach((d, i) => {
    if (d === -1) {
      if (unknown >= 0) throw new ShapeError(`${op}: only one dim can be -1, got ${fmtShape(shape)}`);
      unknown = i;
    } else if (!Number.isInteger(d) || d < 0) {
      throw new ShapeError(`${op}: invalid size ${d} in shape ${fmtShape(shape)}`);
    } else known *= d;
  });
  const out = [...shape];
  if (unknown >= 0) {
    if (known === 0 || total % known !== 0) {
      throw new ShapeError(`${op}: shape ${fmtShape(shape)} is invalid for input of shape ${fmtShape(from)} (${total} elements)`);
    }
    out[unknown] = total / known;
  } else if (known !== total) {
    throw new ShapeError(`${op}: shape ${fmtShape(shape)} is invalid for input of shape ${fmtShape(from)} (${total} elements)`);
  }
  return out;
}

/**
 * Whether strides lay a tensor of `shape` out row-major with no gaps (dims of size 1 may have
 * any stride, as in PyTorch, since they are never stepped along).
 */
export function isContiguousLayout(shape: Shape, strides: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const n = shape[i]!;
    if (n === 1) continue;
    if (n === 0) return true;
    if (strides[i] !== expected) return false;
    expected *= n;
  }
  return true;
}

/**
 * Strides that let a tensor of (shape, strides) be read as `newShape` without moving an element,
 * or null when none exist and a copy is needed (PyTorch's view rule). The old dims split into
 * chunks, each laid out contiguously within itself; a run of new dims must cover each chunk
 * exactly, and its strides then follow from the chunk's innermost stride.
 */
export function viewStrides(shape: Shape, strides: readonly number[], newShape: Shape): number[] | null {
  if (numel(shape) === 0 || shape.length === 0) return contiguousStrides(newShape);
  const out = new Array<number>(newShape.length);
  let v = newShape.length - 1;
  let base = strides[shape.length - 1]!;
  let oldCount = 1;
  let newCount = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    oldCount *= shape[d]!;
    const chunkEnds = d === 0 || (shape[d - 1] !== 1 && strides[d - 1] !== oldCount * base);
    if (!chunkEnds) continue;
    while (v >= 0 && (newCount < oldCount || newShape[v] === 1)) {
      out[v] = newCount * base;
      newCount *= newShape[v]!;
      v--;
    }
    if (newCount !== oldCount) return null;
    if (d > 0) {
      base = strides[d - 1]!;
      oldCount = 1;
      newCount = 1;
    }
  }
  return v === -1 ? out : null;
}

/**
 * Where each item of a batched product starts in its two operands: the base offset plus the
 * item's batch index times the operand's batch strides (0 along a broadcast dim), items in
 * row-major order over batchShape.
 */
export function batchOffsets(
  batchShape: readonly number[], aOffset: number, aStrides: readonly number[], bOffset: number, bStrides: readonly number[],
): [Int32Array, Int32Array] {
  const batch = numel(batchShape);
  const aOffsets = new Int32Array(batch);
  const bOffsets = new Int32Array(batch);
  const idx = new Array<number>(batchShape.length).fill(0);
  for (let bi = 0; bi < batch; bi++) {
    let ao = aOffset;
    let bo = bOffset;
    for (let d = 0; d < idx.length; d++) {
      ao += idx[d]! * aStrides[d]!;
      bo += idx[d]! * bStrides[d]!;
    }
    aOffsets[bi] = ao;
    bOffsets[bi] = bo;
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d]! < batchShape[d]!) break;
      idx[d] = 0;
    }
  }
  return [aOffsets, bOffsets];
}
