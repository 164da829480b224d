import { ValueError } from '../../errors.js';
import { checkInt, checkLayerSizes } from '../../tensor/checks.js';
import { zeros } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { avgPool2d, conv2d, fusedConv2d, maxPool2d, pair, type Size2 } from '../functional/conv.js';
import { kaimingUniform_, uniform_ } from '../init.js';
import { Module, type AnyModule } from '../module.js';
import { Parameter } from '../parameter.js';
import type { FactoryOptions } from './linear.js';
import type { DType } from '../../tensor/dtype.js';
import { declareSignature, signature, type Args } from '../../signature.js';

const CONV2D = declareSignature(
  'nn.Conv2d',
  signature('Conv2d', 'inChannels:int outChannels:int kernelSize:size stride?:size padding?:size dilation?:size groups?:int bias?:bool paddingMode="zeros" device="cpu" dtype?:dtype'),
);
const MAXPOOL = declareSignature('nn.MaxPool2d', signature('MaxPool2d', 'kernelSize:size stride?:size|null padding?:size dilation?:size returnIndices=false ceilMode=false'));
const AVGPOOL = declareSignature(
  'nn.AvgPool2d',
  signature('AvgPool2d', 'kernelSize:size stride?:size|null padding?:size ceilMode=false countIncludePad?:bool divisorOverride?:int|null'),
);

export interface Conv2dModuleOptions extends FactoryOptions {
  stride?: Size2;
  padding?: Size2;
  dilation?: Size2;
  groups?: number;
  bias?: boolean;
}

/**
 * 2-D convolution over NCHW input; weight [outC, inC/groups, kh, kw]. PyTorch's default
 * initialisation: kaiming_uniform(a = √5) for the weight, U(−1/√fanIn, 1/√fanIn) for the bias,
 * fanIn = inC/groups·kh·kw.
 */
export class Conv2d extends Module {
  weight: Parameter;
  bias: Parameter | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;

  readonly inChannels: number;
  readonly outChannels: number;

  constructor(
    ...args: Args<
      [inChannels: number, outChannels: number, kernelSize: Size2],
      [stride: Size2, padding: Size2, dilation: Size2, groups: number, bias: boolean, paddingMode: 'zeros', device: 'cpu' | null, dtype: DType],
      Conv2dModuleOptions
    >
  ) {
    super();
    const opts = CONV2D.parse<Conv2dModuleOptions & { inChannels: number; outChannels: number; kernelSize: Size2 }>(args);
    const { inChannels, outChannels, kernelSize } = opts;
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = pair('Conv2d', 'kernelSize', kernelSize, 1);
    this.stride = pair('Conv2d', 'stride', opts.stride ?? 1, 1);
    this.padding = pair('Conv2d', 'padding', opts.padding ?? 0, 0);
    this.dilation = pair('Conv2d', 'dilation', opts.dilation ?? 1, 1);
    this.groups = checkInt('Conv2d', 'groups', opts.groups ?? 1, { min: 1 });
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      throw new ValueError(`Conv2d: inChannels ${inChannels} and outChannels ${outChannels} must both be divisible by groups ${this.groups}`);
    }
    const dtype = checkLayerSizes('Conv2d', { inChannels, outChannels }, [outChannels, inChannels / this.groups, ...this.kernelSize], opts.dtype);
    this.weight = new Parameter(zeros([outChannels, inChannels / this.groups, ...this.kernelSize], { dtype }));
    this.bias = opts.bias ?? true ? new Parameter(zeros([outChannels], { dtype })) : null;
    this.resetParameters();
  }

  resetParameters(): void {
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const fanIn = (this.inChannels / this.groups) * this.kernelSize[0] * this.kernelSize[1];
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      uniform_(this.bias, -bound, bound);
    }
  }

  override forward(x: Tensor): Tensor {
    const { stride, padding, dilation, groups } = this;
    return conv2d(x, this.weight, this.bias, { stride, padding, dilation, groups }, this.label());
  }

  /** This forward and a following activation module as one conv2d op (see Module.fuseWith). */
  override fuseWith(next: AnyModule): ((x: Tensor) => Tensor) | null {
    const act = next.fusedActivation();
    if (act === null || !this.runsOwnForward(Conv2d)) return null;
    const { stride, padding, dilation, groups } = this;
    return (x) => fusedConv2d(x, this.weight, this.bias, act, { stride, padding, dilation, groups }, this.label());
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernelSize=[${this.kernelSize}], stride=[${this.stride}]`;
    if (this.padding.some((p) => p !== 0)) s += `, padding=[${this.padding}]`;
    if (this.dilation.some((d) => d !== 1)) s += `, dilation=[${this.dilation}]`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (!this.bias) s += ', bias=false';
    return s;
  }
}

export interface PoolModuleOptions {
  /** Defaults to the kernel size. */
  stride?: Size2 | null;
  padding?: Size2;
}

/** Largest value in each window (padding counts as −∞). */
export class MaxPool2d extends Module {
  readonly stride: Size2;
  readonly padding: Size2;
  readonly dilation: Size2;
  readonly kernelSize: Size2;

  constructor(
    ...args: Args<[kernelSize: Size2], [stride: Size2 | null, padding: Size2, dilation: Size2, returnIndices: false, ceilMode: false], PoolModuleOptions & { dilation?: Size2 }>
  ) {
    super();
    const opts = MAXPOOL.parse<PoolModuleOptions & { dilation?: Size2; kernelSize: Size2 }>(args);
    const kernelSize = (this.kernelSize = opts.kernelSize);
    this.stride = opts.stride ?? kernelSize;
    this.padding = opts.padding ?? 0;
    this.dilation = opts.dilation ?? 1;
  }

  override forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernelSize, { stride: this.stride, padding: this.padding, dilation: this.dilation });
  }

  override extraRepr(): string {
    return `kernelSize=${JSON.stringify(this.kernelSize)}, stride=${JSON.stringify(this.stride)}, padding=${JSON.stringify(this.padding)}`;
  }
}

/** Mean of each window. */
export class AvgPool2d extends Module {
  readonly stride: Size2;
  readonly padding: Size2;
  readonly countIncludePad: boolean;
  readonly divisorOverride: number | null;
  readonly kernelSize: Size2;

  constructor(
    ...args: Args<
      [kernelSize: Size2],
      [stride: Size2 | null, padding: Size2, ceilMode: false, countIncludePad: boolean, divisorOverride: number | null],
      PoolModuleOptions & { countIncludePad?: boolean; divisorOverride?: number | null }
    >
  ) {
    super();
    const opts = AVGPOOL.parse<PoolModuleOptions & { countIncludePad?: boolean; divisorOverride?: number | null; kernelSize: Size2 }>(args);
    const kernelSize = (this.kernelSize = opts.kernelSize);
    this.stride = opts.stride ?? kernelSize;
    this.padding = opts.padding ?? 0;
    this.countIncludePad = opts.countIncludePad ?? true;
    this.divisorOverride = opts.divisorOverride ?? null;
  }

  override forward(x: Tensor): Tensor {
    const { stride, padding, countIncludePad, divisorOverride } = this;
    return avgPool2d(x, this.kernelSize, { stride, padding, countIncludePad, divisorOverride });
  }

  override extraRepr(): string {
    return `kernelSize=${JSON.stringify(this.kernelSize)}, stride=${JSON.stringify(this.stride)}, padding=${JSON.stringify(this.padding)}`;
  }
}
