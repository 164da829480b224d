import { IndexError, ChainruleError } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Module, rawModule, type AnyModule } from '../module.js';

function checkIndex(who: string, i: number, n: number): number {
  if (!Number.isInteger(i) || i < -n || i >= n) throw new IndexError(`${who}: index ${i} is out of range for ${n} modules`);
  return i < 0 ? i + n : i;
}

/**
 * Modules applied in order, each to the previous one's output. Children are named '0', '1',
 * ... (or by the keys of an object passed instead), so parameters read `0.weight`.
 *
 *   const mlp = new nn.Sequential(new nn.Linear(5, 10), new nn.ReLU(), new nn.Linear(10, 3));
 */
export class Sequential extends Module {
  constructor(...modules: AnyModule[] | [Record<string, AnyModule>]) {
    super();
    const first = modules[0];
    if (modules.length === 1 && !(first instanceof Module)) {
      for (const [k, m] of Object.entries(first as Record<string, AnyModule>)) this.registerModule(k, m);
    } else {
      (modules as AnyModule[]).forEach((m, i) => this.registerModule(String(i), m));
    }
  }

  override forward(x: Tensor): Tensor {
    let y = x;
    const mods = this.childEntries();
    for (let i = 0; i < mods.length; i++) {
      const m = mods[i]![1];
      const next = mods[i + 1]?.[1];
      // A module and the next as one op where the module says it can (Module.fuseWith, e.g. a
      // Linear then a ReLU): same numbers, fewer passes and one node fewer.
      // (Asked of the module objects behind the proxies: these methods only read fields.)
      const fused = next !== undefined ? rawModule(m).fuseWith(rawModule(next)) : null;
      if (fused !== null) {
        y = fused(y);
        i++;
        continue;
      }
      y = m.call(y) as Tensor;
    }
    return y;
  }

  /** Which modules forward() runs fused with the one after them, by index (what fuseWith answers now). */
  fusedPairs(): number[] {
    const mods = this.childEntries();
    const out: number[] = [];
    for (let i = 0; i + 1 < mods.length; i++) {
      if (mods[i]![1].fuseWith(mods[i + 1]![1]) !== null) out.push(i++);
    }
    return out;
  }

  override get length(): number {
    return this.childEntries().length;
  }

  /** The i-th module; negative i counts from the end. */
  at(i: number): AnyModule {
    const entries = this.childEntries();
    return entries[checkIndex('Sequential.at', i, entries.length)]![1];
  }

  append(m: AnyModule): this {
    this.registerModule(String(this.length), m);
    return this;
  }

  [Symbol.iterator](): Iterator<AnyModule> {
    return this.childEntries().map(([, m]) => m)[Symbol.iterator]();
  }
}

/** A list of modules whose parameters are registered (a plain array's are not). No forward of its own. */
export class ModuleList extends Module<never[], never> {
  constructor(modules: Iterable<AnyModule> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  override forward(): never {
    throw new ChainruleError(`${this.label()}: a ModuleList has no forward; iterate over it in the parent's forward`);
  }

  override get length(): number {
    return this.childEntries().length;
  }

  at(i: number): AnyModule {
    const entries = this.childEntries();
    return entries[checkIndex('ModuleList.at', i, entries.length)]![1];
  }

  append(m: AnyModule): this {
    this.registerModule(String(this.length), m);
    return this;
  }

  extend(ms: Iterable<AnyModule>): this {
    for (const m of ms) this.append(m);
    return this;
  }

  [Symbol.iterator](): Iterator<AnyModule> {
    return this.childEntries().map(([, m]) => m)[Symbol.iterator]();
  }
}
