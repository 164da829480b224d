import { kernel } from '../../backend/dispatch.js';
import type { FloatArray } from '../../backend/types.js';
import { apply } from '../../ops/registry.js';
import { DTypeError, IndexError, ShapeError, ValueError, fmtShape } from '../../errors.js';
import { where } from '../../ops/functional.js';
import { isFloat } from '../../tensor/dtype.js';
import { Tensor } from '../../tensor/tensor.js';
import { Function as AutogradFunction, FunctionCtx } from '../../autograd/function.js';

export type Reduction = 'mean' | 'sum' | 'none';

export interface LossOptions {
  reduction?: Reduction;
}

function reduce(who: string, loss: Tensor, reduction: Reduction = 'mean'): Tensor {
  if (reduction === 'mean') return loss.mean();
  if (reduction === 'sum') return loss.sum();
  if (reduction === 'none') return loss;
  throw new ValueError(`${who}: reduction must be 'mean', 'sum' or 'none', got ${JSON.stringify(reduction)}`);
}

/** Input and target must have the same shape: silently broadcasting [N,1] against [N] is a classic bug. */
function sameShapes(who: string, input: Tensor, target: Tensor): void {
  if (input.ndim !== target.ndim || input.shape.some((s, i) => s !== target.shape[i])) {
    throw new ShapeError(`${who}: input of shape ${fmtShape(input.shape)} and target of shape ${fmtShape(target.shape)} differ; reshape one to match`);
  }
  if (!isFloat(input.dtype)) throw new DTypeError(`${who}: input must be floating point, got ${input.dtype}`);
}

/**
 * Mean squared error, (input − target)² reduced. The seeds' convention ½Σ(a − y)² is
 * `mseLoss(a, y, { reduction: 'sum' }).mul(0.5)`, whose gradient is exactly a − y.
 */
export function mseLoss(input: Tensor, target: Tensor, opts: LossOptions = {}): Tensor {
  sameShapes('mseLoss', input, target);
  return reduce('mseLoss', input.sub(target).square(), opts.reduction);
}

export function l1Loss(input: Tensor, target: Tensor, opts: LossOptions = {}): Tensor {
  sameShapes('l1Loss', input, target);
  return reduce('l1Loss', input.sub(target).abs(), opts.reduction);
}

/** ½d² where |d| < delta, else delta·(|d| − ½delta). */
export function huberLoss(input: Tensor, target: Tensor, opts: LossOptions & { delta?: number } = {}): Tensor {
  sameShapes('huberLoss', input, target);
  const delta = opts.delta ?? 1;
  if (!(delta > 0)) throw new ValueError(`huberLoss: delta must be positive, got ${delta}`);
  const d = input.sub(target);
  const a = d.abs();
  return reduce('huberLoss', where(a.lt(delta), d.square().mul(0.5), a.sub(0.5 * delta).mul(delta)), opts.reduction);
}

/** ½d²/beta where |d| < beta, else |d| − ½beta (beta 0 is the L1 loss). */
export function smoothL1Loss(input: Tensor, target: Tensor, opts: LossOptions & { beta?: number } = {}): Tensor {
  sameShapes('smoothL1Loss', input, target);
  const beta = opts.beta ?? 1;
  if (!(beta >= 0)) throw new ValueError(`smoothL1Loss: beta must be non-negative, got ${beta}`);
  const d = input.sub(target);
  const a = d.abs();
  if (beta === 0) return reduce('smoothL1Loss', a, opts.reduction);
  return reduce('smoothL1Loss', where(a.lt(beta), d.square().mul(0.5 / beta), a.sub(0.5 * beta)), opts.reduction);
}

export interface BceOptions extends LossOptions {
  /** Rescales each element's loss; broadcast against the input. */
  weight?: Tensor | null;
}

/**
 * −[y·log p + (1 − y)·log(1 − p)] for probabilities p in [0, 1]. Each log is clamped at
 * −100 as PyTorch does, so p = 0 or 1 gives a finite loss. Prefer binaryCrossEntropyWithLogits
 * on logits: it is exact where sigmoid saturates.
 */
export function binaryCrossEntropy(input: Tensor, target: Tensor, opts: BceOptions = {}): Tensor {
  sameShapes('binaryCrossEntropy', input, target);
  const probs = input.dataSync();
  for (let i = 0; i < probs.length; i++) {
    const v = probs[i]!;
    if (!(v >= 0 && v <= 1)) throw new ValueError(`binaryCrossEntropy: all input elements should be between 0 and 1, got ${v} at position ${i}; pass logits to binaryCrossEntropyWithLogits instead`);
  }
  let loss = BinaryCrossEntropy.apply(input, target);
  if (opts.weight) loss = loss.mul(opts.weight);
  return reduce('binaryCrossEntropy', loss, opts.reduction);
}

/**
 * Pointwise −(y·max(log p, −100) + (1 − y)·max(log(1 − p), −100)) with PyTorch's gradients:
 * d/dp = (p − y) / max(p·(1 − p), 1e-12), finite where a float32 sigmoid saturates to exactly 0
 * or 1 (differentiating the clamped logs instead gives 0·∞ = NaN there);
 * d/dy = max(log(1 − p), −100) − max(log p, −100). The backward is written with tracked ops, so
 * it can be differentiated again.
 */
class BinaryCrossEntropy extends AutogradFunction {
  static override forward(ctx: FunctionCtx, p: Tensor, y: Tensor): Tensor {
    ctx.saveForBackward(p, y);
    const logP = p.log().clamp(-100);
    const log1mP = p.neg().add(1).log().clamp(-100);
    return y.mul(logP).add(y.neg().add(1).mul(log1mP)).neg();
  }

  static override backward(ctx: FunctionCtx, g: Tensor): (Tensor | null)[] {
    const [p, y] = ctx.savedTensors as [Tensor, Tensor];
    const gp = ctx.needsInputGrad[0] ? g.mul(p.sub(y)).div(p.mul(p.neg().add(1)).clamp(1e-12)) : null;
    const gy = ctx.needsInputGrad[1] ? g.mul(p.neg().add(1).log().clamp(-100).sub(p.log().clamp(-100))) : null;
    return [gp, gy];
  }
}

export interface BceWithLogitsOptions extends BceOptions {
  /** Weight of the positive term, one per class (broadcast over the last dim). */
  posWeight?: Tensor | null;
}

/**
 * Binary cross-entropy of sigmoid(x), computed stably as
 * max(x, 0) − x·y + log(1 + exp(−|x|)): finite, with the exact gradient sigmoid(x) − y, even
 * for logits of ±100. With posWeight pw the positive term is scaled:
 * (1 − y)·x + (1 + (pw − 1)·y)·(log(1 + exp(−|x|)) + max(−x, 0)).
 */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, opts: BceWithLogitsOptions = {}): Tensor {
  sameShapes('binaryCrossEntropyWithLogits', input, target);
  const softTail = input.abs().neg().exp().log1p();
  let loss: Tensor;
  if (opts.posWeight) {
    const logWeight = opts.posWeight.sub(1).mul(target).add(1);
    loss = target.neg().add(1).mul(input).add(logWeight.mul(softTail.add(input.neg().relu())));
  } else {
    loss = input.relu().sub(input.mul(target)).add(softTail);
  }
  if (opts.weight) loss = loss.mul(opts.weight);
  return reduce('binaryCrossEntropyWithLogits', loss, opts.reduction);
}

export interface NllOptions extends LossOptions {
  /** Per-class weight, shape [C]. */
  weight?: Tensor | null;
  /** Targets equal to this contribute nothing, to the loss or to the mean's denominator. */
  ignoreIndex?: number;
}

/** Check class-index targets against [N, C, d1, ...] scores; returns the per-target weights (0 where ignored). */
function classTargets(who: string, scores: Tensor, target: Tensor, weight: Tensor | null, ignoreIndex: number): { safe: Tensor; w: Tensor } {
  if (target.dtype !== 'int32') throw new DTypeError(`${who}: class-index targets must be int32, got ${target.dtype}; use target.to('int32')`);
  const expected = [scores.shape[0]!, ...scores.shape.slice(2)];
  if (target.ndim !== expected.length || target.shape.some((s, i) => s !== expected[i])) {
    throw new ShapeError(`${who}: input of shape ${fmtShape(scores.shape)} and target of shape ${fmtShape(target.shape)} do not match (expected target shape ${fmtShape(expected)})`);
  }
  const c = scores.shape[1]!;
  if (weight && (weight.ndim !== 1 || weight.shape[0] !== c)) {
    throw new ShapeError(`${who}: weight has shape ${fmtShape(weight.shape)}, expected [${c}], one per class`);
  }
  // The range check reads the targets (a storage read); the kernel builds the two tensors.
  const classes = target.dataSync() as Int32Array;
  for (let i = 0; i < classes.length; i++) {
    const t = classes[i]!;
    if (t !== ignoreIndex && (t < 0 || t >= c)) throw new IndexError(`${who}: target ${t} is out of range for ${c} classes (valid 0 to ${c - 1})`);
  }
  const safe = new Tensor(new Int32Array(classes.length), target.shape, 'int32');
  const w = Tensor.empty(target.shape, scores.dtype);
  kernel('classWeights', classes.length, scores.dtype)(classes, ignoreIndex, weight ? weight.dataSync() : null, safe.typedData as Int32Array, w.typedData as FloatArray);
  return { safe, w };
}

/** Unbatched [C] scores with a 0-d target become a batch of one; the result is unbatched again. */
function batchOf(input: Tensor, target: Tensor): [Tensor, Tensor, (t: Tensor) => Tensor] {
  if (input.ndim === 1) return [input.unsqueeze(0), target.reshape([1, ...target.shape]), (t) => (t.ndim ? t.squeeze(0) : t)];
  return [input, target, (t) => t];
}

function nll(who: string, logp: Tensor, target: Tensor, opts: NllOptions): { loss: Tensor; w: Tensor } {
  const { safe, w } = classTargets(who, logp, target, opts.weight ?? null, opts.ignoreIndex ?? -100);
  const picked = logp.gather(1, safe.unsqueeze(1)).squeeze(1);
  return { loss: picked.mul(w).neg(), w };
}

function reduceWeighted(who: string, loss: Tensor, w: Tensor, reduction: Reduction = 'mean'): Tensor {
  // The mean divides by the total weight of the targets that count, as PyTorch.
  return reduction === 'mean' ? loss.sum().div(w.sum()) : reduce(who, loss, reduction);
}

/**
 * Negative log-likelihood of log-probabilities [N, C, d1, ...] (or [C]) at int32 class
 * targets [N, d1, ...]: −weight[t]·input[n, t]. The mean divides by the summed weights of
 * the targets that are not ignored.
 */
export function nllLoss(input: Tensor, target: Tensor, opts: NllOptions = {}): Tensor {
  const [x, t, unbatch] = batchOf(input, target);
  if (x.ndim < 2) throw new ShapeError(`nllLoss: input must be [N, C, ...] or [C], got shape ${fmtShape(input.shape)}`);
  const { loss, w } = nll('nllLoss', x, t, opts);
  return unbatch(reduceWeighted('nllLoss', loss, w, opts.reduction));
}

export interface CrossEntropyOptions extends NllOptions {
  /** Mix the target with the uniform distribution: (1 − ε)·target + ε/C. */
  labelSmoothing?: number;
}

/**
 * Cross-entropy of logits [N, C, d1, ...] (or [C]) against either int32 class indices
 * [N, d1, ...] or class probabilities of the logits' shape, with PyTorch's semantics for
 * weight, ignoreIndex (index targets only) and labelSmoothing. Its gradient with respect to
 * the logits is softmax − target (per sample, before the reduction).
 */
export function crossEntropy(input: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const who = 'crossEntropy';
  const eps = opts.labelSmoothing ?? 0;
  if (!(eps >= 0 && eps <= 1)) throw new ValueError(`${who}: labelSmoothing must be in [0, 1], got ${eps}`);
  if (!isFloat(input.dtype)) throw new DTypeError(`${who}: input must be floating-point logits, got ${input.dtype}`);
  const weight = opts.weight ?? null;
  const reduction = opts.reduction ?? 'mean';
  if (isFloat(target.dtype)) {
    const indexShape = input.ndim === 1 ? [] : [input.shape[0]!, ...input.shape.slice(2)];
    if (target.ndim === indexShape.length && target.shape.every((d, i) => d === indexShape[i]) && input.ndim !== target.ndim) {
      // PyTorch habit: labels made with tensor([...]) are float32 here (JavaScript has no integer literals).
      throw new DTypeError(
        `${who}: class-index targets must be int32, got ${target.dtype} labels of shape ${fmtShape(target.shape)}; use labels.to('int32') ` +
          `(or tensor(labels, { dtype: 'int32' })). Float targets are class probabilities and must have the input's shape ${fmtShape(input.shape)}`,
      );
    }
    sameShapesProb(who, input, target);
    const [x, t, unbatch] = batchOf(input, target);
    return unbatch(probTargets(who, x, t, weight, eps, reduction));
  }
  const [x, t, unbatch] = batchOf(input, target);
  if (x.ndim < 2) throw new ShapeError(`${who}: input must be [N, C, ...] or [C], got shape ${fmtShape(input.shape)}`);
  const c = x.shape[1]!;
  if (eps === 0 && x.ndim === 2 && x.shape[0]! > 0 && c > 0 && (reduction === 'mean' || reduction === 'sum' || reduction === 'none')) {
    // The common case as one fused op (softmax kept for the backward): see ops/rules/fused.ts.
    // Targets on a device are checked through their host copy (they were uploaded: a batch's
    // labels), and the checked indices and weights go to the logits' device.
    const tHost = t.device === 'cpu' ? t : t.cpu();
    const wHost = weight === null || weight.device === 'cpu' ? weight : weight.cpu();
    const { safe, w } = classTargets(who, x, tHost, wHost, opts.ignoreIndex ?? -100);
    const wSum = new Float64Array(1);
    kernel('sumF64', w.typedData.length, w.dtype)(w.typedData, wSum, 0);
    const onX = (u: Tensor): Tensor => (u.device === x.device ? u : u.to(x.device));
    if (reduction !== 'mean' || wSum[0]! > 0) return unbatch(apply('crossEntropyIndex', [x, onX(safe), onX(w)], { reduction }));
  }
  const logp = x.logSoftmax(1);
  const { loss, w } = nll(who, logp, t, opts);
  const nllPart = reduceWeighted(who, loss, w, reduction);
  if (eps === 0) return unbatch(nllPart);
  // The smoothing term: −Σ_c weight_c·logp_c per target, zero where ignored, normalised like the nll.
  const wc = weight ? weight.reshape([1, c, ...x.shape.slice(2).map(() => 1)]) : null;
  const keep = t.ne(opts.ignoreIndex ?? -100).to(x.dtype);
  const smooth = (wc ? logp.mul(wc) : logp).sum(1).neg().mul(keep);
  const smoothPart = reduction === 'mean' ? smooth.sum().div(weight ? w.sum() : keep.sum()) : reduce(who, smooth, reduction);
  return unbatch(nllPart.mul(1 - eps).add(smoothPart.mul(eps / c)));
}

function sameShapesProb(who: string, input: Tensor, target: Tensor): void {
  if (input.ndim !== target.ndim || input.shape.some((s, i) => s !== target.shape[i])) {
    throw new ShapeError(`${who}: probability targets must have the input's shape: input ${fmtShape(input.shape)}, target ${fmtShape(target.shape)}`);
  }
}

function probTargets(who: string, x: Tensor, target: Tensor, weight: Tensor | null, eps: number, reduction: Reduction): Tensor {
  const c = x.shape[1]!;
  if (weight && (weight.ndim !== 1 || weight.shape[0] !== c)) {
    throw new ShapeError(`${who}: weight has shape ${fmtShape(weight.shape)}, expected [${c}], one per class`);
  }
  const t = eps > 0 ? target.mul(1 - eps).add(eps / c) : target;
  let terms = x.logSoftmax(1).mul(t);
  if (weight) terms = terms.mul(weight.reshape([1, c, ...x.shape.slice(2).map(() => 1)]));
  const perSample = terms.sum(1).neg();
  // The mean is over samples (and positions), not over the weights.
  return reduction === 'mean' ? perSample.sum().div(x.numel() / c) : reduce(who, perSample, reduction);
}
