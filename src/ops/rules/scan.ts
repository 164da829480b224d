import { kernel } from '../../backend/dispatch.js';
import type { FloatArray } from '../../backend/types.js';
import { allocate } from '../../tensor/dtype.js';
import { numel } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { apply, type OpAttrs, type OpRule } from '../registry.js';
import { where } from '../functional.js';

/**
 * Running sums along one dim. The backward of a cumulative sum is the cumulative sum of the
 * gradient taken from the other end (output j collects inputs i ≤ j, so input i receives the
 * gradients of outputs j ≥ i), hence the `reverse` attribute: one primitive is both the
 * forward and the VJP, and the VJP, being the op itself, is differentiable again.
 */
export const scanRules: { cumsum: OpRule<OpAttrs['cumsum']>; cumprod: OpRule<OpAttrs['cumprod']> } = {
  cumsum: {
    forward: (_c, [x], { dim, reverse }) => cumsumLoop(x!, dim, reverse),
    backward: (_c, g, { dim, reverse }) => [apply('cumsum', [g], { dim, reverse: !reverse })],
  },
  cumprod: {
    forward: (c, [x], { dim }) => {
      const out = cumprodLoop(x!, dim);
      c.save(x!, out);
      return out;
    },
    backward: (c, g, { dim }) => [cumprodGrad(c.saved[0]!, c.saved[1]!, g, dim)],
  },
};

/**
 * cumprod's VJP: input i receives Σ_{j ≥ i} g_j · Π_{k ≤ j, k ≠ i} x_k. Without zeros in x that
 * is (reverse cumsum of g·out)_i / x_i, O(n). With a zero the division is 0/0, so the products
 * that skip x_i are formed directly: an n×n matrix per slice whose row i is x with x_i replaced
 * by 1, cumprod along the rows, the entries j ≥ i weighted by g_j and summed. Both are written
 * with tracked ops, so the gradient is differentiable again.
 */
function cumprodGrad(x: Tensor, out: Tensor, g: Tensor, dim: number): Tensor {
  if (x.ndim === 0) return g;
  const values = x.dataSync();
  let zero = false;
  for (let i = 0; i < values.length && !zero; i++) zero = values[i] === 0;
  if (!zero) return apply('cumsum', [g.mul(out)], { dim, reverse: true }).div(x);
  const n = x.shape[dim]!;
  const eye = new Uint8Array(n * n);
  const upper = new Uint8Array(n * n);
  for (let i = 0; i < n; i++) {
    eye[i * n + i] = 1;
    for (let j = i; j < n; j++) upper[i * n + j] = 1;
  }
  const last = x.ndim - 1;
  const xt = x.transpose(dim, last);
  const rows = where(new Tensor(eye, [n, n], 'bool'), 1, xt.unsqueeze(-2));
  const skip = apply('cumprod', [rows], { dim: last + 1 });
  const gi = where(new Tensor(upper, [n, n], 'bool'), skip, 0).mul(g.transpose(dim, last).unsqueeze(-2)).sum(-1);
  return gi.transpose(dim, last);
}

/** Running product along dim (float64 accumulation for float32, as cumsum). */
function cumprodLoop(x: Tensor, dim: number): Tensor {
  const size = x.ndim === 0 ? 1 : x.shape[dim]!;
  const outer = numel(x.shape.slice(0, dim));
  const inner = numel(x.shape.slice(dim + 1));
  const src = x.typedData as FloatArray;
  const out = allocate(x.dtype, src.length) as FloatArray;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * size * inner + j;
      let acc = 1;
      for (let r = 0; r < size; r++) {
        const i = base + r * inner;
        acc *= src[i]!;
        out[i] = acc;
      }
    }
  }
  return new Tensor(out, x.shape, x.dtype);
}

/** The cumsum kernel (a running sum in double precision, as PyTorch's CPU cumsum) along dim. */
function cumsumLoop(x: Tensor, dim: number, reverse: boolean): Tensor {
  const size = x.ndim === 0 ? 1 : x.shape[dim]!;
  const outer = numel(x.shape.slice(0, dim));
  const inner = numel(x.shape.slice(dim + 1));
  const out = allocate(x.dtype, x.typedData.length);
  kernel('cumsum', out.length, x.dtype)(x.typedData, outer, size, inner, reverse, out);
  return new Tensor(out, x.shape, x.dtype);
}
