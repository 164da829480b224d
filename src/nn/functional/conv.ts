import { DTypeError, ShapeError, ValueError, fmtShape } from '../../errors.js';
import { matmulT } from '../../ops/internal.js';
import { col2im, conv2d as conv2dOp, im2col, im2colK, maxPool2d as maxPool2dOp, windowCount, type WindowGeometry } from '../../ops/rules/conv.js';
import type { Activation } from '../../ops/rules/epilogue.js';
import { isFloat } from '../../tensor/dtype.js';
import { applyActivation } from './basic.js';
import { Tensor } from '../../tensor/tensor.js';

/** A size given as one number for both spatial dims, or as [height, width]. */
export type Size2 = number | readonly [number, number] | readonly number[];

export function pair(who: string, what: string, v: Size2, min: number): [number, number] {
  const p = typeof v === 'number' ? [v, v] : [...v];
  if (p.length !== 2 || p.some((e) => !Number.isInteger(e) || e! < min)) {
    throw new ValueError(`${who}: ${what} must be an integer ≥ ${min} or a pair of them, got ${JSON.stringify(v)}`);
  }
  return p as [number, number];
}

export interface WindowOptions {
  stride?: Size2;
  padding?: Size2;
  dilation?: Size2;
}

/** Resolve and check a sliding-window geometry over an input of spatial size [h, w]. */
function geometryFor(who: string, x: Tensor, kernelSize: Size2, o: WindowOptions, defaultStride: Size2): WindowGeometry & { out: [number, number] } {
  const kernel = pair(who, 'kernelSize', kernelSize, 1);
  const stride = pair(who, 'stride', o.stride ?? defaultStride, 1);
  const padding = pair(who, 'padding', o.padding ?? 0, 0);
  const dilation = pair(who, 'dilation', o.dilation ?? 1, 1);
  const [h, w] = x.shape.slice(-2) as [number, number];
  const out: [number, number] = [
    windowCount(h, kernel[0], stride[0], padding[0], dilation[0]),
    windowCount(w, kernel[1], stride[1], padding[1], dilation[1]),
  ];
  if (out[0] <= 0 || out[1] <= 0) {
    throw new ShapeError(
      `${who}: input of spatial size ${h}x${w} (shape ${fmtShape(x.shape)}) is too small for kernel ${kernel.join('x')} ` +
        `with padding ${padding.join(',')} and dilation ${dilation.join(',')}: the output would be ${out.join('x')}`,
    );
  }
  return { kernel, stride, padding, dilation, out };
}

/** Accept [N,C,H,W] or an unbatched [C,H,W]; returns the 4-D input and how to undo the batching. */
function batched(who: string, x: Tensor): [Tensor, (y: Tensor) => Tensor] {
  if (!isFloat(x.dtype)) throw new DTypeError(`${who}: needs a floating-point input, got ${x.dtype}`);
  if (x.ndim === 4) return [x, (y) => y];
  if (x.ndim === 3) return [x.unsqueeze(0), (y) => y.squeeze(0)];
  throw new ShapeError(`${who}: expects a 4-D [N,C,H,W] (or 3-D [C,H,W]) input, got shape ${fmtShape(x.shape)}`);
}

/** PyTorch's F.unfold: every kernel window as a column, [N,C,H,W] → [N, C·kh·kw, L]. */
export function unfold(x: Tensor, kernelSize: Size2, opts: WindowOptions = {}): Tensor {
  const [x4] = batched('unfold', x);
  return im2col(x4, geometryFor('unfold', x4, kernelSize, opts, 1));
}

/** PyTorch's F.fold: columns [N, C·kh·kw, L] summed back into an [N, C, H, W] image of outputSize. */
export function fold(cols: Tensor, outputSize: Size2, kernelSize: Size2, opts: WindowOptions = {}): Tensor {
  const [h, w] = pair('fold', 'outputSize', outputSize, 1);
  if (cols.ndim !== 3) throw new ShapeError(`fold: expects a 3-D [N, C·kh·kw, L] input, got shape ${fmtShape(cols.shape)}`);
  const probe = new Tensor(new Float32Array(h * w), [1, 1, h, w], 'float32');
  const g = geometryFor('fold', probe, kernelSize, opts, 1);
  const kk = g.kernel[0]! * g.kernel[1]!;
  if (cols.shape[1]! % kk !== 0 || cols.shape[2] !== g.out[0] * g.out[1]) {
    throw new ShapeError(`fold: input of shape ${fmtShape(cols.shape)} does not fit a ${g.kernel.join('x')} kernel over ${h}x${w} (need dim 1 a multiple of ${kk} and ${g.out[0] * g.out[1]} blocks)`);
  }
  return col2im(cols, [h, w], g);
}

export interface Conv2dOptions extends WindowOptions {
  groups?: number;
}

/**
 * 2-D convolution (cross-correlation, as PyTorch) over NCHW input with weight
 * [outC, inC/groups, kh, kw]: im2col, then one matrix product for the whole batch.
 */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: Conv2dOptions = {}, who = 'conv2d'): Tensor {
  return convWithActivation(x, weight, bias, opts, who, 'none');
}

/** activation(conv2d(x, ...)) as one op where it can be (nn.Sequential's Conv2d + an activation): the same bits. */
export function fusedConv2d(x: Tensor, weight: Tensor, bias: Tensor | null, activation: Activation, opts: Conv2dOptions = {}, who = 'conv2d'): Tensor {
  return convWithActivation(x, weight, bias, opts, who, activation);
}

function convWithActivation(x: Tensor, weight: Tensor, bias: Tensor | null, opts: Conv2dOptions, who: string, activation: Activation): Tensor {
  const [x4, unbatch] = batched(who, x);
  if (weight.ndim !== 4) throw new ShapeError(`${who}: weight must be 4-D [outC, inC, kh, kw], got shape ${fmtShape(weight.shape)}`);
  const groups = opts.groups ?? 1;
  const [outC, inPerGroup, kh, kw] = weight.shape as [number, number, number, number];
  const inC = x4.shape[1]!;
  if (!Number.isInteger(groups) || groups < 1 || outC % groups !== 0) {
    throw new ValueError(`${who}: groups must be a positive integer dividing outChannels ${outC}, got ${groups}`);
  }
  if (inC !== inPerGroup * groups) {
    throw new ShapeError(
      `${who}: input has ${inC} channels (shape ${fmtShape(x.shape)}) but the weight ${fmtShape(weight.shape)} expects ${inPerGroup * groups}` +
        (groups > 1 ? ` (${inPerGroup} per group × ${groups} groups)` : ''),
    );
  }
  if (x4.dtype !== weight.dtype) throw new DTypeError(`${who}: input is ${x4.dtype} but the weight is ${weight.dtype}`);
  const g = geometryFor(who, x4, [kh, kw], opts, 1);
  const n = x4.shape[0]!;
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== outC)) {
    throw new ShapeError(`${who}: bias has shape ${fmtShape(bias.shape)}, expected [${outC}], one per output channel`);
  }
  if (bias && bias.dtype !== weight.dtype) throw new DTypeError(`${who}: bias is ${bias.dtype} but the weight is ${weight.dtype}`);
  if (groups === 1) return unbatch(conv2dOp(x4, weight, bias, g, activation));
  // [N, G, inC/G·kh·kw, L] against [G, outC/G, inC/G·kh·kw]: one batched product over the groups.
  const cols = im2col(x4, g).reshape([n, groups, inPerGroup * kh * kw, -1]);
  let y = matmulT(weight.reshape([groups, outC / groups, inPerGroup * kh * kw]), cols, false, false);
  y = y.reshape([n, outC, g.out[0], g.out[1]]);
  if (bias) y = y.add(bias.reshape([outC, 1, 1]));
  return unbatch(applyActivation(activation, y));
}

export interface PoolOptions {
  stride?: Size2 | null;
  padding?: Size2;
}

function poolGeometry(who: string, x4: Tensor, kernelSize: Size2, opts: PoolOptions & { dilation?: Size2 }) {
  const g = geometryFor(who, x4, kernelSize, { ...opts, stride: opts.stride ?? undefined }, kernelSize);
  if (g.padding[0]! * 2 > g.kernel[0]! || g.padding[1]! * 2 > g.kernel[1]!) {
    throw new ValueError(`${who}: padding ${g.padding.join(',')} should be at most half of the kernel size ${g.kernel.join('x')}`);
  }
  return g;
}

/**
 * Largest value of each window, as PyTorch's max_pool2d: stride defaults to the kernel size, the
 * padding never wins, and each window passes its gradient to one element, the first largest in
 * the window's row-major order (a NaN wins, the last one); see ops/rules/conv.ts.
 */
export function maxPool2d(x: Tensor, kernelSize: Size2, opts: PoolOptions & { dilation?: Size2 } = {}): Tensor {
  const [x4, unbatch] = batched('maxPool2d', x);
  return unbatch(maxPool2dOp(x4, poolGeometry('maxPool2d', x4, kernelSize, opts)));
}

export interface AvgPoolOptions extends PoolOptions {
  /** Count padded positions in the divisor (default true, as PyTorch). */
  countIncludePad?: boolean;
  divisorOverride?: number | null;
}

/** Mean of each window; stride defaults to the kernel size. */
export function avgPool2d(x: Tensor, kernelSize: Size2, opts: AvgPoolOptions = {}): Tensor {
  const [x4, unbatch] = batched('avgPool2d', x);
  const g = poolGeometry('avgPool2d', x4, kernelSize, opts);
  const [n, c] = x4.shape as [number, number];
  const windows = im2col(x4, g).reshape([n, c, g.kernel[0]! * g.kernel[1]!, g.out[0] * g.out[1]]);
  const sums = windows.sum(2);
  let y: Tensor;
  if (opts.divisorOverride) y = sums.div(opts.divisorOverride);
  else if (opts.countIncludePad ?? true) y = sums.div(g.kernel[0]! * g.kernel[1]!);
  else {
    // How many real (not padded) pixels each window covers: the windows of an all-ones image.
    const [h, w] = x4.shape.slice(2) as [number, number];
    const ones = new Tensor(new Float64Array(h * w).fill(1), [1, 1, h, w], 'float64');
    const counts = im2colK(ones, g, 0).sum(1).to(x4.dtype);
    y = sums.div(counts.reshape([g.out[0] * g.out[1]]));
  }
  return unbatch(y.reshape([n, c, g.out[0], g.out[1]]));
}
