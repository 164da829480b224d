import { kernel } from '../backend/dispatch.js';
import type { FloatArray } from '../backend/types.js';
import type { Tensor } from '../tensor/tensor.js';
import { Optimizer, optimizerArgs, optimizerSignature, type OptimizerArgs, nonNegative, positive, type OptimizerOptions, type ParamsInput, zerosLike } from './optimizer.js';

export interface AdagradOptions extends OptimizerOptions {
  lrDecay: number;
  weightDecay: number;
  initialAccumulatorValue: number;
  eps: number;
  maximize: boolean;
}

const ADAGRAD_DEFAULTS = { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, maximize: false };

const ADAGRAD_SIG = optimizerSignature('Adagrad', 'lr?:num lrDecay?:num weightDecay?:num initialAccumulatorValue?:num eps?:num foreach=null', ['maximize']);

/**
 * Adagrad (Duchi et al.), as PyTorch 1.13's `torch.optim.Adagrad`:
 *
 *     g ← ∇ + weightDecay·θ;  η ← lr / (1 + (t − 1)·lrDecay)
 *     s ← s + g² (s starts at initialAccumulatorValue);  θ ← θ − η·g / (√s + eps)
 *
 * PyTorch creates the accumulators in the constructor; here they appear at a parameter's first
 * update (so parameters added later with addParamGroup get them too). The numbers are the same.
 */
export class Adagrad extends Optimizer<AdagradOptions> {
  constructor(...args: OptimizerArgs<AdagradOptions, [lr: number, lrDecay: number, weightDecay: number, initialAccumulatorValue: number, eps: number, foreach: null]>) {
    super('Adagrad', ...optimizerArgs<AdagradOptions>(ADAGRAD_SIG, args, { ...ADAGRAD_DEFAULTS }));
  }

  protected validate(g: AdagradOptions): void {
    nonNegative(this.name, 'lr', g.lr);
    nonNegative(this.name, 'lrDecay', g.lrDecay);
    nonNegative(this.name, 'weightDecay', g.weightDecay);
    nonNegative(this.name, 'initialAccumulatorValue', g.initialAccumulatorValue);
    positive(this.name, 'eps', g.eps);
  }

  protected update(): void {
    for (const [p, grad, g] of this.withGrad()) {
      const { lr, lrDecay, weightDecay, initialAccumulatorValue, eps, maximize } = g;
      const s = this.stateOf(p);
      if (s.step === undefined) {
        s.step = 0;
        s.sum = zerosLike(p, initialAccumulatorValue);
      }
      const step = (s.step as number) + 1;
      s.step = step;
      const negClr = -(lr / (1 + (step - 1) * lrDecay));
      // The loop is the adagradStep kernel (backend/reference-optim.ts).
      kernel('adagradStep', p.typedData.length, p.dtype)({
        param: p.typedData as FloatArray, grad: grad.typedData as FloatArray, sum: (s.sum as Tensor).typedData as FloatArray,
        negClr, weightDecay, eps, sign: maximize ? -1 : 1,
      });
      p.version++;
    }
  }
}
