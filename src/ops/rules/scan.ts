import type { FloatArray } from '../../backend/types.js';
import { allocate } from '../../tensor/dtype.js';
import { numel } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { apply, type OpAttrs, type OpRule } from '../registry.js';

/**
 * Running sums along one dim. The backward of a cumulative sum is the cumulative sum of the
 * gradient taken from the other end (output j collects inputs i ≤ j, so input i receives the
 * gradients of outputs j ≥ i), hence the `reverse` attribute: one primitive is both the
 * forward and the VJP, and the VJP, being the op itself, is differentiable again.
 */
export const scanRules: { cumsum: OpRule<OpAttrs['cumsum']> } = {
  cumsum: {
    forward: (_c, [x], { dim, reverse }) => cumsumLoop(x!, dim, reverse),
    backward: (_c, g, { dim, reverse }) => [apply('cumsum', [g], { dim, reverse: !reverse })],
  },
};

/**
 * A plain loop: no backend has a scan kernel yet. The running sum is a JavaScript number
 * (float64), so float32 inputs are summed in double precision, as PyTorch's CPU cumsum does.
 */
function cumsumLoop(x: Tensor, dim: number, reverse: boolean): Tensor {
  const size = x.ndim === 0 ? 1 : x.shape[dim]!;
  const outer = numel(x.shape.slice(0, dim));
  const inner = numel(x.shape.slice(dim + 1));
  const src = x.data as FloatArray;
  const out = allocate(x.dtype, src.length) as FloatArray;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * size * inner + j;
      let acc = 0;
      for (let r = 0; r < size; r++) {
        const i = base + (reverse ? size - 1 - r : r) * inner;
        acc += src[i]!;
        out[i] = acc;
      }
    }
  }
  return new Tensor(out, x.shape, x.dtype);
}
