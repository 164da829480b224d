import { DTypeError, ShapeError, ValueError, fmtShape } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import { cat } from '../../ops/shape-functional.js';
import { conv2dInputGrad } from '../../ops/rules/conv.js';
import { conv2d, pair, type Size2 } from './conv.js';

/**
 * Transposed convolution (PyTorch's conv_transpose2d / conv_transpose1d) and 1-D convolution.
 *
 * conv_transpose2d of x [N, inC, H, W] with weight [inC, outC/groups, kh, kw] is the gradient of
 * conv2d with respect to its input (the conv2dInputGrad primitive, whose rule differentiates it
 * again): output size (H − 1)·stride − 2·padding + dilation·(k − 1) + outputPadding + 1.
 * conv1d and conv_transpose1d run the 2-D forms on a height-1 image.
 */

export interface ConvTransposeOptions {
  stride?: Size2;
  padding?: Size2;
  outputPadding?: Size2;
  dilation?: Size2;
  groups?: number;
}

export function convTranspose2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: ConvTransposeOptions = {}, who = 'convTranspose2d'): Tensor {
  if (x.ndim !== 3 && x.ndim !== 4) throw new ShapeError(`${who}: expected a 3-D [C, H, W] or 4-D [N, C, H, W] input, got shape ${fmtShape(x.shape)}`);
  if (weight.ndim !== 4) throw new ShapeError(`${who}: weight must be 4-D [inC, outC/groups, kh, kw], got ${fmtShape(weight.shape)}`);
  const x4 = x.ndim === 3 ? x.unsqueeze(0) : x;
  const groups = opts.groups ?? 1;
  const [inC, outPerGroup, kh, kw] = weight.shape as [number, number, number, number];
  if (!Number.isInteger(groups) || groups < 1 || inC % groups !== 0) {
    throw new ValueError(`${who}: groups must be a positive integer dividing the weight's ${inC} input channels, got ${groups}`);
  }
  if (x4.shape[1] !== inC) throw new ShapeError(`${who}: input has ${x4.shape[1]} channels (shape ${fmtShape(x.shape)}) but the weight ${fmtShape(weight.shape)} expects ${inC}`);
  if (x4.dtype !== weight.dtype) throw new DTypeError(`${who}: input is ${x4.dtype} but the weight is ${weight.dtype}`);
  const stride = pair(who, 'stride', opts.stride ?? 1, 1);
  const padding = pair(who, 'padding', opts.padding ?? 0, 0);
  const dilation = pair(who, 'dilation', opts.dilation ?? 1, 1);
  const outPad = pair(who, 'outputPadding', opts.outputPadding ?? 0, 0);
  for (let i = 0; i < 2; i++) {
    if (outPad[i]! >= stride[i]! && outPad[i]! >= dilation[i]!) {
      throw new ValueError(`${who}: outputPadding ${outPad.join(',')} must be smaller than either the stride ${stride.join(',')} or the dilation ${dilation.join(',')}`);
    }
  }
  const [H, W] = [x4.shape[2]!, x4.shape[3]!];
  const size = [0, 1].map((i) => ([H, W][i]! - 1) * stride[i]! - 2 * padding[i]! + dilation[i]! * ([kh, kw][i]! - 1) + outPad[i]! + 1);
  if (size[0]! < 1 || size[1]! < 1) throw new ShapeError(`${who}: the output would be ${size.join('x')} for input ${fmtShape(x.shape)}; padding is too large`);
  const outC = outPerGroup * groups;
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== outC)) throw new ShapeError(`${who}: bias has shape ${fmtShape(bias.shape)}, expected [${outC}]`);
  const geom = { kernel: [kh, kw], stride, padding, dilation };
  let y: Tensor;
  if (groups === 1) y = conv2dInputGrad(x4, weight, size, geom);
  else {
    const inPer = inC / groups;
    const parts: Tensor[] = [];
    for (let g = 0; g < groups; g++) parts.push(conv2dInputGrad(x4.narrow(1, g * inPer, inPer), weight.narrow(0, g * inPer, inPer), size, geom));
    y = cat(parts, 1);
  }
  if (bias) y = y.add(bias.reshape([outC, 1, 1]));
  return x.ndim === 3 ? y.squeeze(0) : y;
}

function one(who: string, what: string, v: number | [number] | undefined, dflt: number): number {
  const n = Array.isArray(v) ? v[0] : (v ?? dflt);
  if (typeof n !== 'number' || !Number.isInteger(n)) throw new ValueError(`${who}: ${what} must be an integer, got ${JSON.stringify(v)}`);
  return n;
}

export interface Conv1dOptions {
  stride?: number | [number];
  padding?: number | [number];
  dilation?: number | [number];
  groups?: number;
}

/** 1-D convolution: x [N, C, L] or [C, L], weight [outC, C/groups, k]. */
export function conv1d(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: Conv1dOptions = {}, who = 'conv1d'): Tensor {
  if (x.ndim !== 2 && x.ndim !== 3) throw new ShapeError(`${who}: expected a 2-D [C, L] or 3-D [N, C, L] input, got shape ${fmtShape(x.shape)}`);
  if (weight.ndim !== 3) throw new ShapeError(`${who}: weight must be 3-D [outC, inC/groups, k], got ${fmtShape(weight.shape)}`);
  const s = one(who, 'stride', opts.stride, 1);
  const p = one(who, 'padding', opts.padding, 0);
  const d = one(who, 'dilation', opts.dilation, 1);
  const y = conv2d(x.unsqueeze(-2), weight.unsqueeze(2), bias, { stride: [1, s], padding: [0, p], dilation: [1, d], groups: opts.groups ?? 1 }, who);
  return y.squeeze(-2);
}

export interface ConvTranspose1dOptions extends Conv1dOptions {
  outputPadding?: number | [number];
}

/** 1-D transposed convolution: x [N, inC, L] or [inC, L], weight [inC, outC/groups, k]. */
export function convTranspose1d(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: ConvTranspose1dOptions = {}, who = 'convTranspose1d'): Tensor {
  if (x.ndim !== 2 && x.ndim !== 3) throw new ShapeError(`${who}: expected a 2-D [C, L] or 3-D [N, C, L] input, got shape ${fmtShape(x.shape)}`);
  if (weight.ndim !== 3) throw new ShapeError(`${who}: weight must be 3-D [inC, outC/groups, k], got ${fmtShape(weight.shape)}`);
  const s = one(who, 'stride', opts.stride, 1);
  const p = one(who, 'padding', opts.padding, 0);
  const d = one(who, 'dilation', opts.dilation, 1);
  const op = one(who, 'outputPadding', opts.outputPadding, 0);
  const y = convTranspose2d(x.unsqueeze(-2), weight.unsqueeze(2), bias, { stride: [1, s], padding: [0, p], dilation: [1, d], outputPadding: [0, op], groups: opts.groups ?? 1 }, who);
  return y.squeeze(-2);
}
