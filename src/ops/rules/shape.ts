import { catK, sliceScatterK } from '../kernels.js';
import type { OpAttrs, OpRule } from '../registry.js';
import { unbroadcast } from '../unbroadcast.js';
import { Tensor } from '../../tensor/tensor.js';
import { viewStrides } from '../../tensor/shape.js';
import { diagonalScatter, sliceScatter } from '../internal.js';

type Rules<K extends keyof OpAttrs> = { [P in K]: OpRule<OpAttrs[P]> };

/** A view of x's storage: no element moves (PyTorch's as_strided, for the view ops below only). */
function viewOf(x: Tensor, shape: readonly number[], strides: readonly number[], offset: number): Tensor {
  return new Tensor(x.storage, shape, x.dtype, strides, offset);
}

/**
 * The view ops: each forward makes a view sharing its input's storage (strides and offset
 * chosen so that element [i, j, ...] of the result is the input element it names), so no data
 * moves, and in-place writes through the view change the input. Their backward passes are
 * ordinary ops (a view of the gradient, or a scatter of it into zeros).
 */
export const shapeRules: Rules<
  'reshape' | 'permute' | 'expand' | 'cat' | 'slice' | 'sliceScatter' | 'contiguous' | 'diagonal' | 'diagonalScatter'
> = {
  reshape: {
    strided: true,
    // A view when the strides allow one (always, for a contiguous input), else a copy, as PyTorch.
    forward: (_c, [x], { shape }) => {
      if (x!.isContiguous()) return new Tensor(x!.storage, shape, x!.dtype, undefined, x!.offset);
      const strides = viewStrides(x!.shape, x!.strides, shape);
      return strides ? viewOf(x!, shape, strides, x!.offset) : new Tensor(x!.rowMajor(false), shape, x!.dtype);
    },
    backward: (c, g) => [g.reshape([...c.inputShapes[0]!])],
  },
  permute: {
    strided: true,
    forward: (_c, [x], { perm }) =>
      viewOf(x!, perm.map((p) => x!.shape[p]!), perm.map((p) => x!.strides[p]!), x!.offset),
    backward: (_c, g, { perm }) => {
      const inverse = new Array<number>(perm.length);
      perm.forEach((p, i) => (inverse[p] = i));
      return [g.permute(inverse)];
    },
  },
  expand: {
    strided: true,
    // Broadcast dims (new leading ones, and size 1 stretched) step by 0: every index reads the one element.
    forward: (_c, [x], { shape }) => {
      const lead = shape.length - x!.ndim;
      const strides = shape.map((s, i) => (i < lead || (x!.shape[i - lead] === 1 && s !== 1) ? 0 : x!.strides[i - lead]!));
      return viewOf(x!, shape, strides, x!.offset);
    },
    backward: (c, g) => [unbroadcast(g, c.inputShapes[0]!)],
  },
  cat: {
    forward: (_c, xs, { dim }) => catK(xs, dim),
    backward: (c, g, { dim }) => {
      let start = 0;
      return c.inputShapes.map((s, i) => {
        const len = s[dim]!;
        const piece = c.needsInputGrad[i] ? g.narrow(dim, start, len) : null;
        start += len;
        return piece;
      });
    },
  },
  slice: {
    strided: true,
    forward: (_c, [x], { dim, start, end, step }) => {
      const shape = [...x!.shape];
      shape[dim] = Math.max(0, Math.ceil((end - start) / step));
      const strides = [...x!.strides];
      strides[dim] = x!.strides[dim]! * step;
      return viewOf(x!, shape, strides, x!.offset + start * x!.strides[dim]!);
    },
    backward: (c, g, { dim, start, step }) => [sliceScatter(g, [...c.inputShapes[0]!], dim, start, step)],
  },
  sliceScatter: {
    forward: (_c, [g], { shape, dim, start, step }) => sliceScatterK(g!, shape, dim, start, step),
    backward: (c, g, { dim, start, step }) => {
      const len = c.inputShapes[0]![dim]!;
      return [g.slice(dim, start, start + len * step, step)];
    },
  },
  contiguous: {
    strided: true,
    forward: (_c, [x]) => new Tensor(x!.rowMajor(true), x!.shape, x!.dtype),
    backward: (_c, g) => [g],
  },
  diagonal: {
    strided: true,
    // dim1 and dim2 go; a last dim of the diagonal's length comes, stepping along both at once.
    forward: (_c, [x], { offset, dim1, dim2 }) => {
      const { shape, strides, start } = diagonalLayout(x!.shape, x!.strides, offset, dim1, dim2);
      return viewOf(x!, shape, strides, x!.offset + start);
    },
    backward: (c, g, { offset, dim1, dim2 }) => [diagonalScatter(g, [...c.inputShapes[0]!], offset, dim1, dim2)],
  },
  diagonalScatter: {
    // Zeros of `shape` with g on the diagonal (diagonal's adjoint).
    forward: (_c, [g], { shape, offset, dim1, dim2 }) => {
      const out = Tensor.empty(shape, g!.dtype);
      const d = diagonalLayout(shape, out.strides, offset, dim1, dim2);
      viewOf(out, d.shape, d.strides, d.start).writeRowMajor('diagonal backward', g!.typedData);
      return out;
    },
    backward: (_c, g, { offset, dim1, dim2 }) => [g.diagonal(offset, dim1, dim2)],
  },
};

/** Where the diagonal [offset] of dims (dim1, dim2) lies in a tensor of (shape, strides). */
export function diagonalLayout(
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
  dim1: number,
  dim2: number,
): { shape: number[]; strides: number[]; start: number } {
  const n1 = shape[dim1]!;
  const n2 = shape[dim2]!;
  const len = Math.max(0, offset >= 0 ? Math.min(n1, n2 - offset) : Math.min(n1 + offset, n2));
  const start = len === 0 ? 0 : offset >= 0 ? offset * strides[dim2]! : -offset * strides[dim1]!;
  const keep = shape.map((_, i) => i).filter((i) => i !== dim1 && i !== dim2);
  return {
    shape: [...keep.map((i) => shape[i]!), len],
    strides: [...keep.map((i) => strides[i]!), strides[dim1]! + strides[dim2]!],
    start,
  };
}
