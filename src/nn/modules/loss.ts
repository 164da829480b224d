import type { Tensor } from '../../tensor/tensor.js';
import * as L from '../functional/loss.js';
import { Module } from '../module.js';
import { declareSignature, signature, type Args, type Signature } from '../../signature.js';

const sig = (name: string, spec: string) => declareSignature(`nn.${name}`, signature(name, spec));
/** PyTorch's deprecated sizeAverage and reduce: only their default (null) is taken. */
const OLD = 'sizeAverage=null reduce=null';
const SIGS: Record<string, Signature> = {
  MSELoss: sig('MSELoss', `${OLD} reduction?:str`),
  L1Loss: sig('L1Loss', `${OLD} reduction?:str`),
  HuberLoss: sig('HuberLoss', 'reduction?:str delta?:num'),
  SmoothL1Loss: sig('SmoothL1Loss', `${OLD} reduction?:str beta?:num`),
  BCELoss: sig('BCELoss', `weight?:tensor|null ${OLD} reduction?:str`),
  BCEWithLogitsLoss: sig('BCEWithLogitsLoss', `weight?:tensor|null ${OLD} reduction?:str posWeight?:tensor|null`),
  NLLLoss: sig('NLLLoss', 'weight?:tensor|null sizeAverage=null ignoreIndex?:int reduce=null reduction?:str'),
  CrossEntropyLoss: sig('CrossEntropyLoss', 'weight?:tensor|null sizeAverage=null ignoreIndex?:int reduce=null reduction?:str labelSmoothing?:num'),
};
type Old = [sizeAverage: null, reduce: null];
type R = L.Reduction;
type W = Tensor | null;

/** The losses of nn.functional as modules: options at construction (PyTorch's positional order or an options object), `forward(input, target)`. */
abstract class Loss<O extends L.LossOptions> extends Module<[Tensor, Tensor], Tensor> {
  readonly options: O;

  constructor(args: readonly unknown[]) {
    super();
    this.options = SIGS[new.target.name]!.parse<O>(args);
  }

  override extraRepr(): string {
    return Object.entries(this.options)
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([k, v]) => `${k}=${typeof v === 'object' ? 'Tensor' : JSON.stringify(v)}`)
      .join(', ');
  }
}

export class MSELoss extends Loss<L.LossOptions> {
  constructor(...args: Args<[], [...Old, reduction: R], L.LossOptions>) {
    super(args);
  }

  override forward(input: Tensor, target: Tensor): Tensor {
    return L.mseLoss(input, target, this.options);
  }
}

export class L1Loss extends Loss<L.LossOptions> {
  constructor(...args: Args<[], [...Old, reduction: R], L.LossOptions>) {
    super(args);
  }

  override forward(input: Tensor, target: Tensor): Tensor {
    return L.l1Loss(input, target, this.options);
  }
}

export class HuberLoss extends Loss<L.LossOptions & { delta?: number }> {
  constructor(...args: Args<[], [reduction: R, delta: number], L.LossOptions & { delta?: number }>) {
    super(args);
  }

  override forward(input: Tensor, target: Tensor): Tensor {
    return L.huberLoss(input, target, this.options);
  }
}

export class SmoothL1Loss extends Loss<L.LossOptions & { beta?: number }> {
  constructor(...args: Args<[], [...Old, reduction: R, beta: number], L.LossOptions & { beta?: number }>) {
    super(args);
  }

  override forward(input: Tensor, target: Tensor): Tensor {
    return L.smoothL1Loss(input, target, this.options);
  }
}

export class BCELoss extends Loss<L.BceOptions> {
  constructor(...args: Args<[], [weight: W, ...Old, reduction: R], L.BceOptions>) {
    super(args);
  }

  override forward(input: Tensor, target: Tensor): Tensor {
    return L.binaryCrossEntropy(input, target, this.options);
  }
}

export class BCEWithLogitsLoss extends Loss<L.BceWithLogitsOptions> {
  constructor(...args: Args<[], [weight: W, ...Old, reduction: R, posWeight: W], L.BceWithLogitsOptions>) {
    super(args);
  }

  override forward(input: Tensor, target: Tensor): Tensor {
    return L.binaryCrossEntropyWithLogits(input, target, this.options);
  }
}

export class NLLLoss extends Loss<L.NllOptions> {
  constructor(...args: Args<[], [weight: W, sizeAverage: null, ignoreIndex: number, reduce: null, reduction: R], L.NllOptions>) {
    super(args);
  }

  override forward(input: Tensor, target: Tensor): Tensor {
    return L.nllLoss(input, target, this.options);
  }
}

export class CrossEntropyLoss extends Loss<L.CrossEntropyOptions> {
  constructor(...args: Args<[], [weight: W, sizeAverage: null, ignoreIndex: number, reduce: null, reduction: R, labelSmoothing: number], L.CrossEntropyOptions>) {
    super(args);
  }

  override forward(input: Tensor, target: Tensor): Tensor {
    return L.crossEntropy(input, target, this.options);
  }
}
