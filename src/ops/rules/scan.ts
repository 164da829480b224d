import { kernel } from '../../backend/dispatch.js';
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

/** The cumsum kernel (a running sum in double precision, as PyTorch's CPU cumsum) along dim. */
function cumsumLoop(x: Tensor, dim: number, reverse: boolean): Tensor {
  const size = x.ndim === 0 ? 1 : x.shape[dim]!;
  const outer = numel(x.shape.slice(0, dim));
  const inner = numel(x.shape.slice(dim + 1));
  const out = allocate(x.dtype, x.data.length);
  kernel('cumsum', out.length, x.dtype)(x.data, outer, size, inner, reverse, out);
  return new Tensor(out, x.shape, x.dtype);
}
