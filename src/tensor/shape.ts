import { IndexError, ShapeError, fmtShape } from '../errors.js';

export type Shape = readonly number[];

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
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
