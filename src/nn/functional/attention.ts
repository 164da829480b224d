import { ShapeError, ValueError, fmtShape } from '../../errors.js';
import { arange, full } from '../../tensor/creation.js';
import { defaultGenerator, type Generator } from '../../tensor/random.js';
import type { Tensor } from '../../tensor/tensor.js';
import { softmax, where } from '../../ops/functional.js';
import { dropout } from './basic.js';

/**
 * Attention as PyTorch computes it.
 *
 *   scaledDotProductAttention(q, k, v) = softmax(q·kᵀ·scale + bias)·v      (PyTorch 2's
 *   F.scaled_dot_product_attention: q [..., L, E], k [..., S, E], v [..., S, Ev]; scale 1/√E)
 *
 * Masks follow each PyTorch API's own convention: here a boolean `attnMask` is true where a
 * query may attend (SDPA's rule); in MultiheadAttention a boolean mask is true where it may NOT
 * (nn.MultiheadAttention's rule). A float mask is added to the scores in both.
 */

export interface ScaledDotProductAttentionOptions {
  /** [L, S] or broadcastable to the scores [..., L, S]: bool (true = may attend) or float (added). */
  attnMask?: Tensor | null;
  /** Dropout on the attention weights (applied whenever > 0, as PyTorch's functional form). */
  dropoutP?: number;
  /** A causal mask: query i attends to keys 0..i (no attnMask with it). */
  isCausal?: boolean;
  /** Default 1/√E. */
  scale?: number;
  generator?: Generator;
}

/** Bool [L, S], true where query i may attend key j ≤ i. */
export function causalMask(L: number, S: number): Tensor {
  return arange(0, L).unsqueeze(1).ge(arange(0, S).unsqueeze(0));
}

/** A mask as the float bias added to the scores: bool masks give −∞ where `blockedWhere` is their value. */
export function maskBias(mask: Tensor, blockedWhere: boolean, dtype: 'float32' | 'float64'): Tensor {
  if (mask.dtype !== 'bool') return mask.to(dtype);
  const ninf = full([], -Infinity, { dtype });
  const zero = full([], 0, { dtype });
  return blockedWhere ? where(mask, ninf, zero) : where(mask, zero, ninf);
}

export function scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor, opts: ScaledDotProductAttentionOptions = {}): Tensor {
  const who = 'scaledDotProductAttention';
  if (query.ndim < 2 || key.ndim < 2 || value.ndim < 2) {
    throw new ShapeError(`${who}: query, key and value need at least 2 dims, got ${fmtShape(query.shape)}, ${fmtShape(key.shape)}, ${fmtShape(value.shape)}`);
  }
  const E = query.shape[query.ndim - 1]!;
  const L = query.shape[query.ndim - 2]!;
  const S = key.shape[key.ndim - 2]!;
  if (key.shape[key.ndim - 1] !== E) {
    throw new ShapeError(`${who}: query and key must have the same last dim (head size), got ${fmtShape(query.shape)} and ${fmtShape(key.shape)}`);
  }
  if (value.shape[value.ndim - 2] !== S) {
    throw new ShapeError(`${who}: key and value must have the same sequence length (dim -2), got ${fmtShape(key.shape)} and ${fmtShape(value.shape)}`);
  }
  if (opts.isCausal && opts.attnMask) throw new ValueError(`${who}: give either attnMask or isCausal, not both`);
  const p = opts.dropoutP ?? 0;
  if (!(p >= 0 && p <= 1)) throw new ValueError(`${who}: dropoutP must be in [0, 1], got ${p}`);
  const dtype = query.dtype as 'float32' | 'float64';
  const scale = opts.scale ?? 1 / Math.sqrt(E);
  let scores = query.mul(scale).matmul(key.transpose(-2, -1));
  const mask = opts.isCausal ? causalMask(L, S) : (opts.attnMask ?? null);
  if (mask !== null) {
    const m = mask.ndim >= 2 ? mask.shape.slice(-2) : [];
    if (m.length === 2 && ((m[0] !== L && m[0] !== 1) || (m[1] !== S && m[1] !== 1))) {
      throw new ShapeError(`${who}: attnMask of shape ${fmtShape(mask.shape)} does not broadcast to the scores [..., ${L}, ${S}]`);
    }
    scores = scores.add(maskBias(mask, false, dtype));
  }
  let weights = softmax(scores, -1);
  if (p > 0) weights = dropout(weights, p, true, opts.generator ?? defaultGenerator);
  return weights.matmul(value);
}
