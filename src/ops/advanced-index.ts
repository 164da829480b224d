import { DTypeError, IndexError, ShapeError, fmtShape } from '../errors.js';
import { broadcastShapes, broadcastStrides, numel } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { defineOp } from './define.js';
import { mul, where } from './functional.js';
import { fullK } from './kernels.js';
import { expand, indexAdd, indexSelect, permute, reshape } from './shape-functional.js';

/**
 * Indexing with tensors, PyTorch's `x[i, j]` and `x[i, j] = v`: x.index([i, j]) reads and
 * indexPut(x, [i, j], v) / x.indexPut_([i, j], v) write. Each entry indexes one leading dim
 * and is an int32 tensor (negative values count from the end), a bool mask over that dim, or
 * null for the whole dim (`:`); the index tensors broadcast together. As in PyTorch, the
 * broadcast index dims take the place of the indexed dims when those are adjacent, and come
 * first otherwise. Reading is indexSelect on the indexed dims flattened, so its gradient is a
 * scatter-add (indexAdd); writing is indexAdd as well, so values and x get their gradients.
 */

export type IndexEntry = Tensor | null;

interface Plan {
  /** The indexed dims, in order, and the others. */
  indexed: number[];
  rest: number[];
  /** Row of x (its indexed dims flattened, first) for every broadcast index position. */
  rows: Int32Array;
  bshape: number[];
  /** Where the broadcast dims go in the result: at the first indexed dim, or first (0). */
  at: number;
}

function plan(op: string, x: Tensor, indices: readonly IndexEntry[]): Plan {
  if (!Array.isArray(indices)) throw new IndexError(`${op}: indices must be a list (one entry per leading dim: an int32 tensor, a bool mask or null)`);
  if (indices.length > x.ndim) {
    throw new IndexError(`${op}: ${indices.length} indices for a tensor of shape ${fmtShape(x.shape)} (${x.ndim} dims)`);
  }
  // A bool mask over dim d becomes the int32 positions where it is true.
  const entries: (Tensor | null)[] = indices.map((t, d) => {
    if (t === null || t === undefined) return null;
    if (!(t instanceof Tensor)) throw new IndexError(`${op}: index ${d} must be a tensor or null, got ${typeof t}`);
    if (t.dtype === 'bool') {
      if (t.ndim !== 1 || t.shape[0] !== x.shape[d]) {
        throw new IndexError(`${op}: a bool mask must be 1-D and match dim ${d} (size ${x.shape[d]}), got shape ${fmtShape(t.shape)}`);
      }
      const m = t.dataSync();
      const pos: number[] = [];
      for (let i = 0; i < m.length; i++) if (m[i]) pos.push(i);
      return new Tensor(Int32Array.from(pos), [pos.length], 'int32');
    }
    if (t.dtype !== 'int32') throw new DTypeError(`${op}: index ${d} must be an int32 (or bool) tensor, got ${t.dtype}`);
    return t;
  });
  const indexed = entries.map((t, d) => (t ? d : -1)).filter((d) => d >= 0);
  if (indexed.length === 0) throw new IndexError(`${op}: no index tensor given (all entries are null)`);
  const rest = x.shape.map((_, d) => d).filter((d) => !indexed.includes(d));
  let bshape: number[] = [];
  for (const d of indexed) {
    try {
      bshape = broadcastShapes(op, bshape, entries[d]!.shape);
    } catch {
      throw new ShapeError(`${op}: index shapes ${indexed.map((k) => fmtShape(entries[k]!.shape)).join(', ')} do not broadcast together`);
    }
  }
  const count = numel(bshape);
  const rows = new Int32Array(count);
  let stride = 1;
  for (let k = indexed.length - 1; k >= 0; k--) {
    const d = indexed[k]!;
    const size = x.shape[d]!;
    const t = entries[d]!;
    const values = t.dataSync();
    const strides = broadcastStrides(t.shape, bshape);
    const idx = new Array<number>(bshape.length).fill(0);
    let off = 0;
    for (let p = 0; p < count; p++) {
      let v = values[off]!;
      if (v < -size || v >= size) {
        throw new IndexError(`${op}: index ${v} is out of range for dim ${d} of size ${size} (shape ${fmtShape(x.shape)}; valid: ${-size} to ${size - 1})`);
      }
      if (v < 0) v += size;
      rows[p] = rows[p]! + v * stride;
      for (let j = bshape.length - 1; j >= 0; j--) {
        off += strides[j]!;
        if (++idx[j]! < bshape[j]!) break;
        off -= strides[j]! * bshape[j]!;
        idx[j] = 0;
      }
    }
    stride *= size;
  }
  const adjacent = indexed.every((d, k) => k === 0 || d === indexed[k - 1]! + 1);
  return { indexed, rest, rows, bshape, at: adjacent ? indexed[0]! : 0 };
}

/** x with its indexed dims first and flattened into one: [rows, ...rest]. */
function flattened(x: Tensor, p: Plan): Tensor {
  const moved = permute(x, [...p.indexed, ...p.rest]);
  return reshape(moved, [numel(p.indexed.map((d) => x.shape[d]!)), ...p.rest.map((d) => x.shape[d]!)]);
}

/** The permutation taking [...bshape, ...rest] to the result's dim order. */
function resultPerm(p: Plan): number[] {
  const nb = p.bshape.length;
  const restDims = p.rest.map((_, k) => nb + k);
  const bDims = p.bshape.map((_, k) => k);
  return [...restDims.slice(0, p.at), ...bDims, ...restDims.slice(p.at)];
}

/** x[i, j, ...] with index tensors (PyTorch's advanced indexing); gradient by scatter-add. */
export const index = defineOp(
  (input: Tensor, indices: readonly IndexEntry[]): Tensor => {
    const p = plan('index', input, indices);
    const picked = indexSelect(flattened(input, p), 0, new Tensor(p.rows, [p.rows.length], 'int32'));
    const out = reshape(picked, [...p.bshape, ...p.rest.map((d) => input.shape[d]!)]);
    return permute(out, resultPerm(p));
  },
  {
    index(this: Tensor, indices: readonly IndexEntry[]): Tensor {
      return index(this, indices);
    },
  },
);

/**
 * A copy of input with values written at x[indices] (PyTorch's index_put; `x[i, j] = v`):
 * values broadcast to the shape x.index(indices) has. With accumulate the values are added
 * (repeated positions add up); without, a position given more than once keeps the last value.
 */
export const indexPut = defineOp(
  (input: Tensor, indices: readonly IndexEntry[], values: Tensor | number, accumulate = false): Tensor => {
    const p = plan('indexPut', input, indices);
    const resultShape = resultPerm(p).map((k) => [...p.bshape, ...p.rest.map((d) => input.shape[d]!)][k]!);
    const v = typeof values === 'number' ? fullK([], values, input.dtype) : values.to(input.dtype);
    try {
      broadcastShapes('indexPut', v.shape, resultShape);
    } catch {
      throw new ShapeError(`indexPut: values of shape ${fmtShape(v.shape)} do not broadcast to the indexed shape ${fmtShape(resultShape)}`);
    }
    if (broadcastShapes('indexPut', v.shape, resultShape).some((s, i) => s !== resultShape[i]) || v.ndim > resultShape.length) {
      throw new ShapeError(`indexPut: values of shape ${fmtShape(v.shape)} do not broadcast to the indexed shape ${fmtShape(resultShape)}`);
    }
    // values in the flattened layout [rows, ...rest]
    const inverse = new Array<number>(resultShape.length);
    resultPerm(p).forEach((k, i) => (inverse[k] = i));
    const vRows = reshape(permute(expand(v, resultShape), inverse), [p.rows.length, ...p.rest.map((d) => input.shape[d]!)]);
    const flat = flattened(input, p);
    const nRows = flat.shape[0]!;
    let updated: Tensor;
    if (accumulate) {
      updated = indexAdd(flat, 0, new Tensor(p.rows, [p.rows.length], 'int32'), vRows);
    } else {
      // Keep the last write to each row; clear the rows written, then add the kept values.
      const last = new Map<number, number>();
      p.rows.forEach((r, k) => last.set(r, k));
      const keptRows = Int32Array.from(last.keys());
      const keptFrom = Int32Array.from(last.values());
      const cleared = new Uint8Array(nRows);
      keptRows.forEach((r) => (cleared[r] = 1));
      const keepShape = [nRows, ...p.rest.map(() => 1)];
      const base = where(new Tensor(cleared, keepShape, 'bool'), mul(flat, 0), flat);
      const kept = indexSelect(vRows, 0, new Tensor(keptFrom, [keptFrom.length], 'int32'));
      updated = indexAdd(base, 0, new Tensor(keptRows, [keptRows.length], 'int32'), kept);
    }
    const order = [...p.indexed, ...p.rest];
    const back = new Array<number>(order.length);
    order.forEach((d, i) => (back[d] = i));
    return permute(reshape(updated, order.map((d) => input.shape[d]!)), back);
  },
);
