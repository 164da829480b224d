import type { FloatArray } from '../backend/types.js';
import { allocate } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { binaryK } from './kernels.js';

/**
 * One-pass kernels for the commonest first-order backward formulas. A rule uses them when
 * the backward pass is not itself being recorded (no createGraph); when it is, the rule
 * composes tracked ops instead, so higher-order gradients still flow. Both compute the same
 * formula; the op tests check every rule both ways.
 */
export type ActivationGrad = 'sigmoid' | 'tanh' | 'relu';

/** g · f′ from the saved output y, one backend kernel: σ: y(1−y); tanh: 1−y²; relu: [y > 0]. */
export function activationGradK(kind: ActivationGrad, g: Tensor, y: Tensor): Tensor {
  return binaryK(GRAD_KERNEL[kind], `${kind} backward`, g, y);
}

const GRAD_KERNEL = { sigmoid: 'sigmoidGrad', tanh: 'tanhGrad', relu: 'reluGrad' } as const;

/** g · p·x^(p−1), in one pass (x² is the squared error of every MSE loss). */
export function powGradK(g: Tensor, x: Tensor, p: number): Tensor {
  const n = g.data.length;
  const out = allocate(g.dtype, n) as FloatArray;
  const gd = g.data as FloatArray;
  const xd = x.data as FloatArray;
  if (p === 2) for (let i = 0; i < n; i++) out[i] = gd[i]! * (2 * xd[i]!);
  else if (p === 1) out.set(gd);
  else for (let i = 0; i < n; i++) out[i] = gd[i]! * (p * Math.pow(xd[i]!, p - 1));
  return new Tensor(out, g.shape, g.dtype);
}
