import { AutogradError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { gradEdge } from './engine.js';
import { isGradEnabled, noGrad } from './grad-mode.js';
import { Node } from './node.js';

/** What a custom Function's forward leaves for its backward. Extra fields may be set freely. */
export class FunctionCtx {
  [key: string]: unknown;
  private saved: Tensor[] = [];
  /** For each argument of apply(): does it need a gradient? */
  needsInputGrad: boolean[] = [];

  saveForBackward(...tensors: Tensor[]): void {
    this.saved = tensors;
  }

  get savedTensors(): Tensor[] {
    return this.saved;
  }
}

type GradResult = Tensor | null | undefined;

/**
 * User-defined differentiable operations, as PyTorch's autograd.Function:
 *
 *   class Cube extends Function {
 *     static override forward(ctx: FunctionCtx, x: Tensor) { ctx.saveForBackward(x); return x.pow(3); }
 *     static override backward(ctx: FunctionCtx, g: Tensor) { const [x] = ctx.savedTensors; return g.mul(x.square().mul(3)); }
 *   }
 *   const y = Cube.apply(x);
 *
 * backward returns one gradient per argument of apply (null for arguments that are not
 * tensors or need none). Forward runs without recording; backward runs with recording only
 * under createGraph, so a backward written with tensor ops is itself differentiable.
 */
export class Function {
  static forward(_ctx: FunctionCtx, ..._args: any[]): Tensor | Tensor[] {
    throw new AutogradError(`${this.name}: subclasses of Function must implement static forward(ctx, ...args)`);
  }

  static backward(_ctx: FunctionCtx, ..._grads: Tensor[]): GradResult | GradResult[] {
    throw new AutogradError(`${this.name}: subclasses of Function must implement static backward(ctx, ...grads)`);
  }

  static apply<R extends Tensor | Tensor[] = Tensor>(...args: unknown[]): R {
    const cls = this;
    const ctx = new FunctionCtx();
    const isTensor = (a: unknown): a is Tensor => typeof a === 'object' && a !== null && 'gradFn' in a && 'typedData' in a;
    ctx.needsInputGrad = args.map((a) => isTensor(a) && a.requiresGrad);
    const raw = noGrad(() => cls.forward(ctx, ...args));
    const outputs = (Array.isArray(raw) ? raw : [raw]).map((o) => (args.includes(o) ? o.detach().clone() : o));
    if (isGradEnabled() && ctx.needsInputGrad.some(Boolean)) {
      const tensorArgs = args.map((a) => (isTensor(a) ? a : null));
      const saved = ctx.savedTensors;
      const node = new Node(
        `${cls.name}Backward`,
        tensorArgs.map((t) => (t ? gradEdge(t) : null)),
        (grads) => {
          const r = cls.backward(ctx, ...(grads as Tensor[]));
          const list = Array.isArray(r) ? r : [r];
          if (list.length !== args.length) {
            throw new AutogradError(`${cls.name}.backward returned ${list.length} gradients, but apply() got ${args.length} arguments`);
          }
          return list.map((g, i) => (tensorArgs[i] && ctx.needsInputGrad[i] ? (g ?? null) : null));
        },
        outputs.map((o) => ({ shape: o.shape, dtype: o.dtype })),
        { tensors: saved, versions: saved.map((t) => t.version) },
      );
      outputs.forEach((o, i) => {
        o.gradFn = node;
        o.outputIndex = i;
      });
    }
    return (Array.isArray(raw) ? outputs : outputs[0]) as R;
  }
}
