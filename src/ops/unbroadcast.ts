import { sameShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { apply } from './registry.js';

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
  // The primitives directly: dims are already normalised, and this runs on every broadcast op's backward.
  const summed = dims.length > 0 ? apply('sum', [g], { dims, keepdim: true }) : g;
  return apply('reshape', [summed], { shape: [...shape] });
}
