import type { FloatArray } from '../backend/types.js';
import { allocate } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { binaryK } from './kernels.js';
import { gradIsExclusive } from '../autograd/engine.js';
import { kernel } from '../backend/dispatch.js';
import { TINY } from '../backend/thresholds.js';
import { contiguousStrides, sameShape } from '../tensor/shape.js';

/**
 * One-pass kernels for the commonest first-order backward formulas. A rule uses them when
 * the backward pass is not itself being recorded (no createGraph); when it is, the rule
 * composes tracked ops instead, so higher-order gradients still flow. Both compute the same
 * formula; the op tests check every rule both ways.
 */
export type ActivationGrad = 'sigmoid' | 'tanh' | 'relu';

/**
 * g · f′ from the saved output y, one backend kernel: σ: y(1−y); tanh: 1−y²; relu: [y > 0].
 * Written over g itself when the engine says nothing else holds it (see gradIsExclusive).
 */
export function activationGradK(kind: ActivationGrad, g: Tensor, y: Tensor): Tensor {
  const n = g.data.length;
  if (n < SMALL && g.dtype === y.dtype && n === y.data.length) {
    // Tiny tensors (a few-neuron network): a plain loop beats any kernel dispatch.
    const out = allocate(g.dtype, n) as FloatArray;
    const gd = g.data as FloatArray;
    const yd = y.data as FloatArray;
    if (kind === 'sigmoid') for (let i = 0; i < n; i++) out[i] = gd[i]! * (yd[i]! * (1 - yd[i]!));
    else if (kind === 'tanh') for (let i = 0; i < n; i++) out[i] = gd[i]! * (1 - yd[i]! * yd[i]!);
    else for (let i = 0; i < n; i++) out[i] = yd[i]! > 0 ? gd[i]! : 0;
    return new Tensor(out, g.shape, g.dtype);
  }
  if (gradIsExclusive(g) && sameShape(g.shape, y.shape) && g.dtype === y.dtype) {
    const strides = contiguousStrides(g.shape);
    kernel('binary', g.data.length, g.dtype)(GRAD_KERNEL[kind], g.data, strides, y.data, strides, g.data, g.shape);
    return new Tensor(g.data, g.shape, g.dtype);
  }
  return binaryK(GRAD_KERNEL[kind], `${kind} backward`, g, y);
}

const GRAD_KERNEL = { sigmoid: 'sigmoidGrad', tanh: 'tanhGrad', relu: 'reluGrad' } as const;
/** Below this many elements the formula runs as a loop right here (as the backends' small-size routing). */
const SMALL = TINY;

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
