import type { Tensor } from '../../tensor/tensor.js';
import * as L from '../functional/loss.js';
import { Module } from '../module.js';

/** The losses of nn.functional as modules: options at construction, `forward(input, target)`. */
abstract class Loss<O extends L.LossOptions> extends Module<[Tensor, Tensor], Tensor> {
  constructor(readonly options: O = {} as O) {
    super();
  }

  override extraRepr(): string {
    return Object.entries(this.options)
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([k, v]) => `${k}=${typeof v === 'object' ? 'Tensor' : JSON.stringify(v)}`)
      .join(', ');
  }
}

export class MSELoss extends Loss<L.LossOptions> {
  override forward(input: Tensor, target: Tensor): Tensor {
    return L.mseLoss(input, target, this.options);
  }
}

export class L1Loss extends Loss<L.LossOptions> {
  override forward(input: Tensor, target: Tensor): Tensor {
    return L.l1Loss(input, target, this.options);
  }
}

export class HuberLoss extends Loss<L.LossOptions & { delta?: number }> {
  override forward(input: Tensor, target: Tensor): Tensor {
    return L.huberLoss(input, target, this.options);
  }
}

export class SmoothL1Loss extends Loss<L.LossOptions & { beta?: number }> {
  override forward(input: Tensor, target: Tensor): Tensor {
    return L.smoothL1Loss(input, target, this.options);
  }
}

export class BCELoss extends Loss<L.BceOptions> {
  override forward(input: Tensor, target: Tensor): Tensor {
    return L.binaryCrossEntropy(input, target, this.options);
  }
}

export class BCEWithLogitsLoss extends Loss<L.BceWithLogitsOptions> {
  override forward(input: Tensor, target: Tensor): Tensor {
    return L.binaryCrossEntropyWithLogits(input, target, this.options);
  }
}

export class NLLLoss extends Loss<L.NllOptions> {
  override forward(input: Tensor, target: Tensor): Tensor {
    return L.nllLoss(input, target, this.options);
  }
}

export class CrossEntropyLoss extends Loss<L.CrossEntropyOptions> {
  override forward(input: Tensor, target: Tensor): Tensor {
    return L.crossEntropy(input, target, this.options);
  }
}
