import { kernel } from '../backend/dispatch.js';
import type { FloatArray } from '../backend/types.js';
import type { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../autograd/grad-mode.js';
import { fusedSteps } from './fused-steps.js';
import { Optimizer, optimizerArgs, optimizerSignature, type OptimizerArgs, check, nonNegative, positive, unitInterval, type OptimizerOptions, type ParamGroup, type ParamsInput, zerosLike } from './optimizer.js';

export interface AdamOptions extends OptimizerOptions {
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
}

const ADAM_DEFAULTS = { lr: 1e-3, betas: [0.9, 0.999] as [number, number], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false };

function validateAdam(name: string, g: AdamOptions): void {
  nonNegative(name, 'lr', g.lr);
  check(name, 'betas', g.betas, Array.isArray(g.betas) && g.betas.length === 2, 'a pair [beta1, beta2]');
  unitInterval(name, 'beta1', g.betas[0]);
  unitInterval(name, 'beta2', g.betas[1]);
  positive(name, 'eps', g.eps);
  nonNegative(name, 'weightDecay', g.weightDecay);
}

/**
 * One Adam or AdamW step for one parameter, in a single pass over its elements (the adamStep
 * kernel): weight decay, both moment updates, the AMSGrad maximum and the parameter update per
 * element, each written as PyTorch 1.13's single-tensor implementation orders its operations.
 */
/**
 * The adamStep kernel's update on a device tensor: the device's fused kernel where it has one
 * (fused-steps.ts), else tensor ops (each a device kernel) in the kernel's order, the parameter
 * and moments written in place.
 */
function deviceStep(
  p: Tensor,
  grad: Tensor,
  state: Record<string, Tensor | number>,
  amsgrad: boolean,
  a: { beta1: number; beta2: number; eps: number; negStepSize: number; bias2Sqrt: number; l2: number; shrink: number; sign: number },
): void {
  const fused = fusedSteps(p.storage.device)?.adamStep;
  if (fused?.(p, grad, state.expAvg as Tensor, state.expAvgSq as Tensor, amsgrad ? (state.maxExpAvgSq as Tensor) : null, a)) return;
  noGrad(() => {
    let d = a.sign === 1 ? grad : grad.neg();
    if (a.l2 !== 0) d = d.add(p.mul(a.l2));
    if (a.shrink !== 1) p.writeFrom('Adam', p.mul(a.shrink));
    const m = state.expAvg as Tensor;
    const v = state.expAvgSq as Tensor;
    m.writeFrom('Adam', m.mul(a.beta1).add(d.mul(1 - a.beta1)));
    v.writeFrom('Adam', v.mul(a.beta2).add(d.mul(1 - a.beta2).mul(d)));
    let second = v;
    if (amsgrad) {
      const vMax = state.maxExpAvgSq as Tensor;
      vMax.writeFrom('Adam', vMax.maximum(v));
      second = vMax;
    }
    const denom = second.sqrt().div(a.bias2Sqrt).add(a.eps);
    p.writeFrom('Adam', p.add(m.mul(a.negStepSize).div(denom)));
  });
}

function adamStep(p: Tensor, grad: Tensor, g: ParamGroup<AdamOptions>, state: Record<string, Tensor | number>, decoupled: boolean): void {
  const { lr, eps, weightDecay, amsgrad, maximize } = g;
  const [beta1, beta2] = g.betas;
  if (state.step === undefined) {
    state.step = 0;
    state.expAvg = zerosLike(p);
    state.expAvgSq = zerosLike(p);
    if (amsgrad) state.maxExpAvgSq = zerosLike(p);
  }
  if (amsgrad && state.maxExpAvgSq === undefined) state.maxExpAvgSq = zerosLike(p);
  const step = (state.step as number) + 1;
  state.step = step;
  const bias1 = 1 - beta1 ** step;
  const args = {
    beta1, beta2, eps, negStepSize: -(lr / bias1), bias2Sqrt: Math.sqrt(1 - beta2 ** step),
    l2: decoupled ? 0 : weightDecay, shrink: decoupled ? 1 - lr * weightDecay : 1, sign: maximize ? -1 : 1,
  };
  if (p.device !== 'cpu') return deviceStep(p, grad, state, amsgrad, args);
  // The loop itself is the adamStep kernel (backend/reference-optim.ts; float32 SIMD on the fast backends).
  kernel('adamStep', p.typedData.length, p.dtype)({
    param: p.typedData as FloatArray, grad: grad.typedData as FloatArray, expAvg: (state.expAvg as Tensor).typedData as FloatArray,
    expAvgSq: (state.expAvgSq as Tensor).typedData as FloatArray, maxExpAvgSq: amsgrad ? ((state.maxExpAvgSq as Tensor).typedData as FloatArray) : null,
    beta1, beta2, eps, negStepSize: -(lr / bias1), bias2Sqrt: Math.sqrt(1 - beta2 ** step),
    l2: decoupled ? 0 : weightDecay, shrink: decoupled ? 1 - lr * weightDecay : 1, sign: maximize ? -1 : 1,
  });
  p.version++;
}

const ADAM_SIG = optimizerSignature('Adam', 'lr?:num betas?:nums eps?:num weightDecay?:num amsgrad?:bool', ['maximize']);

/**
 * Adam (Kingma & Ba) with bias correction, optional AMSGrad, and weight decay as an L2 term
 * added to the gradient, as PyTorch 1.13's `torch.optim.Adam`:
 *
 *     g ← ∇ + weightDecay·θ;  m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²
 *     v̂ ← max(v̂, v) (amsgrad);  θ ← θ − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + eps)
 */
export class Adam extends Optimizer<AdamOptions> {
  constructor(...args: OptimizerArgs<AdamOptions, [lr: number, betas: [number, number], eps: number, weightDecay: number, amsgrad: boolean]>) {
    super('Adam', ...optimizerArgs<AdamOptions>(ADAM_SIG, args, { ...ADAM_DEFAULTS }));
  }

  protected validate(g: AdamOptions): void {
    validateAdam(this.name, g);
  }

  protected update(): void {
    for (const [p, grad, g] of this.withGrad()) adamStep(p, grad, g, this.stateOf(p), false);
  }
}

const ADAMW_SIG = optimizerSignature('AdamW', 'lr?:num betas?:nums eps?:num weightDecay?:num amsgrad?:bool', ['maximize']);

/**
 * Adam with decoupled weight decay (Loshchilov & Hutter), as PyTorch 1.13's `torch.optim.AdamW`:
 * θ ← θ·(1 − lr·weightDecay) before the Adam update, which uses the raw gradient.
 * weightDecay defaults to 1e-2.
 */
export class AdamW extends Optimizer<AdamOptions> {
  constructor(...args: OptimizerArgs<AdamOptions, [lr: number, betas: [number, number], eps: number, weightDecay: number, amsgrad: boolean]>) {
    super('AdamW', ...optimizerArgs<AdamOptions>(ADAMW_SIG, args, { ...ADAM_DEFAULTS, weightDecay: 1e-2 }));
  }

  protected validate(g: AdamOptions): void {
    validateAdam(this.name, g);
  }

  protected update(): void {
    for (const [p, grad, g] of this.withGrad()) adamStep(p, grad, g, this.stateOf(p), true);
  }
}
