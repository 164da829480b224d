import { ValueError } from '../../errors.js';
import { zeros } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { pair, type Size2 } from '../functional/conv.js';
import type { Conv2dModuleOptions } from './conv.js';
import { conv1d, convTranspose1d, convTranspose2d } from '../functional/conv-transpose.js';
import { kaimingUniform_, uniform_ } from '../init.js';
import { Module } from '../module.js';
import { Parameter } from '../parameter.js';
import type { FactoryOptions } from './linear.js';
import type { DType } from '../../tensor/dtype.js';
import { declareSignature, signature, type Args } from '../../signature.js';

const TAIL = 'paddingMode="zeros" device="cpu" dtype?:dtype';
const CONV1D = declareSignature('nn.Conv1d', signature('Conv1d', `inChannels:int outChannels:int kernelSize:int stride?:int padding?:int dilation?:int groups?:int bias?:bool ${TAIL}`));
const TRANSPOSED = (name: string, k: string) =>
  declareSignature(`nn.${name}`, signature(name, `inChannels:int outChannels:int kernelSize:${k} stride?:${k} padding?:${k} outputPadding?:${k} groups?:int bias?:bool dilation?:${k} ${TAIL}`));
const CONVT1D = TRANSPOSED('ConvTranspose1d', 'int');
const CONVT2D = TRANSPOSED('ConvTranspose2d', 'size');
type Tail = [paddingMode: 'zeros', device: 'cpu' | null, dtype: DType];
type Channels<K> = [inChannels: number, outChannels: number, kernelSize: K];

/**
 * Conv1d, ConvTranspose1d and ConvTranspose2d, as PyTorch's: weights [outC, inC/groups, k] for
 * Conv1d and [inC, outC/groups, k...] for the transposed ones, initialised as PyTorch's _ConvNd
 * (kaiming_uniform(a = √5) of the weight; bias U(−1/√fanIn, 1/√fanIn), fanIn = weight.size(1)·k…).
 */

function resetConv(weight: Parameter, bias: Parameter | null): void {
  kaimingUniform_(weight, { a: Math.sqrt(5) });
  if (bias) {
    const fanIn = weight.shape.slice(1).reduce((a, b) => a * b, 1);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    uniform_(bias, -bound, bound);
  }
}

function checkChannels(who: string, inC: number, outC: number, groups: number): void {
  for (const [k, v] of [['inChannels', inC], ['outChannels', outC]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new ValueError(`${who}: ${k} must be a positive integer, got ${v}`);
  }
  if (!Number.isInteger(groups) || groups < 1 || inC % groups !== 0 || outC % groups !== 0) {
    throw new ValueError(`${who}: inChannels ${inC} and outChannels ${outC} must both be divisible by groups ${groups}`);
  }
}

export interface Conv1dModuleOptions extends FactoryOptions {
  stride?: number;
  padding?: number;
  dilation?: number;
  groups?: number;
  bias?: boolean;
}

export class Conv1d extends Module {
  weight: Parameter;
  bias: Parameter | null;
  readonly stride: number;
  readonly padding: number;
  readonly dilation: number;
  readonly groups: number;

  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;

  constructor(...args: Args<Channels<number>, [stride: number, padding: number, dilation: number, groups: number, bias: boolean, ...Tail], Conv1dModuleOptions>) {
    super();
    const opts = CONV1D.parse<Conv1dModuleOptions & { inChannels: number; outChannels: number; kernelSize: number }>(args);
    const { inChannels, outChannels, kernelSize } = opts;
    [this.inChannels, this.outChannels, this.kernelSize] = [inChannels, outChannels, kernelSize];
    this.stride = opts.stride ?? 1;
    this.padding = opts.padding ?? 0;
    this.dilation = opts.dilation ?? 1;
    this.groups = opts.groups ?? 1;
    checkChannels('Conv1d', inChannels, outChannels, this.groups);
    const dtype = opts.dtype ?? 'float32';
    this.weight = new Parameter(zeros([outChannels, inChannels / this.groups, kernelSize], { dtype }));
    this.bias = opts.bias ?? true ? new Parameter(zeros([outChannels], { dtype })) : null;
    resetConv(this.weight, this.bias);
  }

  override forward(x: Tensor): Tensor {
    return conv1d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups }, this.label());
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernelSize=${this.kernelSize}, stride=${this.stride}, padding=${this.padding}`;
  }
}

export interface ConvTranspose1dModuleOptions extends Conv1dModuleOptions {
  outputPadding?: number;
}

export class ConvTranspose1d extends Module {
  weight: Parameter;
  bias: Parameter | null;
  readonly stride: number;
  readonly padding: number;
  readonly outputPadding: number;
  readonly dilation: number;
  readonly groups: number;

  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;

  constructor(
    ...args: Args<Channels<number>, [stride: number, padding: number, outputPadding: number, groups: number, bias: boolean, dilation: number, ...Tail], ConvTranspose1dModuleOptions>
  ) {
    super();
    const opts = CONVT1D.parse<ConvTranspose1dModuleOptions & { inChannels: number; outChannels: number; kernelSize: number }>(args);
    const { inChannels, outChannels, kernelSize } = opts;
    [this.inChannels, this.outChannels, this.kernelSize] = [inChannels, outChannels, kernelSize];
    this.stride = opts.stride ?? 1;
    this.padding = opts.padding ?? 0;
    this.outputPadding = opts.outputPadding ?? 0;
    this.dilation = opts.dilation ?? 1;
    this.groups = opts.groups ?? 1;
    checkChannels('ConvTranspose1d', inChannels, outChannels, this.groups);
    const dtype = opts.dtype ?? 'float32';
    this.weight = new Parameter(zeros([inChannels, outChannels / this.groups, kernelSize], { dtype }));
    this.bias = opts.bias ?? true ? new Parameter(zeros([outChannels], { dtype })) : null;
    resetConv(this.weight, this.bias);
  }

  override forward(x: Tensor): Tensor {
    const o = { stride: this.stride, padding: this.padding, outputPadding: this.outputPadding, dilation: this.dilation, groups: this.groups };
    return convTranspose1d(x, this.weight, this.bias, o, this.label());
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernelSize=${this.kernelSize}, stride=${this.stride}, padding=${this.padding}, outputPadding=${this.outputPadding}`;
  }
}

/** Conv2d's options and the output padding. */
export interface ConvTranspose2dModuleOptions extends Conv2dModuleOptions {
  outputPadding?: Size2;
}

export class ConvTranspose2d extends Module {
  weight: Parameter;
  bias: Parameter | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly outputPadding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;

  readonly inChannels: number;
  readonly outChannels: number;

  constructor(
    ...args: Args<Channels<Size2>, [stride: Size2, padding: Size2, outputPadding: Size2, groups: number, bias: boolean, dilation: Size2, ...Tail], ConvTranspose2dModuleOptions>
  ) {
    super();
    const opts = CONVT2D.parse<ConvTranspose2dModuleOptions & { inChannels: number; outChannels: number; kernelSize: Size2 }>(args);
    const { inChannels, outChannels, kernelSize } = opts;
    [this.inChannels, this.outChannels] = [inChannels, outChannels];
    this.kernelSize = pair('ConvTranspose2d', 'kernelSize', kernelSize, 1);
    this.stride = pair('ConvTranspose2d', 'stride', opts.stride ?? 1, 1);
    this.padding = pair('ConvTranspose2d', 'padding', opts.padding ?? 0, 0);
    this.outputPadding = pair('ConvTranspose2d', 'outputPadding', opts.outputPadding ?? 0, 0);
    this.dilation = pair('ConvTranspose2d', 'dilation', opts.dilation ?? 1, 1);
    this.groups = opts.groups ?? 1;
    checkChannels('ConvTranspose2d', inChannels, outChannels, this.groups);
    const dtype = opts.dtype ?? 'float32';
    this.weight = new Parameter(zeros([inChannels, outChannels / this.groups, ...this.kernelSize], { dtype }));
    this.bias = opts.bias ?? true ? new Parameter(zeros([outChannels], { dtype })) : null;
    resetConv(this.weight, this.bias);
  }

  override forward(x: Tensor): Tensor {
    const o = { stride: this.stride, padding: this.padding, outputPadding: this.outputPadding, dilation: this.dilation, groups: this.groups };
    return convTranspose2d(x, this.weight, this.bias, o, this.label());
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernelSize=[${this.kernelSize}], stride=[${this.stride}], padding=[${this.padding}], outputPadding=[${this.outputPadding}]`;
  }
}
