import { noGrad } from '../autograd/grad-mode.js';
import type { Tensor } from '../tensor/tensor.js';
import { maximum } from '../ops/functional.js';
import { Optimizer, optimizerArgs, optimizerSignature, type OptimizerArgs, check, nonNegative, positive, unitInterval, zerosLike, type OptimizerOptions, type ParamState, type ParamsInput } from './optimizer.js';

/**
 * Adadelta, Adamax, NAdam and RAdam as PyTorch 1.13's torch.optim (the single-tensor paths,
 * step for step). Their updates are written with in-place tensor ops rather than host loops, so
 * they run on whichever backend holds the parameters.
 */

type Betas = [number, number];

function betas(name: string, b: Betas): void {
  check(name, 'betas', b, Array.isArray(b) && b.length === 2, 'a pair [beta1, beta2]');
  unitInterval(name, 'beta1', b[0]);
  unitInterval(name, 'beta2', b[1]);
}

/**
 * A parameter's state, made by `init` on its first update, with its step count advanced: the
 * counted step t (1 on the first update).
 */
function advance(s: ParamState, init: () => ParamState): number {
  if (s.step === undefined) Object.assign(s, { step: 0 }, init());
  const t = (s.step as number) + 1;
  s.step = t;
  return t;
}

/** Adam's running moments, in place: m ← β1·m + (1 − β1)·g, v ← β2·v + (1 − β2)·g². */
function adamMoments(m: Tensor, v: Tensor, g: Tensor, b1: number, b2: number): void {
  m.mul_(b1).add_(g, 1 - b1);
  v.mul_(b2).add_(g.mul(g), 1 - b2);
}

/** The gradient as the update uses it: negated for maximize, plus weightDecay·θ. */
function effectiveGrad(p: Tensor, grad: Tensor, weightDecay: number, maximize: boolean): Tensor {
  let g = maximize ? grad.neg() : grad;
  if (weightDecay !== 0) g = g.add(p, weightDecay);
  return g;
}

export interface AdadeltaOptions extends OptimizerOptions {
  rho: number;
  eps: number;
  weightDecay: number;
  maximize: boolean;
}

const ADADELTA_SIG = optimizerSignature('Adadelta', 'lr?:num rho?:num eps?:num weightDecay?:num foreach=null', ['maximize']);

/**
 *     v ← ρ·v + (1 − ρ)·g²;  Δ ← √(u + eps) / √(v + eps) · g;  u ← ρ·u + (1 − ρ)·Δ²;  θ ← θ − lr·Δ
 */
export class Adadelta extends Optimizer<AdadeltaOptions> {
  constructor(...args: OptimizerArgs<AdadeltaOptions, [lr: number, rho: number, eps: number, weightDecay: number, foreach: null]>) {
    super('Adadelta', ...optimizerArgs<AdadeltaOptions>(ADADELTA_SIG, args, { lr: 1, rho: 0.9, eps: 1e-6, weightDecay: 0, maximize: false }));
  }

  protected validate(g: AdadeltaOptions): void {
    nonNegative(this.name, 'lr', g.lr);
    check(this.name, 'rho', g.rho, g.rho >= 0 && g.rho <= 1, 'in [0, 1]');
    nonNegative(this.name, 'eps', g.eps);
    nonNegative(this.name, 'weightDecay', g.weightDecay);
  }

  protected update(): void {
    noGrad(() => {
      for (const [p, grad, o] of this.withGrad()) {
        const s = this.stateOf(p);
        advance(s, () => ({ square_avg: zerosLike(p), acc_delta: zerosLike(p) }));
        const g = effectiveGrad(p, grad, o.weightDecay, o.maximize);
        const v = s.square_avg as Tensor;
        const u = s.acc_delta as Tensor;
        v.mul_(o.rho).add_(g.mul(g), 1 - o.rho);
        const std = v.add(o.eps).sqrt();
        const delta = u.add(o.eps).sqrt().div(std).mul(g);
        u.mul_(o.rho).add_(delta.mul(delta), 1 - o.rho);
        p.add_(delta, -o.lr);
      }
    });
  }
}

export interface AdamaxOptions extends OptimizerOptions {
  betas: Betas;
  eps: number;
  weightDecay: number;
  maximize: boolean;
}

const ADAMAX_SIG = optimizerSignature('Adamax', 'lr?:num betas?:nums eps?:num weightDecay?:num foreach=null', ['maximize']);

/**
 *     m ← β1·m + (1 − β1)·g;  u ← max(β2·u, |g| + eps);  θ ← θ − lr/(1 − β1ᵗ) · m/u
 */
export class Adamax extends Optimizer<AdamaxOptions> {
  constructor(...args: OptimizerArgs<AdamaxOptions, [lr: number, betas: [number, number], eps: number, weightDecay: number, foreach: null]>) {
    super('Adamax', ...optimizerArgs<AdamaxOptions>(ADAMAX_SIG, args, { lr: 2e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, maximize: false }));
  }

  protected validate(g: AdamaxOptions): void {
    nonNegative(this.name, 'lr', g.lr);
    betas(this.name, g.betas);
    nonNegative(this.name, 'eps', g.eps);
    nonNegative(this.name, 'weightDecay', g.weightDecay);
  }

  protected update(): void {
    noGrad(() => {
      for (const [p, grad, o] of this.withGrad()) {
        const s = this.stateOf(p);
        const t = advance(s, () => ({ exp_avg: zerosLike(p), exp_inf: zerosLike(p) }));
        const [b1, b2] = o.betas;
        const g = effectiveGrad(p, grad, o.weightDecay, o.maximize);
        const m = s.exp_avg as Tensor;
        const u = s.exp_inf as Tensor;
        m.mul_(b1).add_(g, 1 - b1);
        u.copy_(maximum(u.mul(b2), g.abs().add(o.eps)));
        const clr = o.lr / (1 - b1 ** t);
        p.add_(m.div(u), -clr);
      }
    });
  }
}

export interface NAdamOptions extends OptimizerOptions {
  betas: Betas;
  eps: number;
  weightDecay: number;
  momentumDecay: number;
}

const NADAM_SIG = optimizerSignature('NAdam', 'lr?:num betas?:nums eps?:num weightDecay?:num momentumDecay?:num foreach=null');

/**
 * Adam with Nesterov momentum (Dozat), with PyTorch's momentum schedule
 * μₜ = β1·(1 − ½·0.96^(t·ψ)), ψ = momentumDecay:
 *     θ ← θ − lr·(1 − μₜ)/(1 − Πμ)·g/d − lr·μₜ₊₁/(1 − Πμ·μₜ·μₜ₊₁)·m/d,  d = √(v/(1 − β2ᵗ)) + eps
 * (PyTorch 1.13's form, μₜ counted twice in the last product).
 */
export class NAdam extends Optimizer<NAdamOptions> {
  constructor(...args: OptimizerArgs<NAdamOptions, [lr: number, betas: [number, number], eps: number, weightDecay: number, momentumDecay: number, foreach: null]>) {
    super('NAdam', ...optimizerArgs<NAdamOptions>(NADAM_SIG, args, { lr: 2e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, momentumDecay: 4e-3 }));
  }

  protected validate(g: NAdamOptions): void {
    nonNegative(this.name, 'lr', g.lr);
    betas(this.name, g.betas);
    nonNegative(this.name, 'eps', g.eps);
    nonNegative(this.name, 'weightDecay', g.weightDecay);
    nonNegative(this.name, 'momentumDecay', g.momentumDecay);
  }

  protected update(): void {
    noGrad(() => {
      for (const [p, grad, o] of this.withGrad()) {
        const s = this.stateOf(p);
        const t = advance(s, () => ({ mu_product: 1, exp_avg: zerosLike(p), exp_avg_sq: zerosLike(p) }));
        const [b1, b2] = o.betas;
        const g = effectiveGrad(p, grad, o.weightDecay, false);
        const mu = b1 * (1 - 0.5 * 0.96 ** (t * o.momentumDecay));
        const muNext = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * o.momentumDecay));
        const muProduct = (s.mu_product as number) * mu;
        s.mu_product = muProduct;
        // PyTorch 1.13 multiplies μₜ in twice here (Π μ · μₜ · μₜ₊₁; fixed in later releases): kept, so the numbers are 1.13's.
        const muProductNext = muProduct * mu * muNext;
        const m = s.exp_avg as Tensor;
        const v = s.exp_avg_sq as Tensor;
        adamMoments(m, v, g, b1, b2);
        const denom = v.div(1 - b2 ** t).sqrt().add(o.eps);
        p.add_(g.div(denom), (-o.lr * (1 - mu)) / (1 - muProduct));
        p.add_(m.div(denom), (-o.lr * muNext) / (1 - muProductNext));
      }
    });
  }
}

export interface RAdamOptions extends OptimizerOptions {
  betas: Betas;
  eps: number;
  weightDecay: number;
}

const RADAM_SIG = optimizerSignature('RAdam', 'lr?:num betas?:nums eps?:num weightDecay?:num foreach=null');

/**
 * Rectified Adam (Liu et al.): Adam's step scaled by the variance rectification r(ρₜ) once the
 * approximated SMA length ρₜ exceeds 5, plain momentum SGD with bias correction before.
 */
export class RAdam extends Optimizer<RAdamOptions> {
  constructor(...args: OptimizerArgs<RAdamOptions, [lr: number, betas: [number, number], eps: number, weightDecay: number, foreach: null]>) {
    super('RAdam', ...optimizerArgs<RAdamOptions>(RADAM_SIG, args, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 }));
  }

  protected validate(g: RAdamOptions): void {
    nonNegative(this.name, 'lr', g.lr);
    betas(this.name, g.betas);
    positive(this.name, 'eps', g.eps);
    nonNegative(this.name, 'weightDecay', g.weightDecay);
  }

  protected update(): void {
    noGrad(() => {
      for (const [p, grad, o] of this.withGrad()) {
        const s = this.stateOf(p);
        const t = advance(s, () => ({ exp_avg: zerosLike(p), exp_avg_sq: zerosLike(p) }));
        const [b1, b2] = o.betas;
        const g = effectiveGrad(p, grad, o.weightDecay, false);
        const m = s.exp_avg as Tensor;
        const v = s.exp_avg_sq as Tensor;
        adamMoments(m, v, g, b1, b2);
        const bc1 = 1 - b1 ** t;
        const bc2 = 1 - b2 ** t;
        const mHat = m.div(bc1);
        const rhoInf = 2 / (1 - b2) - 1;
        const rhoT = rhoInf - (2 * t * b2 ** t) / bc2;
        if (rhoT > 5) {
          const rect = Math.sqrt(((rhoT - 4) * (rhoT - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rhoT));
          const adaptive = v.sqrt().add(o.eps).reciprocal().mul(Math.sqrt(bc2));
          p.add_(mHat.mul(o.lr).mul(adaptive).mul(rect), -1);
        } else p.add_(mHat.mul(o.lr), -1);
      }
    });
  }
}
