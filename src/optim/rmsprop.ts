import { kernel } from '../backend/dispatch.js';
import type { FloatArray } from '../backend/types.js';
import type { Tensor } from '../tensor/tensor.js';
import { Optimizer, optimizerArgs, optimizerSignature, type OptimizerArgs, closedUnitInterval, nonNegative, positive, type OptimizerOptions, type ParamsInput, zerosLike } from './optimizer.js';

export interface RMSpropOptions extends OptimizerOptions {
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
  maximize: boolean;
}

const RMSPROP_DEFAULTS = { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false };

const RMSPROP_SIG = optimizerSignature('RMSprop', 'lr?:num alpha?:num eps?:num weightDecay?:num momentum?:num centered?:bool foreach=null maximize?:bool differentiable=false');

/**
 * RMSprop (Hinton), as PyTorch 1.13's `torch.optim.RMSprop`:
 *
 *     g ← ∇ + weightDecay·θ;  s ← αs + (1 − α)g²
 *     centered: ḡ ← αḡ + (1 − α)g, a ← √(s − ḡ²) + eps;  otherwise a ← √s + eps
 *     momentum > 0: b ← momentum·b + g/a, θ ← θ − lr·b;  otherwise θ ← θ − lr·g/a
 */
export class RMSprop extends Optimizer<RMSpropOptions> {
  constructor(...args: OptimizerArgs<RMSpropOptions, [lr: number, alpha: number, eps: number, weightDecay: number, momentum: number, centered: boolean, foreach: null, maximize: boolean, differentiable: false]>) {
    super('RMSprop', ...optimizerArgs<RMSpropOptions>(RMSPROP_SIG, args, { ...RMSPROP_DEFAULTS }));
  }

  protected validate(g: RMSpropOptions): void {
    nonNegative(this.name, 'lr', g.lr);
    closedUnitInterval(this.name, 'alpha', g.alpha);
    positive(this.name, 'eps', g.eps);
    nonNegative(this.name, 'weightDecay', g.weightDecay);
    nonNegative(this.name, 'momentum', g.momentum);
  }

  protected update(): void {
    for (const [p, grad, g] of this.withGrad()) {
      const { lr, alpha, eps, weightDecay, momentum, centered, maximize } = g;
      const s = this.stateOf(p);
      if (s.step === undefined) {
        s.step = 0;
        s.squareAvg = zerosLike(p);
      }
      if (momentum > 0 && s.momentumBuffer === undefined) s.momentumBuffer = zerosLike(p);
      if (centered && s.gradAvg === undefined) s.gradAvg = zerosLike(p);
      s.step = (s.step as number) + 1;
      // The loop is the rmspropStep kernel (backend/reference-optim.ts).
      kernel('rmspropStep', p.typedData.length, p.dtype)({
        param: p.typedData as FloatArray, grad: grad.typedData as FloatArray, squareAvg: (s.squareAvg as Tensor).typedData as FloatArray,
        gradAvg: centered ? ((s.gradAvg as Tensor).typedData as FloatArray) : null,
        momentumBuffer: momentum > 0 ? ((s.momentumBuffer as Tensor).typedData as FloatArray) : null,
        lr, alpha, eps, weightDecay, momentum, sign: maximize ? -1 : 1,
      });
      p.version++;
    }
  }
}
