import { kernel } from '../../backend/dispatch.js';
import type { FloatArray } from '../../backend/types.js';
import type { Tensor } from '../../tensor/tensor.js';
import { add, erf, mul } from '../functional.js';
import { binaryK, fullK, unaryK } from '../kernels.js';
import { reluGrad, sigmoidGrad, tanhGrad } from './activation-grads.js';

/**
 * The activation a fused op (linear, conv2d) applies to its own output z, and its gradient:
 * the one place fusion's numbers are decided. Each computes exactly what the activation op
 * (or GELU's composition of ops) computes on its own, with the same kernels in the same order,
 * so a fused pair and the two ops one after the other give the same bits, forward and
 * backward; the op's rule then continues from the gradient at z.
 *
 * Adding an activation: a name here, its case in activate / activationSaved /
 * activationBackward, and a module answering fusedActivation() with the name (nn/module.ts).
 */
export type Activation = 'none' | 'relu' | 'tanh' | 'sigmoid' | 'gelu';

export const ACTIVATIONS: readonly Activation[] = ['none', 'relu', 'tanh', 'sigmoid', 'gelu'];

/**
 * act(z) for the op's fresh output z. relu is the caller's (a product's or convolution's
 * epilogue already applied it); tanh and sigmoid run their kernel over z in place; gelu (exact,
 * erf) keeps z, which its backward needs, and returns a new tensor.
 */
export function activate(act: Activation, z: Tensor): Tensor {
  if (act === 'tanh' || act === 'sigmoid') {
    const d = z.typedData as FloatArray;
    kernel('unary', d.length, z.dtype)(act, d, d);
    return z;
  }
  if (act !== 'gelu') return z;
  // gelu(z) = (z·½)·(erf(z·√½) + 1): the composition ops/activations.ts records, kernel for kernel.
  const half = binaryK('mul', 'mul', z, fullK([], 0.5, z.dtype));
  const e = unaryK('erf', binaryK('mul', 'mul', z, fullK([], Math.SQRT1_2, z.dtype)));
  return binaryK('mul', 'mul', half, binaryK('add', 'add', e, fullK([], 1, z.dtype)));
}

/** What the backward reads: nothing (none), the pre-activation z (gelu), else the activated output y. */
export function activationSaved(act: Activation, z: Tensor, y: Tensor): Tensor | null {
  return act === 'none' ? null : act === 'gelu' ? z : y;
}

/**
 * The gradient at z from g, the gradient at the activated output, with tracked ops so that a
 * double backward differentiates it. relu, tanh and sigmoid read the saved output y (the op's
 * own output, so a createGraph walk reaches the op's inputs through it). gelu reads z through
 * `pre()`: the op's pre-activation primitive (linearPre / conv2dPre), which returns the saved z
 * and, when recorded, takes a gradient at z back to the op's inputs, so second and higher
 * order gradients see z's dependence on them. Its formula is the gradients the composition's
 * rules produce, in their order (mul, add, erf, mul, mul; the two contributions to z summed).
 */
export function activationBackward(act: Activation, g: Tensor, saved: Tensor | null, pre: () => Tensor): Tensor {
  switch (act) {
    case 'none':
      return g;
    case 'relu':
      return reluGrad(g, saved!);
    case 'tanh':
      return tanhGrad(g, saved!);
    case 'sigmoid':
      return sigmoidGrad(g, saved!);
    case 'gelu': {
      const z = pre();
      const half = fullK([], 0.5, z.dtype);
      const root = fullK([], Math.SQRT1_2, z.dtype);
      const a = mul(z, half);
      const m = mul(z, root);
      const b = add(erf(m), fullK([], 1, z.dtype));
      const ga = g.mul(b);
      const gm = g.mul(a).mul(m.mul(m).neg().exp().mul(fullK([], 2 / Math.sqrt(Math.PI), z.dtype)));
      return gm.mul(root).add(ga.mul(half));
    }
  }
}
