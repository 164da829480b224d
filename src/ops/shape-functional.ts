import { DTypeError, IndexError, ShapeError, ValueError, fmtShape } from '../errors.js';
import { promoteTypes, type DType } from '../tensor/dtype.js';
import { checkInt, checkShape, describe } from '../tensor/checks.js';
import { inferShape, normalizeDim, normalizeDims, numel, sameShape, viewStrides } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { SELF, defineOp } from './define.js';
import { apply } from './registry.js';
import type { Dims } from './functional.js';

/**
 * Shape and indexing functions over the primitives (reshape, permute, expand, cat, slice,
 * gather, ...): argument checks whose messages name the op, the shapes and the valid range.
 * Each is one defineOp entry (see define.ts): the function, its Tensor method(s), its export.
 */

/** reshape(2, 3) and reshape([2, 3]) both: PyTorch's methods take the shape as varargs or one list. */
const flat = (args: (number | readonly number[])[]): number[] =>
  args.length === 1 && typeof args[0] !== 'number' ? [...args[0]!] : (args as number[]);
type ShapeArgs = (number | readonly number[])[];

// ---- shape ---------------------------------------------------------------------------------

export const reshape = defineOp(function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const resolved = inferShape('reshape', x.shape, shape);
  if (sameShape(resolved, x.shape)) return x;
  return apply('reshape', [x], { shape: resolved });
}, {
  reshape(this: Tensor, ...shape: ShapeArgs): Tensor {
    return reshape(this, flat(shape));
  },
  viewAs(this: Tensor, other: Tensor): Tensor {
    return reshape(this, other.shape);
  },
});

/**
 * reshape that never copies: the result shares x's storage, or, where x's strides allow no such
 * view (e.g. flattening a transposed matrix), an error that says to use reshape() (PyTorch's rule).
 */
export const view = defineOp(function view(x: Tensor, shape: readonly number[]): Tensor {
  const resolved = inferShape('view', x.shape, shape);
  if (!x.isContiguous() && viewStrides(x.shape, x.strides, resolved) === null) {
    throw new ShapeError(
      `view: a tensor of shape ${fmtShape(x.shape)} with strides [${x.strides.join(', ')}] cannot be viewed as ${fmtShape(resolved)} ` +
        'without copying (its dims are not laid out contiguously); use reshape(), or contiguous() first',
    );
  }
  return reshape(x, resolved);
}, {
  view(this: Tensor, ...shape: ShapeArgs): Tensor {
    return view(this, flat(shape));
  },
});

/** x itself when its elements are row-major in its storage, else a contiguous copy (gradient flows through). */
export const contiguous = defineOp(function contiguous(x: Tensor): Tensor {
  return x.isContiguous() ? x : apply('contiguous', [x], {});
}, { contiguous: SELF });

/**
 * The diagonal of dims dim1 and dim2 (offset > 0: above it, < 0: below), as a view: those two
 * dims go and a last dim of the diagonal's length comes (PyTorch's torch.diagonal).
 */
export const diagonal = defineOp(function diagonal(x: Tensor, offset = 0, dim1 = 0, dim2 = 1): Tensor {
  if (x.ndim < 2) throw new ShapeError(`diagonal: needs a tensor of at least 2 dims, got shape ${fmtShape(x.shape)}`);
  if (!Number.isInteger(offset)) throw new ValueError(`diagonal: offset must be an integer, got ${offset}`);
  const d1 = normalizeDim('diagonal', dim1, x.ndim);
  const d2 = normalizeDim('diagonal', dim2, x.ndim);
  if (d1 === d2) throw new IndexError(`diagonal: dim1 and dim2 are both dim ${d1}; they must differ`);
  return apply('diagonal', [x], { offset, dim1: d1, dim2: d2 });
}, { diagonal: SELF });

export const permute = defineOp(function permute(x: Tensor, dims: readonly number[]): Tensor {
  if (dims.length !== x.ndim) {
    throw new ShapeError(`permute: got ${dims.length} dims [${dims.join(',')}] for a tensor of shape ${fmtShape(x.shape)} (${x.ndim} dims)`);
  }
  const perm = dims.map((d) => normalizeDim('permute', d, x.ndim));
  if (new Set(perm).size !== perm.length) throw new IndexError(`permute: dims [${dims.join(',')}] repeat a dim`);
  if (perm.every((p, i) => p === i)) return x;
  return apply('permute', [x], { perm });
}, {
  permute(this: Tensor, ...dims: ShapeArgs): Tensor {
    return permute(this, flat(dims));
  },
});

export const transpose = defineOp(function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const a = normalizeDim('transpose', dim0, x.ndim);
  const b = normalizeDim('transpose', dim1, x.ndim);
  if (x.ndim === 0) return x;
  const perm = x.shape.map((_, i) => i);
  perm[a] = b;
  perm[b] = a;
  return permute(x, perm);
}, {
  transpose: SELF,
  t(this: Tensor): Tensor {
    if (this.ndim > 2) throw new ShapeError(`t: expects a tensor with at most 2 dims, got shape ${fmtShape(this.shape)}; use transpose(dim0, dim1)`);
    return this.ndim < 2 ? this : transpose(this, 0, 1);
  },
});

export const expand = defineOp(function expand(x: Tensor, shape: readonly number[]): Tensor {
  checkShape('expand', shape.map((s) => (s === -1 ? 0 : s)));
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
}, {
  expand(this: Tensor, ...shape: ShapeArgs): Tensor {
    return expand(this, flat(shape));
  },
  expandAs(this: Tensor, other: Tensor): Tensor {
    return expand(this, other.shape);
  },
});

export const squeeze = defineOp(function squeeze(x: Tensor, dim?: Dims): Tensor {
  if (dim === undefined) return reshape(x, x.shape.filter((s) => s !== 1));
  const dims = normalizeDims('squeeze', dim, x.ndim);
  return reshape(x, x.shape.filter((s, i) => !(dims.includes(i) && s === 1)));
}, { squeeze: SELF });

export const unsqueeze = defineOp(function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normalizeDim('unsqueeze', dim, x.ndim + 1);
  const shape = [...x.shape];
  shape.splice(d, 0, 1);
  return apply('reshape', [x], { shape });
}, { unsqueeze: SELF });

export const flatten = defineOp(function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normalizeDim('flatten', startDim, x.ndim);
  const e = normalizeDim('flatten', endDim, x.ndim);
  if (s > e) throw new IndexError(`flatten: startDim ${startDim} comes after endDim ${endDim}`);
  const shape = [...x.shape.slice(0, s), numel(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)];
  return reshape(x, shape);
}, { flatten: SELF });

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

/** A slice bound: an integer, or ±Infinity for "to the end" (a fraction or NaN has no meaning). */
function checkBound(op: string, name: string, v: number): void {
  if (!(Number.isInteger(v) || v === Infinity || v === -Infinity)) throw new IndexError(`${op}: ${name} must be an integer, got ${describe(v)}`);
}

/** Shape ops that pick along a dim have no dim to pick along in a 0-d tensor. */
function needsDims(op: string, x: Tensor): void {
  if (x.ndim === 0) throw new IndexError(`${op}: cannot be applied to a 0-d tensor`);
}

/** Copy of x[start:end:step] along dim, with Python's rules for negative and out-of-range bounds. */
export const slice = defineOp(function slice(x: Tensor, dim: number, start = 0, end: number = Number.MAX_SAFE_INTEGER, step = 1): Tensor {
  needsDims('slice', x);
  const d = normalizeDim('slice', dim, x.ndim);
  if (!Number.isInteger(step) || step <= 0) throw new ValueError(`slice: step must be a positive integer, got ${step}`);
  checkBound('slice', 'start', start);
  checkBound('slice', 'end', end);
  const n = x.shape[d]!;
  const clampIdx = (i: number) => Math.min(n, Math.max(0, i < 0 ? i + n : i));
  const s = clampIdx(start);
  const e = Math.max(s, clampIdx(end));
  if (s === 0 && e === n && step === 1) return x;
  return apply('slice', [x], { dim: d, start: s, end: e, step });
}, { slice: SELF });

export const narrow = defineOp(function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  needsDims('narrow', x);
  const d = normalizeDim('narrow', dim, x.ndim);
  const n = x.shape[d]!;
  checkInt('narrow', 'start', start, { index: true });
  checkInt('narrow', 'length', length, { index: true });
  const s = start < 0 ? start + n : start;
  if (s < 0 || s > n || length < 0 || s + length > n) {
    throw new IndexError(`narrow: start ${start} and length ${length} go outside dim ${d} of size ${n} (shape ${fmtShape(x.shape)})`);
  }
  return slice(x, d, s, s + length);
}, { narrow: SELF });

export const select = defineOp(function select(x: Tensor, dim: number, index: number): Tensor {
  needsDims('select', x);
  const d = normalizeDim('select', dim, x.ndim);
  const n = x.shape[d]!;
  if (!Number.isInteger(index) || index < -n || index >= n) {
    throw new IndexError(`select: index ${index} is out of range for dim ${d} of size ${n} (valid: ${-n} to ${n - 1})`);
  }
  const i = index < 0 ? index + n : index;
  return squeeze(slice(x, d, i, i + 1), d);
}, { select: SELF });

export const split = defineOp(function split(x: Tensor, sizes: number | readonly number[], dim = 0): Tensor[] {
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
    list.forEach((v, i) => checkInt('split', `size ${i}`, v, { min: 0 }));
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
}, { split: SELF });

export const chunk = defineOp(function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  if (!Number.isInteger(chunks) || chunks <= 0) throw new ValueError(`chunk: chunks must be a positive integer, got ${chunks}`);
  needsDims('chunk', x);
  const d = normalizeDim('chunk', dim, x.ndim);
  const size = Math.ceil(x.shape[d]! / chunks);
  return split(x, Math.max(size, 1), d);
}, { chunk: SELF });

// ---- indexing ------------------------------------------------------------------------------

function checkIndex(op: string, index: Tensor, size: number, dim: number): Tensor {
  if (index.dtype !== 'int32') throw new DTypeError(`${op}: index must be an int32 tensor, got ${index.dtype}`);
  const values = index.dataSync();
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < 0 || v >= size) {
      throw new IndexError(`${op}: index ${v} (at position ${i}) is out of range for dim ${dim} of size ${size} (valid: 0 to ${size - 1})`);
    }
  }
  return index;
}

export const indexSelect = defineOp(function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  const d = normalizeDim('indexSelect', dim, x.ndim);
  if (x.ndim === 0) {
    if (index.numel() !== 1) throw new ShapeError(`indexSelect: a 0-d tensor takes exactly one index, got shape ${fmtShape(index.shape)}`);
    return indexSelect(reshape(x, [1]), 0, reshape(index, [1])).reshape([]);
  }
  if (index.ndim > 1) throw new ShapeError(`indexSelect: index must be 0-D or 1-D, got shape ${fmtShape(index.shape)}`);
  checkIndex('indexSelect', index, x.shape[d]!, d);
  return apply('indexSelect', [x, index.reshape([-1])], { dim: d });
}, { indexSelect: SELF });

/** self + src's rows added at positions `index` along dim (indexSelect's adjoint). */
export const indexAdd = defineOp(function indexAdd(self: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  const d = normalizeDim('indexAdd', dim, self.ndim);
  checkIndex('indexAdd', index, self.shape[d]!, d);
  const expected = self.shape.map((s, i) => (i === d ? index.numel() : s));
  if (!sameShape(src.shape, expected)) {
    throw new ShapeError(`indexAdd: src has shape ${fmtShape(src.shape)}, expected ${fmtShape(expected)} for ${index.numel()} indices into ${fmtShape(self.shape)} along dim ${d}`);
  }
  return apply('indexAdd', [self, index.reshape([-1]), src.to(self.dtype)], { dim: d });
}, { indexAdd: SELF });

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

export const gather = defineOp(function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  const d = normalizeDim('gather', dim, x.ndim);
  if (x.ndim === 0 && index.ndim === 0) return gather(reshape(x, [1]), 0, reshape(index, [1])).reshape([]);
  checkGatherShapes('gather', x, d, index);
  checkIndex('gather', index, x.shape[d]!, d);
  return apply('gather', [x, index], { dim: d });
}, { gather: SELF });

export const scatterAdd = defineOp(function scatterAdd(self: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  const d = normalizeDim('scatterAdd', dim, self.ndim);
  if (self.ndim === 0 && index.ndim === 0 && src.ndim === 0) {
    return scatterAdd(reshape(self, [1]), 0, reshape(index, [1]), reshape(src, [1])).reshape([]);
  }
  checkGatherShapes('scatterAdd', self, d, index, src);
  checkIndex('scatterAdd', index, self.shape[d]!, d);
  return apply('scatterAdd', [self, index, src.to(self.dtype)], { dim: d });
}, { scatterAdd: SELF });

