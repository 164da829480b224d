import { kernel } from '../backend/dispatch.js';
import { AutogradError, ShapeError, fmtShape } from '../errors.js';
import { sameShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { runBackward, type BackwardOptions } from './engine.js';
import { enableGrad, isGradEnabled } from './grad-mode.js';
import { cat } from '../ops/functional.js';

export interface GradOptions extends BackwardOptions {
  /** Upstream gradients, one per output; may be omitted for scalar outputs. */
  gradOutputs?: readonly (Tensor | null)[];
  /** Return null for inputs the outputs do not depend on, instead of throwing. */
  allowUnused?: boolean;
}

function onesFor(t: Tensor): Tensor {
  return t.detach().mul(0).add(1);
}

/**
 * Gradients of outputs with respect to inputs, returned rather than accumulated into .grad
 * (PyTorch's torch.autograd.grad).
 */
export function autogradGrad(
  outputs: Tensor | readonly Tensor[],
  inputs: Tensor | readonly Tensor[],
  opts: GradOptions = {},
): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs as Tensor];
  const ins = Array.isArray(inputs) ? inputs : [inputs as Tensor];
  const grads = outs.map((o, i) => {
    const g = opts.gradOutputs?.[i] ?? null;
    if (g) {
      if (!sameShape(g.shape, o.shape)) throw new ShapeError(`grad: gradOutputs[${i}] has shape ${fmtShape(g.shape)} but output ${i} has ${fmtShape(o.shape)}`);
      return g;
    }
    if (o.numel() !== 1) {
      throw new AutogradError(`grad: output ${i} has shape ${fmtShape(o.shape)}; grad can be implicitly created only for scalar outputs, pass gradOutputs`);
    }
    return onesFor(o);
  });
  return runBackward(outs, grads, {
    retainGraph: opts.retainGraph ?? opts.createGraph ?? false,
    createGraph: opts.createGraph ?? false,
    inputs: ins,
    allowUnused: opts.allowUnused ?? false,
  });
}

/** Fresh leaves for the inputs, unless they already carry history we must keep (nested transforms). */
function prepareInputs(inputs: readonly Tensor[]): { xs: Tensor[]; nested: boolean } {
  const nested = isGradEnabled() && inputs.some((x) => x.requiresGrad);
  const xs = inputs.map((x) => (nested && x.requiresGrad ? x : x.detach().requiresGrad_(true)));
  return { xs, nested };
}

/**
 * grad(f): a function returning the gradients of the scalar f(...inputs) with respect to
 * every input (JAX style). Nests: grad(grad(f)) differentiates the gradient again.
 */
export function grad(f: (...xs: Tensor[]) => Tensor): (...inputs: Tensor[]) => Tensor[] {
  return (...inputs) => {
    const { xs, nested } = prepareInputs(inputs);
    const out = enableGrad(() => f(...xs));
    if (out.typedData.length !== 1) throw new AutogradError(`grad: f must return a scalar, got shape ${fmtShape(out.shape)}`);
    return autogradGrad(out, xs, { createGraph: nested, allowUnused: true }).map((g, i) => g ?? xs[i]!.detach().mul(0));
  };
}

/** Value and vector-Jacobian product vᵀ·∂f/∂x of f at the inputs. */
export function vjp(
  f: (...xs: Tensor[]) => Tensor,
  inputs: Tensor | readonly Tensor[],
  v?: Tensor,
  opts: { createGraph?: boolean } = {},
): { output: Tensor; grads: Tensor[] } {
  const list = Array.isArray(inputs) ? inputs : [inputs as Tensor];
  const { xs, nested } = prepareInputs(list);
  const output = enableGrad(() => f(...xs));
  const grads = autogradGrad(output, xs, {
    gradOutputs: v ? [v] : undefined,
    createGraph: opts.createGraph ?? nested,
    allowUnused: true,
  }).map((g, i) => g ?? xs[i]!.detach().mul(0));
  return { output: opts.createGraph || nested ? output : output.detach(), grads };
}

/** Hessian-vector product of the scalar f: (∂²f/∂x²)·v, by differentiating ⟨∇f, v⟩ again. */
export function hvp(
  f: (...xs: Tensor[]) => Tensor,
  inputs: Tensor | readonly Tensor[],
  v: Tensor | readonly Tensor[],
): { output: Tensor; hvp: Tensor[] } {
  const list = Array.isArray(inputs) ? inputs : [inputs as Tensor];
  const vs = Array.isArray(v) ? v : [v as Tensor];
  const xs = list.map((x) => x.detach().requiresGrad_(true));
  return enableGrad(() => {
    const output = f(...xs);
    const g = autogradGrad(output, xs, { createGraph: true, allowUnused: true });
    let inner: Tensor | null = null;
    g.forEach((gi, i) => {
      if (!gi) return;
      const term = gi.mul(vs[i]!).sum();
      inner = inner ? inner.add(term) : term;
    });
    if (!inner) return { output: output.detach(), hvp: xs.map((x) => x.detach().mul(0)) };
    const h = autogradGrad(inner, xs, { allowUnused: true }).map((hi, i) => hi ?? xs[i]!.detach().mul(0));
    return { output: output.detach(), hvp: h };
  });
}

/** Full Jacobian of f at x (one vjp per output element): shape [...out.shape, ...x.shape]. */
export function jacobian(f: (x: Tensor) => Tensor, x: Tensor): Tensor {
  const xs = x.detach().requiresGrad_(true);
  const out = enableGrad(() => f(xs));
  const rows: Tensor[] = [];
  const n = out.typedData.length;
  for (let i = 0; i < n; i++) {
    const e = out.detach().mul(0);
    kernel('fill', 1, e.dtype)(e.typedData, 1, i, i + 1);
    const [g] = autogradGrad(out, xs, { gradOutputs: [e], retainGraph: true, allowUnused: true });
    rows.push(g ?? xs.detach().mul(0));
  }
  const stacked = rows.length ? rows.map((r) => r.reshape([1, ...x.shape])) : [];
  if (stacked.length === 0) return xs.detach().mul(0).reshape([0, ...x.shape]);
  let acc = stacked[0]!;
  if (stacked.length > 1) acc = cat(stacked, 0);
  return acc.reshape([...out.shape, ...x.shape]);
}

