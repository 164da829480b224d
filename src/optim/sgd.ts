import { kernel } from '../backend/dispatch.js';
import type { FloatArray } from '../backend/types.js';
import { ValueError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../autograd/grad-mode.js';
import { fusedSteps } from './fused-steps.js';
import { Optimizer, optimizerArgs, optimizerSignature, type OptimizerArgs, nonNegative, type OptimizerOptions, type ParamsInput, zerosLike } from './optimizer.js';

export interface SGDOptions extends OptimizerOptions {
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
  maximize: boolean;
}

const SGD_DEFAULTS = { momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, maximize: false };

const SGD_SIG = optimizerSignature('SGD', 'lr?:num momentum?:num dampening?:num weightDecay?:num nesterov?:bool', ['maximize']);

/**
 * Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2
 * weight decay: PyTorch 1.13's `torch.optim.SGD` update, element by element:
 *
 *     g ← ∇ (−∇ when maximize) + weightDecay·θ
 *     v ← g on the first step, else momentum·v + (1 − dampening)·g
 *     g ← g + momentum·v (nesterov), or g ← v
 *     θ ← θ − lr·g
 *
 * On the two ways momentum is written: the seeds write v ← βv + η∇, θ ← θ − v; PyTorch writes
 * v ← βv + ∇, θ ← θ − ηv. For a constant learning rate η they give the same iterates, with
 * v_seeds = η·v_torch; they part when η changes during training (a scheduler), where PyTorch's
 * form applies the new rate to the whole accumulated velocity at once. We follow PyTorch.
 * Note also that the first step sets v = g with no dampening, as PyTorch does.
 *
 *     const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 *     opt.zeroGrad(); loss.backward(); opt.step();
 */
export class SGD extends Optimizer<SGDOptions> {
  constructor(...args: OptimizerArgs<SGDOptions, [lr: number, momentum: number, dampening: number, weightDecay: number, nesterov: boolean]>) {
    super('SGD', ...optimizerArgs<SGDOptions>(SGD_SIG, args, { ...SGD_DEFAULTS }));
  }

  protected validate(g: SGDOptions): void {
    nonNegative(this.name, 'lr', g.lr);
    nonNegative(this.name, 'momentum', g.momentum);
    nonNegative(this.name, 'weightDecay', g.weightDecay);
    nonNegative(this.name, 'dampening', g.dampening);
    if (g.nesterov && (!(g.momentum > 0) || g.dampening !== 0)) {
      throw new ValueError(
        `SGD: invalid nesterov true with momentum ${g.momentum} and dampening ${g.dampening} (nesterov needs momentum > 0 and dampening 0)`,
      );
    }
  }

  protected update(): void {
    for (const [p, grad, g] of this.withGrad()) {
      const { lr, momentum, dampening, nesterov, weightDecay, maximize } = g;
      const s = momentum === 0 ? null : this.stateOf(p);
      const first = s !== null && s.momentumBuffer === undefined;
      if (p.device !== 'cpu') {
        deviceStep(p, grad, s, g);
        continue;
      }
      const buf = s === null ? null : ((s.momentumBuffer as Tensor | undefined) ?? (s.momentumBuffer = zerosLike(p))).typedData;
      // The loop is the sgdStep kernel (backend/reference-optim.ts).
      kernel('sgdStep', p.typedData.length, p.dtype)({
        param: p.typedData as FloatArray, grad: grad.typedData as FloatArray, momentumBuffer: buf as FloatArray | null, first,
        lr, momentum, dampening, nesterov, weightDecay, sign: maximize ? -1 : 1,
      });
      p.version++;
    }
  }
}

/**
 * The same update on a device tensor: the device's fused kernel where it has one (fused-steps.ts), else tensor ops (each a device kernel), the parameter and
 * momentum buffer written in place: d = ±g (+ wd·p); buf = d (first) or momentum·buf + (1 − dampening)·d;
 * d = d + momentum·buf (nesterov) or buf; p −= lr·d.
 */
function deviceStep(p: Tensor, grad: Tensor, s: Record<string, unknown> | null, o: SGDOptions): void {
  const fused = fusedSteps(p.storage.device)?.sgdStep;
  if (fused !== undefined) {
    const first = s !== null && s.momentumBuffer === undefined;
    const buf = s === null ? null : ((s.momentumBuffer as Tensor | undefined) ?? zerosLike(p));
    const { lr, momentum, dampening, nesterov, weightDecay } = o;
    if (fused(p, grad, buf, { first, lr, momentum, dampening, nesterov, weightDecay, sign: o.maximize ? -1 : 1 })) {
      if (s !== null) s.momentumBuffer = buf;
      return;
    }
  }
  noGrad(() => {
    let d = o.maximize ? grad.neg() : grad;
    if (o.weightDecay !== 0) d = d.add(p.mul(o.weightDecay));
    if (s !== null) {
      const buf = s.momentumBuffer as Tensor | undefined;
      if (buf === undefined) s.momentumBuffer = d.contiguousCopy();
      else buf.writeFrom('SGD', buf.mul(o.momentum).add(d.mul(1 - o.dampening)));
      const b = s.momentumBuffer as Tensor;
      d = o.nesterov ? d.add(b.mul(o.momentum)) : b;
    }
    p.writeFrom('SGD', p.sub(d.mul(o.lr)));
  });
}
