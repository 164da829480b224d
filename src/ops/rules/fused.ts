import { kernel } from '../../backend/dispatch.js';
import type { FloatArray } from '../../backend/types.js';
import { allocateUninit } from '../../tensor/dtype.js';
import { Tensor } from '../../tensor/tensor.js';
import { mul, sub, sum } from '../functional.js';
import { matmulT } from '../internal.js';
import { softmax } from '../activations.js';
import { activate, activationBackward, activationSaved } from './epilogue.js';
import { apply, type OpAttrs, type OpRule } from '../registry.js';

type Rules<K extends keyof OpAttrs> = { [P in K]: OpRule<OpAttrs[P]> };

/**
 * Primitives that fuse what a training step would otherwise record as several ops. Each one
 * computes exactly the composition it replaces (the op tests check both against PyTorch); the
 * gain is fewer passes over memory, fewer temporaries and fewer graph nodes.
 *
 * linear: y = act(x·Wᵀ + b) for x [N, in], W [out, in], b [out] (optional), act one of
 * epilogue.ts's activations ('none' for a plain Linear; nn.Sequential fuses a Linear and the
 * activation module after it). The bias and a relu are the product's epilogue (no separate
 * passes); tanh, sigmoid and gelu run over the output right after, with the kernels their own
 * ops use, so fused and unfused give the same bits. The backward takes g through the
 * activation first (dz, epilogue.ts), then
 *   dx = dz·W,  dW = dzᵀ·x,  db = Σ_rows dz
 *
 * crossEntropyIndex: per-row softmax cross-entropy of logits x [N, C] at class indices t with
 * per-row weights w (0 where the target is ignored):
 *   loss_i = w_i·(logsumexp(x_i) − x_{i,t_i});  mean = Σ loss_i / Σ w_i,  sum,  or none
 *   dx_ij = coef_i·(softmax(x)_ij − [j = t_i]),  coef_i = w_i·g / Σw (mean), w_i·g (sum), w_i·g_i (none)
 * The forward keeps the softmax for the backward pass.
 */
/** linear's gradients at its inputs (x, W, b) from the gradient g at its pre-activation x·Wᵀ + b. */
function linearGrads(needs: readonly boolean[], g: Tensor, x: Tensor, w: Tensor): (Tensor | null)[] {
  return [
    needs[0] ? matmulT(g, w, false, false) : null,
    needs[1] ? matmulT(g, x, true, false) : null,
    needs[2] ? sum(g, 0) : null,
  ];
}

const linearRule: OpRule<OpAttrs['linear']> = {
  forward: (c, [x, w, b], { activation }) => {
    const n = x!.shape[0]!;
    const inF = x!.shape[1]!;
    const outF = w!.shape[0]!;
    const out = allocateUninit(x!.dtype as 'float32' | 'float64', n * outF);
    // The bias and a relu as the product's epilogue; another activation right after (epilogue.ts).
    kernel('gemm', n * outF * inF, x!.dtype)({
      transA: false, transB: true, m: n, n: outF, k: inF,
      a: x!.typedData as FloatArray, aOffset: 0, b: w!.typedData as FloatArray, bOffset: 0, c: out, cOffset: 0, accumulate: false,
      bias: b ? (b.typedData as FloatArray) : null, relu: activation === 'relu',
    });
    const z = new Tensor(out, [n, outF], x!.dtype);
    const y = activate(activation, z);
    const kept = activationSaved(activation, z, y);
    // gelu's backward reaches (x, W, b) again through linearPre, which takes b as an input.
    if (kept === null) c.save(x!, w!);
    else if (activation === 'gelu' && b) c.save(x!, w!, kept, b);
    else c.save(x!, w!, kept);
    return y;
  },
  backward: (c, gy, { activation }) => {
    const [x, w, kept, b] = c.saved as [Tensor, Tensor, Tensor | undefined, Tensor | undefined];
    const g = activationBackward(activation, gy, kept ?? null, () => apply('linearPre', b ? [kept!, x, w, b] : [kept!, x, w], {}));
    return linearGrads(c.needsInputGrad, g, x, w);
  },
};

/**
 * linearPre(z, x, W, b) = z, the pre-activation x·Wᵀ + b that a fused linear kept (the caller
 * vouches for it), as a function of (x, W, b): a gradient at z goes back to them as linear's
 * does (none to z). A gelu's backward reads z through it so that a double backward sees how z
 * depends on the inputs; unrecorded (a first-order backward) it only returns z.
 */
const linearPreRule: OpRule<OpAttrs['linearPre']> = {
  forward: (c, [z, x, w]) => {
    c.save(x!, w!);
    return new Tensor(z!.storage, z!.shape, z!.dtype, z!.strides, z!.offset);
  },
  backward: (c, g) => {
    const [x, w] = c.saved as [Tensor, Tensor];
    return [null, ...linearGrads(c.needsInputGrad.slice(1), g, x, w)];
  },
};

/**
 * crossEntropyIndex's backward as a primitive: upstream g, logits x [N, C], their softmax p (the
 * forward's), class indices t and per-row weights w. Its forward reads p; its rule
 * differentiates through softmax(x) for a double backward.
 */
export function crossEntropyIndexGrad(g: Tensor, x: Tensor, p: Tensor, t: Tensor, w: Tensor, reduction: 'mean' | 'sum' | 'none'): Tensor {
  return apply('crossEntropyIndexGrad', [g, x, p, t, w], { reduction });
}

export const fusedRules: Rules<'linear' | 'linearPre' | 'crossEntropyIndex' | 'crossEntropyIndexGrad'> = {
  linear: linearRule,
  linearPre: linearPreRule,

  crossEntropyIndex: {
    forward: (c, [x, t, w], { reduction }) => {
      const n = x!.shape[0]!;
      const C = x!.shape[1]!;
      const xd = x!.typedData as FloatArray;
      const dtype = x!.dtype as 'float32' | 'float64';
      // Three passes, each a kernel: shift each row by its max, exp, then normalise and the loss.
      const p = allocateUninit(dtype, n * C);
      const rowMax = new Float64Array(n);
      kernel('rowMaxShift', n * C, dtype)(xd, n, C, rowMax, p);
      kernel('unary', n * C, dtype)('exp', p, p);
      const out = allocateUninit(dtype, reduction === 'none' ? n : 1);
      kernel('crossEntropyLoss', n * C, dtype)(xd, t!.typedData as Int32Array, w!.typedData as FloatArray, n, C, rowMax, p, reduction, out);
      c.save(new Tensor(p, [n, C], x!.dtype), t!, w!, x!);
      return new Tensor(out, reduction === 'none' ? [n] : [], x!.dtype);
    },
    backward: (c, g, { reduction }) => {
      const [p, t, w, x] = c.saved as [Tensor, Tensor, Tensor, Tensor];
      return [crossEntropyIndexGrad(g, x, p, t, w, reduction), null, null];
    },
  },

  crossEntropyIndexGrad: {
    forward: (c, [g, x, p, t, w], { reduction }) => {
      c.save(g!, x!, t!, w!);
      const n = p!.shape[0]!;
      const C = p!.shape[1]!;
      const out = allocateUninit(p!.dtype as 'float32' | 'float64', n * C);
      kernel('crossEntropyGrad', n * C, p!.dtype)(g!.typedData as FloatArray, p!.typedData as FloatArray, t!.typedData as Int32Array, w!.typedData as FloatArray, n, C, reduction, out);
      return new Tensor(out, [n, C], p!.dtype);
    },
    // dx = coef ⊙ (s − onehot) with s = softmax(x) and coef_i = w_i·g·scale (or w_i·g_i): for an
    // upstream gg, d/dx = coef ⊙ (s ⊙ gg − s·Σ_j s ⊙ gg) (softmax's Jacobian), and d/dcoef_i =
    // Σ_j gg_ij·(s_ij − onehot_ij), taken back through coef to g. s is recomputed from x as a
    // tracked op so that a third derivative still sees its dependence on x.
    backward: (c, gg, { reduction }) => {
      const [g, x, t, w] = c.saved as [Tensor, Tensor, Tensor, Tensor];
      const n = x.shape[0]!;
      const C = x.shape[1]!;
      const scale = meanScale(w, reduction);
      const s = softmax(x, 1);
      let gx: Tensor | null = null;
      let gg0: Tensor | null = null;
      if (c.needsInputGrad[1]) {
        const coef = mul(reduction === 'none' ? g : g.mul(scale), w).reshape([n, 1]);
        const sg = mul(s, gg);
        gx = mul(sub(sg, mul(s, sum(sg, 1, true))), coef);
      }
      if (c.needsInputGrad[0]) {
        const onehot = Tensor.empty([n, C], x.dtype);
        kernel('oneHot', n * C, x.dtype)(t.typedData as Int32Array, C, onehot.typedData);
        const perRow = mul(sum(mul(gg, sub(s, onehot)), 1), w);
        gg0 = reduction === 'none' ? perRow : sum(perRow).mul(scale);
      }
      return [gg0, gx, null, null, null];
    },
  },
};

/** The factor a 'mean' reduction divides by (1 / Σw, the sum in double), else 1. */
function meanScale(w: Tensor, reduction: 'mean' | 'sum' | 'none'): number {
  if (reduction !== 'mean') return 1;
  const wSum = new Float64Array(1);
  kernel('sumF64', w.typedData.length, w.dtype)(w.typedData, wSum, 0);
  return 1 / wSum[0]!;
}
