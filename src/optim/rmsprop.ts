import type { Tensor } from '../tensor/tensor.js';
import { Optimizer, check, nonNegative, positive, type OptimizerOptions, type ParamsInput, zerosLike } from './optimizer.js';

export interface RMSpropOptions extends OptimizerOptions {
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
  maximize: boolean;
}

const RMSPROP_DEFAULTS = { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false };

/**
 * RMSprop (Hinton), as PyTorch 1.13's `torch.optim.RMSprop`:
 *
 *     g ← ∇ + weightDecay·θ;  s ← αs + (1 − α)g²
 *     centered: ḡ ← αḡ + (1 − α)g, a ← √(s − ḡ²) + eps;  otherwise a ← √s + eps
 *     momentum > 0: b ← momentum·b + g/a, θ ← θ − lr·b;  otherwise θ ← θ − lr·g/a
 */
export class RMSprop extends Optimizer<RMSpropOptions> {
  constructor(params: ParamsInput<RMSpropOptions>, options: Partial<RMSpropOptions> = {}) {
    super('RMSprop', params, { ...RMSPROP_DEFAULTS, ...options });
  }

  protected validate(g: RMSpropOptions): void {
    nonNegative(this.name, 'lr', g.lr);
    check(this.name, 'alpha', g.alpha, g.alpha >= 0 && g.alpha <= 1, 'in [0, 1]');
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
      const x = p.data;
      const dx = grad.data;
      const sq = (s.squareAvg as Tensor).data;
      const ga = centered ? (s.gradAvg as Tensor).data : null;
      const buf = momentum > 0 ? (s.momentumBuffer as Tensor).data : null;
      const keep = 1 - alpha;
      const negLr = -lr;
      const sign = maximize ? -1 : 1;
      for (let i = 0; i < x.length; i++) {
        let d = sign * dx[i]!;
        if (weightDecay !== 0) d += weightDecay * x[i]!;
        sq[i] = sq[i]! * alpha + keep * d * d;
        let avg: number;
        if (ga !== null) {
          ga[i] = ga[i]! * alpha + keep * d;
          avg = Math.sqrt(sq[i]! - ga[i]! * ga[i]!) + eps;
        } else {
          avg = Math.sqrt(sq[i]!) + eps;
        }
        if (buf !== null) {
          buf[i] = buf[i]! * momentum + d / avg;
          x[i]! += negLr * buf[i]!;
        } else {
          x[i]! += (negLr * d) / avg;
        }
      }
      p.version++;
    }
  }
}
