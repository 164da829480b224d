import { AutogradError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';

/** Where a gradient goes: output `index` of `node`. */
export interface Edge {
  node: Node;
  index: number;
}

export type BackwardFn = (grads: (Tensor | null)[]) => (Tensor | null)[];

/** What an output looked like, so the engine can make a zero gradient for an unused one. */
export interface OutputMeta {
  shape: readonly number[];
  dtype: Tensor['dtype'];
}

let sequence = 0;

/**
 * One recorded operation. It holds edges to the nodes that produced its inputs (not the
 * input tensors themselves), so only the tensors its backward rule saved stay in memory.
 */
export class Node {
  /** Creation order: a later node never feeds an earlier one. */
  readonly seq = sequence++;
  /** Tensors whose gradients the user watches (hooks, retainGrad), by output index. */
  watched: Map<number, Tensor> | null = null;
  released = false;
  /**
   * Whether the engine checks the shapes of the gradients this node returns. On for custom
   * Functions (user code); the built-in rules turn it off, their shapes being fixed by tests.
   */
  checksGradShapes = true;
  /** @internal The engine's bookkeeping: which backward pass last visited, and this node's slot in it. */
  walkEpoch = 0;
  walkSlot = 0;

  constructor(
    readonly name: string,
    readonly next: (Edge | null)[],
    private backwardFn: BackwardFn | null,
    readonly outputs: OutputMeta[],
    /** Saved tensors, kept here so that release() can drop them. */
    private saved: { tensors: Tensor[]; versions: number[] } | null = null,
  ) {}

  /** The saved tensors, for inspection tools (graph drawing); empty once released. */
  savedTensors(): readonly Tensor[] {
    return this.saved?.tensors ?? [];
  }

  apply(grads: (Tensor | null)[]): (Tensor | null)[] {
    if (this.released) {
      throw new AutogradError(
        `backward: trying to backward through the graph a second time: the saved tensors of ${this.name} were freed after the first backward. ` +
          'Pass { retainGraph: true } to the first backward() if you need to backward through it again.',
      );
    }
    const saved = this.saved;
    if (saved !== null) {
      const ts = saved.tensors;
      for (let i = 0; i < ts.length; i++) {
        const t = ts[i]!;
        if (t.version !== saved.versions[i]) {
          throw new AutogradError(
            `backward: a tensor of shape [${t.shape.join(',')}] saved by ${this.name} for its gradient was modified in place ` +
              `(version ${saved.versions[i]} then, ${t.version} now); use an out-of-place op or clone() it first`,
          );
        }
      }
    }
    return this.compute(grads);
  }

  /** The vector-Jacobian product itself; op nodes override this instead of holding a closure. */
  protected compute(grads: (Tensor | null)[]): (Tensor | null)[] {
    return this.backwardFn!(grads);
  }

  release(): void {
    this.backwardFn = null;
    this.saved = null;
    this.released = true;
  }

  watch(index: number, t: Tensor): void {
    (this.watched ??= new Map()).set(index, t);
  }
}

/** The sink of a leaf that requires grad: backward adds into `variable.grad` here. */
export class AccumulateGrad extends Node {
  constructor(readonly variable: Tensor) {
    super('AccumulateGrad', [], () => [], [{ shape: variable.shape, dtype: variable.dtype }]);
  }

  override release(): void {
    // Nothing saved; a leaf's sink stays usable for every later backward.
  }
}
