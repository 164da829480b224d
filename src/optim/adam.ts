import { backend } from '../backend/index.js';
import type { FloatArray } from '../backend/types.js';
import type { Tensor } from '../tensor/tensor.js';
import { Optimizer, check, nonNegative, positive, unitInterval, type OptimizerOptions, type ParamGroup, type ParamsInput, zerosLike } from './optimizer.js';

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
 * One Adam or AdamW step for one parameter, in a single pass over its elements: weight decay,
 * both moment updates, the AMSGrad maximum and the parameter update per element, each written
 * as PyTorch 1.13's single-tensor implementation orders its operations.
 */
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
  const x = p.data;
  const dx = grad.data;
  const m = (state.expAvg as Tensor).data;
  const v = (state.expAvgSq as Tensor).data;
  const vMax = amsgrad ? (state.maxExpAvgSq as Tensor).data : null;
  const bias1 = 1 - beta1 ** step;
  const bias2Sqrt = Math.sqrt(1 - beta2 ** step);
  const negStepSize = -(lr / bias1);
  const keep1 = 1 - beta1;
  const keep2 = 1 - beta2;
  const l2 = decoupled ? 0 : weightDecay;
  const shrink = decoupled ? 1 - lr * weightDecay : 1;
  const sign = maximize ? -1 : 1;
  // A fast backend may run the same update as one kernel (float32, SIMD); else the loop below.
  const fused = backend().adamStep?.({
    param: x as FloatArray, grad: dx as FloatArray, expAvg: m as FloatArray, expAvgSq: v as FloatArray,
    maxExpAvgSq: vMax as FloatArray | null, beta1, beta2, eps, negStepSize, bias2Sqrt, l2, shrink, sign,
  });
  if (fused) {
    p.version++;
    return;
  }
  for (let i = 0; i < x.length; i++) {
    let d = sign * dx[i]!;
    if (l2 !== 0) d += l2 * x[i]!;
    if (shrink !== 1) x[i]! *= shrink;
    m[i] = m[i]! * beta1 + keep1 * d;
    v[i] = v[i]! * beta2 + keep2 * d * d;
    let second = v[i]!;
    if (vMax !== null) {
      if (!(vMax[i]! >= second)) vMax[i] = second; // NaN propagates, as torch.maximum
      second = vMax[i]!;
    }
    const denom = Math.sqrt(second) / bias2Sqrt + eps;
    x[i]! += (negStepSize * m[i]!) / denom;
  }
  p.version++;
}

/**
 * Adam (Kingma & Ba) with bias correction, optional AMSGrad, and weight decay as an L2 term
 * added to the gradient, as PyTorch 1.13's `torch.optim.Adam`:
 *
 *     g ← ∇ + weightDecay·θ;  m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²
 *     v̂ ← max(v̂, v) (amsgrad);  θ ← θ − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + eps)
 */
export class Adam extends Optimizer<AdamOptions> {
  constructor(params: ParamsInput<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super('Adam', params, { ...ADAM_DEFAULTS, ...options });
  }

  protected validate(g: AdamOptions): void {
    validateAdam(this.name, g);
  }

  protected update(): void {
    for (const [p, grad, g] of this.withGrad()) adamStep(p, grad, g, this.stateOf(p), false);
  }
}

/**
 * Adam with decoupled weight decay (Loshchilov & Hutter), as PyTorch 1.13's `torch.optim.AdamW`:
 * θ ← θ·(1 − lr·weightDecay) before the Adam update, which uses the raw gradient.
 * weightDecay defaults to 1e-2.
 */
export class AdamW extends Optimizer<AdamOptions> {
  constructor(params: ParamsInput<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super('AdamW', params, { ...ADAM_DEFAULTS, weightDecay: 1e-2, ...options });
  }

  protected validate(g: AdamOptions): void {
    validateAdam(this.name, g);
  }

  protected update(): void {
    for (const [p, grad, g] of this.withGrad()) adamStep(p, grad, g, this.stateOf(p), true);
  }
}
