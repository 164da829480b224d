import { kernel } from '../../backend/dispatch.js';
import type { FloatArray } from '../../backend/types.js';
import { asDType, binaryK, compareK, reduceK } from '../kernels.js';
import type { Ctx, OpAttrs, OpRule } from '../registry.js';
import { Tensor } from '../../tensor/tensor.js';

type Rules<K extends keyof OpAttrs> = { [P in K]: OpRule<OpAttrs[P]> };

/** The shape a reduction result has with keepdim, from the input shape. */
function keptShape(shape: readonly number[], dims: readonly number[]): number[] {
  return shape.map((d, i) => (dims.includes(i) ? 1 : d));
}

function squeezed(shape: readonly number[], dims: readonly number[]): number[] {
  return shape.filter((_, i) => !dims.includes(i));
}

function reduceForward(op: 'sum' | 'max' | 'min', c: Ctx, x: Tensor, dims: number[], keepdim: boolean): Tensor {
  const kept = reduceK(op, x, dims);
  if (op !== 'sum') c.save(x, kept);
  if (keepdim) return kept;
  return new Tensor(kept.typedData, squeezed(x.shape, dims), kept.dtype);
}

/**
 * amax/amin: the gradient is shared equally among the elements equal to the extreme value
 * (a NaN result came from the NaNs in its slice, so they share it).
 */
function extremeBackward(c: Ctx, g: Tensor, dims: number[], keepdim: boolean): (Tensor | null)[] {
  const [x, kept] = c.saved as [Tensor, Tensor];
  const gk = keepdim ? g : g.reshape(keptShape(x.shape, dims));
  const isNaN = (t: Tensor) => asDType(compareK('ne', 'max', t, t), g.dtype);
  const equal = asDType(compareK('eq', 'max', x, kept), g.dtype);
  const hits = binaryK('add', 'max', equal, binaryK('mul', 'max', isNaN(x), isNaN(kept)));
  const count = reduceK('sum', hits, dims);
  return [gk.div(count).mul(hits)];
}

function reducedCount(shape: readonly number[], dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= shape[d]!;
  return n;
}

export const reduceRules: Rules<'sum' | 'mean' | 'amax' | 'amin'> = {
  sum: {
    forward: (c, [x], { dims, keepdim }) => reduceForward('sum', c, x!, dims, keepdim),
    backward: (c, g, { dims, keepdim }) => {
      const shape = c.inputShapes[0]!;
      // (A 0-d gradient, of a full reduction, expands as it is.)
      const gk = keepdim || g.ndim === 0 ? g : g.reshape(keptShape(shape, dims));
      return [gk.expand([...shape])];
    },
  },
  mean: {
    // sum then one scaling pass, as one node: the mean of losses is on every training step.
    forward: (c, [x], { dims, keepdim }) => {
      const out = reduceForward('sum', c, x!, dims, keepdim);
      const scale = 1 / reducedCount(x!.shape, dims);
      const d = out.typedData as FloatArray;
      kernel('scale', d.length, out.dtype)(d, scale, d);
      return out;
    },
    backward: (c, g, { dims, keepdim }) => {
      const shape = c.inputShapes[0]!;
      const count = reducedCount(shape, dims);
      // Divided before the expand: the same quotients, computed once per reduced slice.
      const gk = keepdim || g.ndim === 0 ? g : g.reshape(keptShape(shape, dims));
      return [gk.div(count).expand([...shape])];
    },
  },
  amax: {
    forward: (c, [x], { dims, keepdim }) => reduceForward('max', c, x!, dims, keepdim),
    backward: (c, g, { dims, keepdim }) => extremeBackward(c, g, dims, keepdim),
  },
  amin: {
    forward: (c, [x], { dims, keepdim }) => reduceForward('min', c, x!, dims, keepdim),
    backward: (c, g, { dims, keepdim }) => extremeBackward(c, g, dims, keepdim),
  },
};
