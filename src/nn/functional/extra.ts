import { DTypeError, ShapeError, ValueError, fmtShape } from '../../errors.js';
import { tensor } from '../../tensor/creation.js';
import { isFloat } from '../../tensor/dtype.js';
import type { Tensor } from '../../tensor/tensor.js';
import { clamp, where } from '../../ops/functional.js';
import { indexSelect, stack } from '../../ops/shape-functional.js';
import { avgPool2d } from './conv.js';
import { oneHot } from './basic.js';
import type { LossOptions, Reduction } from './loss.js';

/**
 * More of torch.nn.functional, as PyTorch 1.13 computes it: normalize, cosineSimilarity,
 * groupNorm, adaptiveAvgPool2d, interpolate (nearest, bilinear), and the losses klDiv,
 * cosineEmbeddingLoss, marginRankingLoss, multiMarginLoss. All are compositions of tracked ops,
 * so their gradients (and higher ones) come from the op table.
 */

function reduce(who: string, loss: Tensor, reduction: Reduction | 'batchmean' = 'mean'): Tensor {
  if (reduction === 'mean') return loss.mean();
  if (reduction === 'sum') return loss.sum();
  if (reduction === 'none') return loss;
  if (reduction === 'batchmean' && who === 'klDiv') return loss.sum().div(loss.ndim === 0 ? 1 : loss.shape[0]!);
  throw new ValueError(`${who}: reduction must be 'mean', 'sum' or 'none'${who === 'klDiv' ? " or 'batchmean'" : ''}, got ${JSON.stringify(reduction)}`);
}

function floatInput(who: string, x: Tensor): void {
  if (!isFloat(x.dtype)) throw new DTypeError(`${who}: input must be floating point, got ${x.dtype}`);
}

/** x / max(‖x‖_p over dim, eps), as F.normalize. */
export function normalize(x: Tensor, opts: { p?: number; dim?: number; eps?: number } = {}): Tensor {
  floatInput('normalize', x);
  const p = opts.p ?? 2;
  const dim = opts.dim ?? 1;
  const eps = opts.eps ?? 1e-12;
  const norm = p === 2 ? x.mul(x).sum(dim, true).sqrt() : p === 1 ? x.abs().sum(dim, true) : x.abs().pow(p).sum(dim, true).pow(1 / p);
  return x.div(clamp(norm, eps, null));
}

/** Σ x1·x2 / max(‖x1‖·‖x2‖, eps) over dim, as F.cosine_similarity (inputs broadcast). */
export function cosineSimilarity(x1: Tensor, x2: Tensor, opts: { dim?: number; eps?: number } = {}): Tensor {
  floatInput('cosineSimilarity', x1);
  const dim = opts.dim ?? 1;
  const eps = opts.eps ?? 1e-8;
  const w12 = x1.mul(x2).sum(dim);
  const w1 = x1.mul(x1).sum(dim);
  const w2 = x2.mul(x2).sum(dim);
  return w12.div(clamp(w1.mul(w2), eps * eps, null).sqrt());
}

/** Group normalisation over [N, C, *]: C split into numGroups groups, each normalised over its channels and positions. */
export function groupNorm(x: Tensor, numGroups: number, opts: { weight?: Tensor | null; bias?: Tensor | null; eps?: number } = {}, who = 'groupNorm'): Tensor {
  floatInput(who, x);
  if (x.ndim < 2) throw new ShapeError(`${who}: expected an input [N, C, *], got shape ${fmtShape(x.shape)}`);
  const [N, C] = [x.shape[0]!, x.shape[1]!];
  if (!Number.isInteger(numGroups) || numGroups < 1 || C % numGroups !== 0) {
    throw new ValueError(`${who}: ${C} channels (shape ${fmtShape(x.shape)}) cannot be split into ${numGroups} groups`);
  }
  const g = x.reshape([N, numGroups, -1]);
  const centred = g.sub(g.mean(-1, true));
  const variance = centred.mul(centred).mean(-1, true);
  let y = centred.div(variance.add(opts.eps ?? 1e-5).sqrt()).reshape([...x.shape]);
  const perChannel = [C, ...new Array<number>(x.ndim - 2).fill(1)];
  if (opts.weight) y = y.mul(opts.weight.reshape(perChannel));
  if (opts.bias) y = y.add(opts.bias.reshape(perChannel));
  return y;
}

function outputSize2(who: string, size: number | [number | null, number | null], h: number, w: number): [number, number] {
  const [oh, ow] = typeof size === 'number' ? [size, size] : [size[0] ?? h, size[1] ?? w];
  for (const v of [oh, ow]) if (!Number.isInteger(v) || v < 1) throw new ValueError(`${who}: output size must be positive integers, got ${JSON.stringify(size)}`);
  return [oh, ow];
}

/** Average over adaptive windows: output cell i covers rows ⌊i·H/oh⌋ to ⌈(i+1)·H/oh⌉, as PyTorch. */
export function adaptiveAvgPool2d(x: Tensor, outputSize: number | [number | null, number | null]): Tensor {
  const who = 'adaptiveAvgPool2d';
  floatInput(who, x);
  if (x.ndim !== 3 && x.ndim !== 4) throw new ShapeError(`${who}: expected [C, H, W] or [N, C, H, W], got shape ${fmtShape(x.shape)}`);
  const [H, W] = [x.shape[x.ndim - 2]!, x.shape[x.ndim - 1]!];
  const [oh, ow] = outputSize2(who, outputSize, H, W);
  if (oh === 1 && ow === 1) return x.mean([-2, -1], true);
  if (H % oh === 0 && W % ow === 0) return avgPool2d(x, [H / oh, W / ow]);
  const rows: Tensor[] = [];
  for (let i = 0; i < oh; i++) {
    const r0 = Math.floor((i * H) / oh);
    const r1 = Math.ceil(((i + 1) * H) / oh);
    const band = x.narrow(-2, r0, r1 - r0);
    const cells: Tensor[] = [];
    for (let j = 0; j < ow; j++) {
      const c0 = Math.floor((j * W) / ow);
      const c1 = Math.ceil(((j + 1) * W) / ow);
      cells.push(band.narrow(-1, c0, c1 - c0).mean([-2, -1]));
    }
    rows.push(stack(cells, -1));
  }
  return stack(rows, -2);
}

export interface InterpolateOptions {
  size?: number | [number, number];
  scaleFactor?: number | [number, number];
  mode?: 'nearest' | 'bilinear';
  alignCorners?: boolean;
}

/** Resize [N, C, H, W] (or [C, H, W]) as F.interpolate, nearest or bilinear. */
export function interpolate(x: Tensor, opts: InterpolateOptions): Tensor {
  const who = 'interpolate';
  floatInput(who, x);
  if (x.ndim !== 3 && x.ndim !== 4) throw new ShapeError(`${who}: expected [C, H, W] or [N, C, H, W], got shape ${fmtShape(x.shape)}`);
  const mode = opts.mode ?? 'nearest';
  if (mode !== 'nearest' && mode !== 'bilinear') throw new ValueError(`${who}: mode must be 'nearest' or 'bilinear', got ${JSON.stringify(mode)}`);
  if ((opts.size === undefined) === (opts.scaleFactor === undefined)) throw new ValueError(`${who}: give exactly one of size and scaleFactor`);
  if (mode === 'nearest' && opts.alignCorners !== undefined) throw new ValueError(`${who}: alignCorners only applies to mode 'bilinear'`);
  const ins = [x.shape[x.ndim - 2]!, x.shape[x.ndim - 1]!];
  const sf = opts.scaleFactor === undefined ? null : typeof opts.scaleFactor === 'number' ? [opts.scaleFactor, opts.scaleFactor] : opts.scaleFactor;
  const outs = opts.size !== undefined ? (typeof opts.size === 'number' ? [opts.size, opts.size] : opts.size) : ins.map((n, i) => Math.floor(n * sf![i]!));
  for (const v of outs) if (!Number.isInteger(v) || v < 1) throw new ValueError(`${who}: output size must be positive integers, got ${JSON.stringify(outs)}`);
  let y = x;
  for (let a = 0; a < 2; a++) {
    const dim = x.ndim - 2 + a;
    const n = ins[a]!;
    const m = outs[a]!;
    // PyTorch maps output to input coordinates with 1/scaleFactor when one is given, else in/out.
    const scale = sf !== null ? 1 / sf[a]! : n / m;
    if (mode === 'nearest') {
      const idx = Int32Array.from({ length: m }, (_, i) => Math.min(Math.floor(i * scale), n - 1));
      y = indexSelect(y, dim, tensor(idx, { dtype: 'int32' }));
      continue;
    }
    const lo = new Int32Array(m);
    const hi = new Int32Array(m);
    const frac = new Array<number>(m);
    for (let i = 0; i < m; i++) {
      let src = opts.alignCorners ? (m > 1 ? (i * (n - 1)) / (m - 1) : 0) : (i + 0.5) * scale - 0.5;
      if (src < 0) src = 0;
      const i0 = Math.min(Math.floor(src), n - 1);
      lo[i] = i0;
      hi[i] = Math.min(i0 + 1, n - 1);
      frac[i] = src - i0;
    }
    const shape = new Array<number>(x.ndim).fill(1);
    shape[dim] = m;
    const lam = tensor(frac, { dtype: x.dtype }).reshape(shape);
    const a0 = indexSelect(y, dim, tensor(lo, { dtype: 'int32' }));
    const a1 = indexSelect(y, dim, tensor(hi, { dtype: 'int32' }));
    y = a0.add(a1.sub(a0).mul(lam));
  }
  return y;
}

// ---- losses ------------------------------------------------------------------------------

/** KL divergence with input as log-probabilities: target·(log target − input), 0 where target is 0 (logTarget: target given as log). */
export function klDiv(input: Tensor, target: Tensor, opts: { reduction?: Reduction | 'batchmean'; logTarget?: boolean } = {}): Tensor {
  floatInput('klDiv', input);
  const pointwise = opts.logTarget
    ? target.exp().mul(target.sub(input))
    : where(target.gt(0), target.mul(clamp(target, Number.MIN_VALUE, null).log().sub(input)), target.mul(0).sub(target.mul(input)));
  return reduce('klDiv', pointwise, opts.reduction ?? 'mean');
}

function checkLabels(who: string, y: Tensor, shape: readonly number[]): void {
  if (y.ndim !== shape.length || y.shape.some((d, i) => d !== shape[i])) throw new ShapeError(`${who}: target of shape ${fmtShape(y.shape)} does not match ${fmtShape(shape)}`);
}

/** y = 1: 1 − cos(x1, x2); y = −1: max(0, cos(x1, x2) − margin). x1, x2 [N, D], y [N] of ±1. */
export function cosineEmbeddingLoss(x1: Tensor, x2: Tensor, y: Tensor, opts: LossOptions & { margin?: number } = {}): Tensor {
  const who = 'cosineEmbeddingLoss';
  floatInput(who, x1);
  const cos = cosineSimilarity(x1, x2, { dim: -1, eps: 1e-8 });
  checkLabels(who, y, cos.shape);
  const yf = y.to(x1.dtype);
  const pos = cos.mul(-1).add(1);
  const neg = clamp(cos.sub(opts.margin ?? 0), 0, null);
  return reduce(who, where(yf.gt(0), pos, where(yf.lt(0), neg, pos.mul(0))), opts.reduction);
}

/** max(0, −y·(x1 − x2) + margin). */
export function marginRankingLoss(x1: Tensor, x2: Tensor, y: Tensor, opts: LossOptions & { margin?: number } = {}): Tensor {
  floatInput('marginRankingLoss', x1);
  const loss = clamp(y.to(x1.dtype).mul(-1).mul(x1.sub(x2)).add(opts.margin ?? 0), 0, null);
  return reduce('marginRankingLoss', loss, opts.reduction);
}

/** Multi-class hinge: Σ_{i≠y} max(0, margin − x[y] + x[i])^p · w[y] / C, per row of x [N, C]; y int32 [N]. */
export function multiMarginLoss(x: Tensor, y: Tensor, opts: LossOptions & { p?: 1 | 2; margin?: number; weight?: Tensor | null } = {}): Tensor {
  const who = 'multiMarginLoss';
  floatInput(who, x);
  if (x.ndim !== 2) throw new ShapeError(`${who}: expected input [N, C], got shape ${fmtShape(x.shape)}`);
  if (y.dtype !== 'int32') throw new DTypeError(`${who}: target must hold int32 class indices, got ${y.dtype}`);
  checkLabels(who, y, [x.shape[0]!]);
  const p = opts.p ?? 1;
  if (p !== 1 && p !== 2) throw new ValueError(`${who}: p must be 1 or 2, got ${p}`);
  const C = x.shape[1]!;
  const idx = y.reshape([-1, 1]);
  const xy = x.gather(1, idx);
  let h = clamp(x.sub(xy).add(opts.margin ?? 1), 0, null);
  if (p === 2) h = h.mul(h);
  if (opts.weight) h = h.mul(indexSelect(opts.weight, 0, y).reshape([-1, 1]));
  // The target's own column contributes margin^p (·w): drop it.
  const notTarget = oneHot(y, C).to(x.dtype).mul(-1).add(1);
  return reduce(who, h.mul(notTarget).sum(1).div(C), opts.reduction);
}
