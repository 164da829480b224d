import type { FloatArray } from '../../backend/types.js';
import { kernel } from '../../backend/dispatch.js';
import { TINY } from '../../backend/thresholds.js';
import { gradIsExclusive } from '../../autograd/engine.js';
import { allocate } from '../../tensor/dtype.js';
import { contiguousStrides, sameShape } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { binaryK, fullK } from '../kernels.js';
import { apply, type OpAttrs, type OpRule } from '../registry.js';

type Rules<K extends keyof OpAttrs> = { [P in K]: OpRule<OpAttrs[P]> };

/**
 * The backward formulas of tanh, sigmoid, relu and x^p as primitives of their own (PyTorch's
 * tanh_backward, sigmoid_backward, threshold_backward, pow_backward): the activation's rule
 * calls one of these, so a first-order backward runs one fused pass (the forward below) and a
 * recorded one (createGraph) records one node whose own rule differentiates it again. Each
 * takes the upstream gradient g and what the activation saved: its output y (or, for x^p, x).
 *
 *   tanhGrad(g, y)        = g·(1 − y²)      d/dg: tanhGrad(gg, y)     d/dy: −2·g·y·gg
 *   sigmoidGrad(g, y)     = g·y·(1 − y)     d/dg: sigmoidGrad(gg, y)  d/dy: gg·g·(1 − 2y)
 *   reluGrad(g, y)        = g·[y > 0]       d/dg: reluGrad(gg, y)     d/dy: 0 (almost everywhere)
 *   powScalarGrad(g, x, p) = g·p·x^(p−1)    d/dg: powScalarGrad(gg, x, p)
 *                                            d/dx: powScalarGrad(gg·g·p, x, p − 1)  (0 for p = 1)
 */

export function tanhGrad(g: Tensor, y: Tensor): Tensor {
  return apply('tanhGrad', [g, y], {});
}
export function sigmoidGrad(g: Tensor, y: Tensor): Tensor {
  return apply('sigmoidGrad', [g, y], {});
}
export function reluGrad(g: Tensor, y: Tensor): Tensor {
  return apply('reluGrad', [g, y], {});
}
export function powScalarGrad(g: Tensor, x: Tensor, exponent: number): Tensor {
  return apply('powScalarGrad', [g, x], { exponent });
}

type ActivationGrad = 'sigmoid' | 'tanh' | 'relu';
const GRAD_KERNEL = { sigmoid: 'sigmoidGrad', tanh: 'tanhGrad', relu: 'reluGrad' } as const;
/** Below this many elements the formula runs as a loop right here (as the backends' small-size routing). */
const SMALL = TINY;

/**
 * g · f′ from the saved output y, one backend kernel: σ: y(1−y); tanh: 1−y²; relu: [y > 0].
 * Written over g itself when the engine says nothing else holds it (see gradIsExclusive).
 */
function activationGradK(kind: ActivationGrad, g: Tensor, y: Tensor): Tensor {
  const n = g.typedData.length;
  if (n < SMALL && g.dtype === y.dtype && n === y.typedData.length) {
    // Tiny tensors (a few-neuron network): the same elements in a fresh array, with none of
    // binaryK's broadcast bookkeeping (the reference kernel, below every backend's threshold).
    const out = allocate(g.dtype, n) as FloatArray;
    const strides = g.strides;
    kernel('binary', n, g.dtype)(GRAD_KERNEL[kind], g.typedData, strides, y.typedData, strides, out, g.shape);
    return new Tensor(out, g.shape, g.dtype);
  }
  if (gradIsExclusive(g) && sameShape(g.shape, y.shape) && g.dtype === y.dtype) {
    const strides = contiguousStrides(g.shape);
    kernel('binary', g.typedData.length, g.dtype)(GRAD_KERNEL[kind], g.typedData, strides, y.typedData, strides, g.typedData, g.shape);
    return new Tensor(g.typedData, g.shape, g.dtype);
  }
  return binaryK(GRAD_KERNEL[kind], `${kind} backward`, g, y);
}

/** g · p·x^(p−1), in one pass (x² is the squared error of every MSE loss). */
function powGradK(g: Tensor, x: Tensor, p: number): Tensor {
  const out = allocate(g.dtype, g.typedData.length) as FloatArray;
  kernel('powGrad', out.length, g.dtype)(g.typedData as FloatArray, x.typedData as FloatArray, p, out);
  return new Tensor(out, g.shape, g.dtype);
}

function scalar(like: Tensor, v: number): Tensor {
  return fullK([], v, like.dtype);
}

/** A g·f′(y) primitive: the forward is the one-pass kernel; saved are g and y for its own backward. */
function activationGradRule(kind: ActivationGrad, dy: ((g: Tensor, y: Tensor, gg: Tensor) => Tensor) | null): OpRule<{}> {
  return {
    forward: (c, [g, y]) => {
      // The kernel writes over g only in a first-order walk, which records nothing, so a saved
      // g is never read after it was overwritten (recorded walks never write in place).
      c.save(g!, y!);
      return activationGradK(kind, g!, y!);
    },
    backward: (c, gg) => {
      const [g, y] = c.saved as [Tensor, Tensor];
      return [
        c.needsInputGrad[0] ? apply(GRAD_KERNEL[kind], [gg, y], {}) : null,
        c.needsInputGrad[1] && dy ? dy(g, y, gg) : null,
      ];
    },
  };
}

export const activationGradRules: Rules<'tanhGrad' | 'sigmoidGrad' | 'reluGrad' | 'powScalarGrad'> = {
  tanhGrad: activationGradRule('tanh', (g, y, gg) => gg.mul(g).mul(y).mul(scalar(y, -2))),
  sigmoidGrad: activationGradRule('sigmoid', (g, y, gg) => gg.mul(g).mul(scalar(y, 1).sub(y.mul(scalar(y, 2))))),
  // relu′ is a step: its derivative in y is 0 wherever it exists.
  reluGrad: activationGradRule('relu', null),
  powScalarGrad: {
    forward: (c, [g, x], { exponent }) => {
      c.save(g!, x!);
      return powGradK(g!, x!, exponent);
    },
    backward: (c, gg, { exponent }) => {
      const [g, x] = c.saved as [Tensor, Tensor];
      return [
        c.needsInputGrad[0] ? powScalarGrad(gg, x, exponent) : null,
        c.needsInputGrad[1] && exponent !== 1 ? powScalarGrad(gg.mul(g).mul(scalar(x, exponent)), x, exponent - 1) : null,
      ];
    },
  },
};
