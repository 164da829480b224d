import { allocate } from '../../tensor/dtype.js';
import { contiguousStrides } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { apply, type OpAttrs, type OpRule } from '../registry.js';

/**
 * flip: the elements in reverse order along some dims. A copy, as PyTorch's (chainrule's
 * strides are never negative, so a reversed view is not possible); the VJP is the same flip
 * of the gradient, which is differentiable again.
 */
export const rearrangeRules: { flip: OpRule<OpAttrs['flip']> } = {
  flip: {
    forward: (_c, [x], { dims }) => flipLoop(x!, dims),
    backward: (_c, g, { dims }) => [apply('flip', [g], { dims })],
  },
};

function flipLoop(x: Tensor, dims: readonly number[]): Tensor {
  const shape = x.shape;
  const n = x.typedData.length;
  const out = allocate(x.dtype, n);
  const src = x.typedData;
  if (n === 0) return new Tensor(out, shape, x.dtype);
  const strides = contiguousStrides(shape);
  const nd = shape.length;
  // The source offset of output element 0, and how each output step moves through the source.
  let start = 0;
  const step = strides.slice();
  for (const d of dims) {
    start += (shape[d]! - 1) * strides[d]!;
    step[d] = -strides[d]!;
  }
  const idx = new Array<number>(nd).fill(0);
  let off = start;
  for (let o = 0; o < n; o++) {
    out[o] = src[off]!;
    for (let d = nd - 1; d >= 0; d--) {
      off += step[d]!;
      if (++idx[d]! < shape[d]!) break;
      off -= step[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
  return new Tensor(out, shape, x.dtype);
}
