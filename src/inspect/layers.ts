/**
 * What the inspection tools need to know about a model: its leaf modules in order, and the
 * Linear layers each with the activation that follows it. Also a way to watch a module's
 * output without changing the model's code (the counterpart of PyTorch's forward hooks).
 */
import { ValueError } from '../errors.js';
import type { AnyModule } from '../nn/module.js';
import { Identity, Linear } from '../nn/modules/linear.js';
import { LeakyReLU, ReLU, Sigmoid, Tanh } from '../nn/modules/activation.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ActivationKind } from './explain-math.js';

export interface LinearBlock {
  /** 1-based position among the Linear layers. */
  index: number;
  /** Module path relative to the model ('0', 'layers.2'); 'model' for a bare Linear. */
  path: string;
  linear: Linear;
  /** The activation module after it, if any. */
  activationModule: AnyModule | null;
  activationPath: string | null;
  activation: ActivationKind;
  negativeSlope: number;
}

/** Leaf modules (no children) with their paths, in the order forward visits them in a Sequential. */
export function leafModules(model: AnyModule): [string, AnyModule][] {
  return model.namedModules().filter(([, m]) => m.children().length === 0);
}

export function activationOf(m: AnyModule): { kind: ActivationKind; slope: number } | null {
  if (m instanceof ReLU) return { kind: 'relu', slope: 0 };
  if (m instanceof LeakyReLU) return { kind: 'leakyRelu', slope: m.negativeSlope };
  if (m instanceof Sigmoid) return { kind: 'sigmoid', slope: 0 };
  if (m instanceof Tanh) return { kind: 'tanh', slope: 0 };
  if (m instanceof Identity) return { kind: 'identity', slope: 0 };
  return null;
}

/**
 * The Linear layers of the model with their activations. With `strict`, anything other than
 * Linear followed by at most one supported activation is refused (explain needs the whole
 * model to be a stack of such layers); otherwise other modules are skipped.
 */
export function linearBlocks(model: AnyModule, who: string, strict = false): LinearBlock[] {
  const leaves = model instanceof Linear ? ([['model', model]] as [string, AnyModule][]) : leafModules(model);
  const blocks: LinearBlock[] = [];
  for (const [path, m] of leaves) {
    const last = blocks[blocks.length - 1];
    if (m instanceof Linear) {
      blocks.push({ index: blocks.length + 1, path, linear: m, activationModule: null, activationPath: null, activation: 'identity', negativeSlope: 0 });
      continue;
    }
    const act = activationOf(m);
    if (act && last && last.activationModule === null) {
      last.activationModule = m;
      last.activationPath = path;
      last.activation = act.kind;
      last.negativeSlope = act.slope;
      continue;
    }
    if (act?.kind === 'identity') continue;
    if (strict) {
      throw new ValueError(
        `${who}: cannot explain module ${m.constructor.name} at "${path}"; supported models are stacks of Linear layers, ` +
          'each followed by at most one of ReLU, LeakyReLU, Sigmoid, Tanh or Identity',
      );
    }
  }
  if (strict && blocks.length === 0) throw new ValueError(`${who}: the model has no Linear layer`);
  return blocks;
}

/**
 * Calls `watch(output, input)` each time `module` runs forward, until the returned function is
 * called. The module's own forward is untouched: an instance property shadows it, hidden from
 * the module's registry (not enumerable) so stateDict and friends never see it. While watched,
 * the module is not fused with its neighbour in an nn.Sequential (Module.fuseWith declines a
 * replaced forward), so the watcher sees the module's own output (a Linear's pre-activation,
 * the activation's result) and the numbers stay those of the fused pair, bit for bit.
 */
export function watchForward(module: AnyModule, watch: (output: Tensor, input: Tensor) => void): () => void {
  const previous = Object.getOwnPropertyDescriptor(module, 'forward');
  const original = module.forward;
  Object.defineProperty(module, 'forward', {
    value: function (this: AnyModule, ...args: unknown[]) {
      const out = original.apply(this, args) as Tensor;
      watch(out, args[0] as Tensor);
      return out;
    },
    configurable: true,
    writable: true,
    enumerable: false,
  });
  return () => {
    if (previous) Object.defineProperty(module, 'forward', previous);
    else delete (module as unknown as Record<string, unknown>).forward;
  };
}
