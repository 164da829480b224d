import { noGrad } from '../../autograd/grad-mode.js';
import { DTypeError, ShapeError, ValueError, fmtShape } from '../../errors.js';
import { isFloat } from '../../tensor/dtype.js';
import type { Tensor } from '../../tensor/tensor.js';

export interface BatchNormOptions {
  runningMean?: Tensor | null;
  runningVar?: Tensor | null;
  weight?: Tensor | null;
  bias?: Tensor | null;
  /** Normalise with the batch's statistics (and update the running ones) rather than the running ones. */
  training?: boolean;
  /** Weight of the new batch in the running averages; null means a cumulative average. */
  momentum?: number | null;
  eps?: number;
  /** How many batches the running stats have seen, for momentum null. */
  numBatchesTracked?: number;
}

/**
 * Batch normalisation over dim 1 of [N, C, ...]. In training the batch is normalised with its
 * biased variance, while the running variance is updated with the unbiased one (PyTorch's
 * convention); in evaluation the running statistics are used.
 */
export function batchNorm(x: Tensor, opts: BatchNormOptions = {}, who = 'batchNorm'): Tensor {
  const { runningMean = null, runningVar = null, weight = null, bias = null, training = false, eps = 1e-5 } = opts;
  const momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
  if (x.ndim < 2) throw new ShapeError(`${who}: expects input [N, C, ...], got shape ${fmtShape(x.shape)}`);
  if (!isFloat(x.dtype)) throw new DTypeError(`${who}: needs a floating-point input, got ${x.dtype}`);
  const c = x.shape[1]!;
  const perChannel = [1, c, ...x.shape.slice(2).map(() => 1)];
  for (const [name, t] of [['weight', weight], ['bias', bias], ['runningMean', runningMean], ['runningVar', runningVar]] as const) {
    if (t && (t.ndim !== 1 || t.shape[0] !== c)) {
      throw new ShapeError(`${who}: ${name} has shape ${fmtShape(t.shape)} but the input ${fmtShape(x.shape)} has ${c} channels`);
    }
  }
  const dims = x.shape.map((_, i) => i).filter((i) => i !== 1);
  let mean: Tensor;
  let variance: Tensor;
  if (training || !runningMean || !runningVar) {
    const count = x.numel() / c;
    if (training && count <= 1) {
      throw new ValueError(`${who}: expected more than 1 value per channel when training, got input of shape ${fmtShape(x.shape)}`);
    }
    mean = x.mean(dims, true);
    variance = x.var(dims, { correction: 0, keepdim: true });
    if (training && runningMean && runningVar) {
      const m = momentum ?? 1 / ((opts.numBatchesTracked ?? 0) + 1);
      noGrad(() => {
        const unbiased = variance.detach().reshape([c]).mul(count / (count - 1));
        runningMean.mul_(1 - m).add_(mean.detach().reshape([c]).mul(m).to(runningMean.dtype));
        runningVar.mul_(1 - m).add_(unbiased.mul(m).to(runningVar.dtype));
      });
    }
  } else {
    mean = runningMean.reshape(perChannel);
    variance = runningVar.reshape(perChannel);
  }
  let y = x.sub(mean).mul(variance.add(eps).rsqrt());
  if (weight) y = y.mul(weight.reshape(perChannel));
  if (bias) y = y.add(bias.reshape(perChannel));
  return y;
}

export interface LayerNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  eps?: number;
}

/** Normalise over the trailing dims given by normalizedShape, with the biased variance. */
export function layerNorm(x: Tensor, normalizedShape: number | readonly number[], opts: LayerNormOptions = {}, who = 'layerNorm'): Tensor {
  const { weight = null, bias = null, eps = 1e-5 } = opts;
  const ns = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
  const tail = x.shape.slice(x.ndim - ns.length);
  if (ns.length > x.ndim || tail.some((s, i) => s !== ns[i])) {
    throw new ShapeError(`${who}: input of shape ${fmtShape(x.shape)} does not end in the normalized shape ${fmtShape(ns)}`);
  }
  if (!isFloat(x.dtype)) throw new DTypeError(`${who}: needs a floating-point input, got ${x.dtype}`);
  const dims = ns.map((_, i) => x.ndim - ns.length + i);
  const mean = x.mean(dims, true);
  const variance = x.var(dims, { correction: 0, keepdim: true });
  let y = x.sub(mean).mul(variance.add(eps).rsqrt());
  if (weight) y = y.mul(weight);
  if (bias) y = y.add(bias);
  return y;
}
