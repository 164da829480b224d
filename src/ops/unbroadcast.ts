import { sameShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { isGradEnabled } from '../autograd/grad-mode.js';
import { reduceK } from './kernels.js';

/**
 * Sum a gradient back down to the shape of an input that was broadcast in the forward pass:
 * over the leading dims the input lacked, and over dims where the input had size 1. The one
 * place every broadcasting op's backward goes through.
 */
export function unbroadcast(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.ndim - shape.length;
  const dims: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) dims.push(i);
  }
  if (!isGradEnabled()) {
    // Not recording (first-order backward): reduce with the kernel directly.
    const summed = dims.length > 0 ? reduceK('sum', g, dims) : g;
    return new Tensor(summed.data, [...shape], g.dtype);
  }
  const summed = dims.length > 0 ? g.sum(dims, true) : g;
  return summed.reshape([...shape]);
}
