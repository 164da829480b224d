import { kernel } from '../backend/dispatch.js';
import type { FloatArray } from '../backend/types.js';
import { ValueError } from '../errors.js';
import { fullK } from '../ops/kernels.js';
import { Tensor } from '../tensor/tensor.js';

export interface ClipGradNormOptions {
  /** Throw if the total norm is NaN or ±Infinity instead of scaling by it. Default false. */
  errorIfNonfinite?: boolean;
}

function gradsOf(parameters: Tensor | Iterable<Tensor>): Tensor[] {
  const params = parameters instanceof Tensor ? [parameters] : Array.from(parameters);
  return params.flatMap((p) => {
    const g = p.peekGrad();
    return g === null ? [] : [g];
  });
}

/**
 * Scale the gradients of `parameters` in place so that their total norm (the norm of all
 * gradients as one vector) is at most maxNorm, as PyTorch's `clip_grad_norm_`: each gradient is
 * multiplied by maxNorm / (total + 1e-6) when that is below 1. Returns the total norm before
 * clipping as a 0-d tensor of the gradients' dtype (`.item()` gives the number).
 *
 * normType is any p > 0, or Infinity / 'inf' for the largest magnitude. Like PyTorch, the total
 * is the norm of the per-gradient norms.
 *
 *     loss.backward();
 *     clipGradNorm_(model.parameters(), 1.0);
 *     opt.step();
 */
export function clipGradNorm_(
  parameters: Tensor | Iterable<Tensor>,
  maxNorm: number,
  normType: number | 'inf' = 2,
  options: ClipGradNormOptions = {},
): Tensor {
  const p = normType === 'inf' ? Infinity : normType;
  if (!(p > 0)) throw new ValueError(`clipGradNorm_: invalid normType ${String(normType)} (must be > 0, or Infinity / 'inf')`);
  // PyTorch takes any float, but a negative maxNorm flips every gradient and NaN wipes them out.
  if (typeof maxNorm !== 'number' || !(maxNorm >= 0)) {
    throw new ValueError(`clipGradNorm_: invalid maxNorm ${String(maxNorm)} (must be a number >= 0)`);
  }
  const grads = gradsOf(parameters);
  const out = (value: number): Tensor => fullK([], value, grads[0]?.dtype ?? 'float32');
  if (grads.length === 0) return out(0);
  // Each gradient's norm, then the norm of those (all in double, as PyTorch's total).
  const norms = new Float64Array(grads.length + 1);
  grads.forEach((g, i) => kernel('norm', g.numel(), g.dtype)(g.typedData as FloatArray, p, norms, i));
  kernel('norm', grads.length, 'float64')(norms.subarray(0, grads.length), p, norms, grads.length);
  const total = norms[grads.length]!;
  if (options.errorIfNonfinite && !Number.isFinite(total)) {
    throw new ValueError(
      `clipGradNorm_: the total norm of order ${String(normType)} of the gradients is ${total}, so they cannot be clipped; ` +
        'pass { errorIfNonfinite: false } to scale them by the non-finite norm anyway',
    );
  }
  const coef = maxNorm / (total + 1e-6);
  // PyTorch multiplies by min(coef, 1) unconditionally; skipping the multiplication by 1 is the
  // same. A NaN coefficient (NaN norm) is applied, as there.
  if (!(coef >= 1)) {
    for (const g of grads) {
      const d = g.typedData as FloatArray;
      kernel('scale', d.length, g.dtype)(d, coef, d);
      g.version++;
    }
  }
  return out(total);
}

/** Clamp every gradient element of `parameters` into [−clipValue, clipValue], in place. */
export function clipGradValue_(parameters: Tensor | Iterable<Tensor>, clipValue: number): void {
  if (!(clipValue >= 0)) throw new ValueError(`clipGradValue_: invalid clipValue ${clipValue} (must be >= 0)`);
  for (const g of gradsOf(parameters)) {
    const d = g.typedData as FloatArray;
    kernel('clamp', d.length, g.dtype)(d, -clipValue, clipValue, d);
    g.version++;
  }
}
