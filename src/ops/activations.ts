import { normalizeDim } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { SELF, defineOp } from './define.js';
import { add, amax, div, erf, exp, expm1, gt, log, log1p, mul, pow, sub, sum, tanh, where } from './functional.js';
import { asFloat, maxShift } from './internal.js';

/**
 * Activations composed of primitives, so their gradients come from the primitives' rules
 * and cannot drift from their forwards. Each is written to stay finite for large |x|, and is
 * one defineOp entry (see define.ts): the function, its Tensor method, its export.
 */

export const leakyRelu = defineOp(function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  return where(gt(x, 0), x, mul(x, negativeSlope));
}, { leakyRelu: SELF });

/** ELU; the exponential only sees non-positive inputs, so large x cannot overflow it. */
export const elu = defineOp(function elu(x: Tensor, alpha = 1): Tensor {
  const pos = gt(x, 0);
  return where(pos, x, mul(expm1(where(pos, 0, x)), alpha));
}, { elu: SELF });

/** GELU: exact (x·Φ(x) via erf) or the tanh approximation. */
export const gelu = defineOp(function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  if (approximate === 'tanh') {
    const inner = mul(add(x, mul(pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
    return mul(mul(x, 0.5), add(tanh(inner), 1));
  }
  return mul(mul(x, 0.5), add(erf(mul(x, Math.SQRT1_2)), 1));
}, { gelu: SELF });

/** softplus(x) = log(1 + exp(βx))/β, linear above the threshold, as PyTorch. */
export const softplus = defineOp(function softplus(x: Tensor, beta = 1, threshold = 20): Tensor {
  const bx = mul(x, beta);
  const over = gt(bx, threshold);
  const safe = where(over, 0, bx);
  return where(over, x, div(log1p(exp(safe)), beta));
}, { softplus: SELF });

export const softmax = defineOp(function softmax(x: Tensor, dim: number): Tensor {
  const d = normalizeDim('softmax', dim, x.ndim);
  const xf = asFloat(x);
  if (x.shape[d] === 0) return xf.clone(); // nothing to normalise over (amax would refuse)
  const e = exp(sub(xf, amax(xf, d, true).detach()));
  return div(e, sum(e, d, true));
}, { softmax: SELF });

export const logSoftmax = defineOp(function logSoftmax(x: Tensor, dim: number): Tensor {
  const d = normalizeDim('logSoftmax', dim, x.ndim);
  const xf = asFloat(x);
  if (x.shape[d] === 0) return xf.clone();
  // (x − m) − log Σ exp(x − m): subtracting the full logsumexp from x instead would cancel
  // two large numbers and lose float32 digits for logits near ±1000.
  const shifted = sub(xf, maxShift(xf, [d]));
  return sub(shifted, log(sum(exp(shifted), d, true)));
}, { logSoftmax: SELF });

