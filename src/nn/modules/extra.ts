import { ChainruleError, IndexError, ValueError } from '../../errors.js';
import { ones, zeros } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { noGrad } from '../../autograd/grad-mode.js';
import { cat } from '../../ops/shape-functional.js';
import * as X from '../functional/extra.js';
import type { LossOptions, Reduction } from '../functional/loss.js';
import { Module, type AnyModule } from '../module.js';
import { Parameter } from '../parameter.js';
import type { FactoryOptions } from './linear.js';
import type { DType } from '../../tensor/dtype.js';
import { declareSignature, signature, type Args } from '../../signature.js';

const sig = (name: string, spec: string, keywords: string[] = []) => declareSignature(`nn.${name}`, signature(name, spec, keywords));
const GROUPNORM = sig('GroupNorm', 'numGroups:int numChannels:int eps?:num affine?:bool device="cpu" dtype?:dtype');
const ADAPTIVE = sig('AdaptiveAvgPool2d', 'outputSize:outsize');
const UPSAMPLE = sig('Upsample', 'size?:size|null scaleFactor?:num|nums|null mode?:str alignCorners?:bool|null recomputeScaleFactor=null');
const COSINE = sig('CosineSimilarity', 'dim?:int eps?:num');
/** PyTorch's deprecated sizeAverage and reduce come first in most losses: only their default (null) is taken. */
const OLD = 'sizeAverage=null reduce=null';
const KLDIV = sig('KLDivLoss', `${OLD} reduction?:str logTarget?:bool`);
const COS_EMB = sig('CosineEmbeddingLoss', `margin?:num ${OLD} reduction?:str`);
const RANKING = sig('MarginRankingLoss', `margin?:num ${OLD} reduction?:str`);
const MULTIMARGIN = sig('MultiMarginLoss', `p?:int margin?:num weight?:tensor|null ${OLD} reduction?:str`);
type Old = [sizeAverage: null, reduce: null];

/** Submodules by name, as PyTorch's nn.ModuleDict: registered, so their parameters are the parent's. */
export class ModuleDict extends Module<never[], never> {
  constructor(modules: Record<string, AnyModule> | Iterable<[string, AnyModule]> = {}) {
    super();
    const entries = Symbol.iterator in Object(modules) ? [...(modules as Iterable<[string, AnyModule]>)] : Object.entries(modules);
    for (const [k, m] of entries) this.set(k, m);
  }

  override forward(): never {
    throw new ChainruleError(`${this.label()}: a ModuleDict has no forward; pick its modules by name in the parent's forward`);
  }

  get(key: string): AnyModule {
    const m = this.namedChildren().find(([k]) => k === key);
    if (!m) throw new IndexError(`ModuleDict: no module named ${JSON.stringify(key)} (keys: ${this.keys().join(', ') || 'none'})`);
    return m[1];
  }

  set(key: string, m: AnyModule): this {
    if (typeof key !== 'string' || key === '' || key.includes('.')) throw new ValueError(`ModuleDict: key must be a non-empty string without '.', got ${JSON.stringify(key)}`);
    if (!(m instanceof Module)) throw new ValueError(`ModuleDict: ${JSON.stringify(key)} must be a Module`);
    if (key in Module.prototype || key in ModuleDict.prototype) throw new ValueError(`ModuleDict: ${JSON.stringify(key)} is a method name and cannot be a key`);
    this.registerModule(key, m);
    return this;
  }

  has(key: string): boolean {
    return this.keys().includes(key);
  }

  delete(key: string): boolean {
    if (!this.has(key)) return false;
    delete (this as unknown as Record<string, unknown>)[key];
    return true;
  }

  keys(): string[] {
    return this.childEntries().map(([k]) => k);
  }

  values(): AnyModule[] {
    return this.childEntries().map(([, m]) => m);
  }

  items(): [string, AnyModule][] {
    return this.childEntries();
  }

  override get length(): number {
    return this.childEntries().length;
  }
}

/** Parameters in a list, as PyTorch's nn.ParameterList: registered as '0', '1', ... */
export class ParameterList extends Module<never[], never> {
  private count = 0;

  constructor(params: Iterable<Parameter> = []) {
    super();
    for (const p of params) this.append(p);
  }

  override forward(): never {
    throw new ChainruleError(`${this.label()}: a ParameterList has no forward`);
  }

  append(p: Parameter): this {
    if (!(p instanceof Parameter)) throw new ValueError(`ParameterList.append: expected an nn.Parameter, got ${p === null ? 'null' : typeof p}`);
    this.registerParameter(String(this.count++), p);
    return this;
  }

  at(i: number): Parameter {
    const n = this.count;
    const j = i < 0 ? i + n : i;
    if (!Number.isInteger(j) || j < 0 || j >= n) throw new IndexError(`ParameterList.at: index ${i} is out of range for ${n} parameters`);
    return (this as unknown as Record<string, Parameter>)[String(j)]!;
  }

  override get length(): number {
    return this.count;
  }

  *[Symbol.iterator](): Iterator<Parameter> {
    for (let i = 0; i < this.count; i++) yield this.at(i);
  }
}

/** All parameters flattened into one vector, as torch.nn.utils.parameters_to_vector. */
export function parametersToVector(parameters: Iterable<Tensor>): Tensor {
  const ps = [...parameters];
  if (ps.length === 0) throw new ValueError('parametersToVector: no parameters given');
  return cat(ps.map((p) => p.reshape([-1])));
}

/** Copy consecutive slices of vec into the parameters, as torch.nn.utils.vector_to_parameters. */
export function vectorToParameters(vec: Tensor, parameters: Iterable<Tensor>): void {
  const ps = [...parameters];
  const total = ps.reduce((n, p) => n + p.numel(), 0);
  if (vec.ndim !== 1 || vec.numel() !== total) throw new ValueError(`vectorToParameters: expected a 1-D vector of ${total} elements, got shape [${vec.shape.join(',')}]`);
  noGrad(() => {
    let o = 0;
    for (const p of ps) {
      p.copy_(vec.narrow(0, o, p.numel()).reshape([...p.shape]));
      o += p.numel();
    }
  });
}

export class GroupNorm extends Module {
  weight: Parameter | null;
  bias: Parameter | null;

  readonly numGroups: number;
  readonly numChannels: number;
  readonly opts: FactoryOptions & { eps?: number; affine?: boolean };

  constructor(
    ...args: Args<[numGroups: number, numChannels: number], [eps: number, affine: boolean, device: 'cpu' | null, dtype: DType], FactoryOptions & { eps?: number; affine?: boolean }>
  ) {
    super();
    const { numGroups, numChannels, ...opts } = GROUPNORM.parse<FactoryOptions & { eps?: number; affine?: boolean; numGroups: number; numChannels: number }>(args);
    [this.numGroups, this.numChannels, this.opts] = [numGroups, numChannels, opts];
    if (!Number.isInteger(numGroups) || numGroups < 1 || numChannels % numGroups !== 0) {
      throw new ValueError(`GroupNorm: numChannels ${numChannels} must be divisible by numGroups ${numGroups}`);
    }
    const dtype = opts.dtype ?? 'float32';
    const affine = opts.affine ?? true;
    this.weight = affine ? new Parameter(ones([numChannels], { dtype })) : null;
    this.bias = affine ? new Parameter(zeros([numChannels], { dtype })) : null;
  }

  override forward(x: Tensor): Tensor {
    if (x.ndim >= 2 && x.shape[1] !== this.numChannels) throw new ValueError(`${this.label()}: input has ${x.shape[1]} channels but numChannels is ${this.numChannels}`);
    return X.groupNorm(x, this.numGroups, { weight: this.weight, bias: this.bias, eps: this.opts.eps ?? 1e-5 }, this.label());
  }

  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${this.opts.eps ?? 1e-5}, affine=${this.weight !== null}`;
  }
}

export class AdaptiveAvgPool2d extends Module {
  readonly outputSize: number | [number | null, number | null];

  constructor(...args: Args<[outputSize: number | [number | null, number | null]], [], Record<string, never>> | [{ outputSize: number | [number | null, number | null] }]) {
    super();
    this.outputSize = ADAPTIVE.parse<{ outputSize: number | [number | null, number | null] }>(args).outputSize;
  }
  override forward(x: Tensor): Tensor {
    return X.adaptiveAvgPool2d(x, this.outputSize);
  }
  override extraRepr(): string {
    return `outputSize=${JSON.stringify(this.outputSize)}`;
  }
}

export class Upsample extends Module {
  readonly opts: X.InterpolateOptions;

  constructor(
    ...args: Args<
      [],
      [size: X.InterpolateOptions['size'] | null, scaleFactor: X.InterpolateOptions['scaleFactor'] | null, mode: X.InterpolateOptions['mode'], alignCorners: boolean | null, recomputeScaleFactor: null],
      X.InterpolateOptions
    >
  ) {
    super();
    const o = UPSAMPLE.parse<Record<keyof X.InterpolateOptions, unknown>>(args);
    // null is PyTorch's None: not given.
    const opts = (this.opts = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null)) as X.InterpolateOptions);
    if ((opts.size === undefined) === (opts.scaleFactor === undefined)) throw new ValueError('Upsample: give exactly one of size and scaleFactor');
  }
  override forward(x: Tensor): Tensor {
    return X.interpolate(x, this.opts);
  }
  override extraRepr(): string {
    return Object.entries(this.opts).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ');
  }
}

export class CosineSimilarity extends Module<[Tensor, Tensor], Tensor> {
  readonly opts: { dim?: number; eps?: number };

  constructor(...args: Args<[], [dim: number, eps: number], { dim?: number; eps?: number }>) {
    super();
    this.opts = COSINE.parse(args);
  }
  override forward(x1: Tensor, x2: Tensor): Tensor {
    return X.cosineSimilarity(x1, x2, this.opts);
  }
}

export class KLDivLoss extends Module<[Tensor, Tensor], Tensor> {
  readonly opts: { reduction?: Reduction | 'batchmean'; logTarget?: boolean };

  constructor(...args: Args<[], [...Old, reduction: Reduction | 'batchmean', logTarget: boolean], { reduction?: Reduction | 'batchmean'; logTarget?: boolean }>) {
    super();
    this.opts = KLDIV.parse(args);
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return X.klDiv(input, target, this.opts);
  }
}

export class CosineEmbeddingLoss extends Module<[Tensor, Tensor, Tensor], Tensor> {
  readonly opts: LossOptions & { margin?: number };

  constructor(...args: Args<[], [margin: number, ...Old, reduction: Reduction], LossOptions & { margin?: number }>) {
    super();
    this.opts = COS_EMB.parse(args);
  }
  override forward(x1: Tensor, x2: Tensor, y: Tensor): Tensor {
    return X.cosineEmbeddingLoss(x1, x2, y, this.opts);
  }
}

export class MarginRankingLoss extends Module<[Tensor, Tensor, Tensor], Tensor> {
  readonly opts: LossOptions & { margin?: number };

  constructor(...args: Args<[], [margin: number, ...Old, reduction: Reduction], LossOptions & { margin?: number }>) {
    super();
    this.opts = RANKING.parse(args);
  }
  override forward(x1: Tensor, x2: Tensor, y: Tensor): Tensor {
    return X.marginRankingLoss(x1, x2, y, this.opts);
  }
}

type MultiMarginOptions = LossOptions & { p?: 1 | 2; margin?: number; weight?: Tensor | null };

export class MultiMarginLoss extends Module<[Tensor, Tensor], Tensor> {
  readonly opts: MultiMarginOptions;

  constructor(...args: Args<[], [p: 1 | 2, margin: number, weight: Tensor | null, ...Old, reduction: Reduction], MultiMarginOptions>) {
    super();
    this.opts = MULTIMARGIN.parse(args);
  }
  override forward(x: Tensor, y: Tensor): Tensor {
    return X.multiMarginLoss(x, y, this.opts);
  }
}
