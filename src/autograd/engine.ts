import { AutogradError, fmtShape } from '../errors.js';
import { noteAllocations, type AllocationWatcher } from '../tensor/dtype.js';
import { zerosK } from '../ops/kernels.js';
import { POOL_MIN_BYTES, recycleBuffer } from '../tensor/pool.js';
import { sameShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { enableGrad, noGrad } from './grad-mode.js';
import { AccumulateGrad, type Edge, type Node } from './node.js';

export interface BackwardOptions {
  /** Keep the saved tensors so that the graph can be walked again. */
  retainGraph?: boolean;
  /** Record the backward pass itself, so that gradients can be differentiated again. */
  createGraph?: boolean;
}

interface RunOptions extends BackwardOptions {
  /** When given, gradients for these tensors are returned instead of accumulated into .grad. */
  inputs?: readonly Tensor[];
  allowUnused?: boolean;
}

/** The node whose output `t` is, and which output. */
export function gradEdge(t: Tensor): Edge | null {
  // Cached on the tensor: every op that consumes t records the same edge.
  const cached = t.edgeCache;
  if (cached !== null && (cached.node === t.gradFn || (t.gradFn === null && cached.node instanceof AccumulateGrad))) return cached;
  let edge: Edge | null = null;
  if (t.gradFn) edge = { node: t.gradFn, index: t.outputIndex };
  else if (t.requiresGrad) edge = { node: t.accumulator(), index: 0 };
  t.edgeCache = edge;
  return edge;
}

/**
 * The reverse pass. Gradients flow from the roots through the graph in a topological order
 * (Kahn's algorithm on dependency counts, so each node runs once, after every consumer of
 * its outputs has added its contribution). Iterative throughout: no recursion, so graph
 * depth is limited by memory only.
 */
export function runBackward(roots: readonly Tensor[], rootGrads: readonly Tensor[], opts: RunOptions = {}): (Tensor | null)[] {
  const { retainGraph = false, createGraph = false, inputs } = opts;
  const run = () => walk(roots, rootGrads, retainGraph, createGraph, inputs, opts.allowUnused ?? false);
  return createGraph ? enableGrad(run) : noGrad(run);
}

let epochCounter = 0;
let depth = 0;
/** The running walk's ownership tracker (outermost, first-order walks only). */
let activeOwnership: Ownership | null = null;

/**
 * @internal For backward rules: true when the gradient a rule was handed is held by nothing
 * but the node now running (made during this walk by built-in rules, seen by no user code, in
 * no other slot), so the rule may overwrite it in place instead of allocating its result.
 */
export function gradIsExclusive(g: Tensor): boolean {
  return activeOwnership !== null && activeOwnership.owns(g);
}

/**
 * Which gradient buffers a leaf may take into .grad without copying. A buffer qualifies when
 * it was allocated during this walk, only built-in rules have touched it (no hook, custom
 * Function, retainGrad or capture saw it: user code could keep a reference), and no other
 * slot holds it when the leaf receives it. Pass-through rules (add's backward returns g
 * itself) are fine: the node that received g is done with it once its rule has run.
 */
class Ownership implements AllocationWatcher {
  // Created on first use: graphs of small tensors (where copying costs nothing) never pay for them.
  private born: WeakSet<ArrayBuffer> | null = null;
  private live: Map<ArrayBufferLike, number> | null = null;
  private exposed: WeakSet<ArrayBufferLike> | null = null;
  /** Forget everything: one instance serves every outermost walk. */
  reset(): this {
    this.born = null;
    this.live = null;
    this.exposed = null;
    return this;
  }
  // Only gradients of POOL_MIN_BYTES or more are tracked; smaller ones are copied and never
  // recycled. (Checked on byteLength: reading .buffer of a small on-heap array is costly.) No
  // built-in rule returns a sub-range view of a gradient, so a small gradient cannot share a
  // big buffer unless user code made it, and what user code touches is exposed below.
  birth(b: ArrayBuffer): void {
    (this.born ??= new WeakSet()).add(b);
  }
  hold(g: Tensor): void {
    if (g.data.byteLength < POOL_MIN_BYTES) return;
    const b = g.data.buffer;
    const live = (this.live ??= new Map());
    live.set(b, (live.get(b) ?? 0) + 1);
  }
  drop(g: Tensor): void {
    if (this.live === null || g.data.byteLength < POOL_MIN_BYTES) return;
    const b = g.data.buffer;
    const n = this.live.get(b);
    if (n === undefined) return;
    if (n <= 1) this.live.delete(b);
    else this.live.set(b, n - 1);
  }
  /** User code (a hook, a custom Function) saw g: its whole buffer is off limits, whatever its size. */
  expose(g: Tensor | null | undefined): void {
    if (g) (this.exposed ??= new WeakSet()).add(g.data.buffer);
  }
  private mine(b: ArrayBufferLike): boolean {
    return this.born !== null && this.born.has(b as ArrayBuffer) && !(this.exposed?.has(b) ?? false);
  }
  owns(g: Tensor): boolean {
    if (this.born === null || g.data.byteLength < POOL_MIN_BYTES) return false;
    const b = g.data.buffer;
    return this.live?.get(b) === 1 && this.mine(b);
  }
  /** After g's holder is done with it: a buffer no slot holds any more is dead, so reuse it. */
  recycleIfDead(g: Tensor): void {
    if (this.born === null || g.data.byteLength < POOL_MIN_BYTES) return;
    const b = g.data.buffer;
    if (!(this.live?.has(b) ?? false) && this.mine(b)) {
      (this.exposed ??= new WeakSet()).add(b); // never twice
      recycleBuffer(g.data);
    }
  }
}

/** Only outermost walks track ownership, so one tracker, reset per walk, serves them all. */
const sharedOwnership = new Ownership();

function walk(
  roots: readonly Tensor[],
  rootGrads: readonly Tensor[],
  retainGraph: boolean,
  createGraph: boolean,
  inputs: readonly Tensor[] | undefined,
  allowUnused: boolean,
): (Tensor | null)[] {
  // Per-walk state lives in arrays indexed by a slot stored on each node (no Map lookups on
  // the hot path). A walk started from inside another one (a hook calling backward) saves
  // the slots it overwrites and restores them when it ends, so the outer walk is unaffected.
  const epoch = ++epochCounter;
  const overwritten: [Node, number, number][] | null = depth > 0 ? [] : null;
  const own = !createGraph && !inputs && depth === 0 ? sharedOwnership.reset() : null;
  const prevWatcher = own ? noteAllocations(own) : null;
  const prevActive = activeOwnership;
  activeOwnership = own; // null in nested and recorded walks: no rule writes in place there
  depth++;
  const nodes: Node[] = [];
  const deps: number[] = [];
  const bufs: ((Tensor | null)[] | null)[] = [];
  const slotOf = (node: Node): number => {
    if (node.walkEpoch !== epoch) {
      overwritten?.push([node, node.walkEpoch, node.walkSlot]);
      node.walkEpoch = epoch;
      node.walkSlot = nodes.length;
      nodes.push(node);
      deps.push(0);
      bufs.push(null);
      return node.walkSlot;
    }
    return node.walkSlot;
  };
  const addTo = (node: Node, index: number, g: Tensor) => {
    const slot = slotOf(node);
    let buf = bufs[slot];
    if (!buf) bufs[slot] = buf = emptyGrads(node);
    const prev = buf[index];
    const sum = prev ? prev.add(g) : g;
    buf[index] = sum;
    if (own) {
      own.hold(sum);
      if (prev) {
        own.drop(prev);
        own.drop(g);
        own.recycleIfDead(prev);
        own.recycleIfDead(g);
      }
    }
  };
  try {
    roots.forEach((root, i) => {
      const edge = gradEdge(root);
      if (!edge) {
        throw new AutogradError(
          `backward: output ${i} (shape ${fmtShape(root.shape)}) does not require grad and has no grad_fn; ` +
            'did you forget requiresGrad on an input, or compute it inside noGrad()?',
        );
      }
      // (A root gradient was made before this walk, so it is never taken or recycled.)
      addTo(edge.node, edge.index, rootGrads[i]!);
    });

    // Where the caller asked for gradients of particular tensors (autograd.grad), note
    // which node output each one is.
    const captures = new Map<Node, Map<number, number[]>>();
    const captured: (Tensor | null)[] = [];
    inputs?.forEach((t, i) => {
      const edge = gradEdge(t);
      captured.push(null);
      if (!edge) {
        if (!allowUnused) throw new AutogradError(`grad: input ${i} (shape ${fmtShape(t.shape)}) does not require grad`);
        return;
      }
      const byIndex = captures.get(edge.node) ?? new Map<number, number[]>();
      byIndex.set(edge.index, [...(byIndex.get(edge.index) ?? []), i]);
      captures.set(edge.node, byIndex);
    });

    // Dependency counts: how many edges from reachable nodes point at each node. Every node
    // gets its slot when first reached, so the nodes still to expand are those past `done`.
    let done = 0;
    while (done < nodes.length) {
      const next = nodes[done++]!.next;
      for (let i = 0; i < next.length; i++) {
        const e = next[i];
        if (e) deps[slotOf(e.node)]!++;
      }
    }

    const ready: number[] = [];
    for (let slot = 0; slot < nodes.length; slot++) if (deps[slot] === 0) ready.push(slot);
    while (ready.length > 0) {
      const slot = ready.pop()!;
      const node = nodes[slot]!;
      const grads = bufs[slot] ?? emptyGrads(node);
      bufs[slot] = null;

      // Hooks and retainGrad on the tensors this node produced.
      if (node.watched) {
        for (const [index, t] of node.watched) {
          const g = grads[index];
          if (!g) continue;
          own?.expose(g);
          grads[index] = t.runHooks(g);
          own?.expose(grads[index]);
          if (t.retainsGrad) t.setRetainedGrad(grads[index]!, createGraph);
        }
      }

      const cap = captures.size > 0 ? captures.get(node) : undefined;
      if (cap) {
        for (const [index, slots] of cap) for (const s of slots) captured[s] = grads[index] ?? null;
      }

      if (node instanceof AccumulateGrad) {
        const g = grads[0];
        if (g && !inputs) {
          const v = node.variable;
          if (own === null) v.accumulateGrad(v.runHooks(g), createGraph);
          else if (v.hasHooks()) {
            own.expose(g);
            const h = v.runHooks(g);
            own.expose(h);
            v.accumulateGrad(h, createGraph);
          } else {
            const owned = own.owns(g);
            if (owned) own.expose(g); // the leaf's .grad from now on
            v.accumulateGrad(g, createGraph, owned);
            own.drop(g);
            own.recycleIfDead(g);
          }
        }
        continue;
      }

      let inputGrads: (Tensor | null)[] | null = null;
      let any = false;
      for (let i = 0; i < grads.length; i++) if (grads[i]) any = true;
      if (any) {
        for (let i = 0; i < grads.length; i++) if (!grads[i]) grads[i] = zerosFor(node, i);
        inputGrads = node.apply(grads);
        if (node.checksGradShapes) {
          // A custom Function: its backward is user code, which may keep what it sees.
          checkGradShapes(node, inputGrads);
          if (own) for (const g of grads) own.expose(g);
          if (own) for (const g of inputGrads) own.expose(g);
        }
        if (own) for (const g of grads) own.drop(g!);
      }
      if (!retainGraph) node.release();

      const next = node.next;
      for (let i = 0; i < next.length; i++) {
        const e = next[i];
        if (!e) continue;
        const g = inputGrads ? inputGrads[i] : null;
        if (g) addTo(e.node, e.index, g);
        const s = e.node.walkSlot;
        if (--deps[s]! === 0) ready.push(s);
      }
      // The gradients this node received are dead unless its rule passed them on.
      if (own && any) for (const g of grads) own.recycleIfDead(g!);
    }

    if (inputs && !allowUnused) {
      captured.forEach((g, i) => {
        if (g === null) {
          throw new AutogradError(
            `grad: input ${i} (shape ${fmtShape(inputs[i]!.shape)}) was not used to compute the outputs; pass { allowUnused: true } to get null for it`,
          );
        }
      });
    }
    return captured;
  } finally {
    depth--;
    if (own) {
      noteAllocations(prevWatcher);
      own.reset(); // let go of the buffers it noted
    }
    activeOwnership = prevActive;
    if (overwritten) for (const [n, e, s] of overwritten) {
      n.walkEpoch = e;
      n.walkSlot = s;
    }
  }
}

function emptyGrads(node: Node): (Tensor | null)[] {
  return node.outputs.length === 1 ? [null] : new Array<Tensor | null>(node.outputs.length).fill(null);
}

function zerosFor(node: Node, index: number): Tensor {
  const meta = node.outputs[index]!;
  return zerosK(meta.shape, meta.dtype);
}

function checkGradShapes(node: Node, grads: (Tensor | null)[]): void {
  grads.forEach((g, i) => {
    const target = node.next[i];
    if (!g || !target) return;
    const expected = target.node.outputs[target.index]!.shape;
    if (!sameShape(g.shape, expected)) {
      throw new AutogradError(
        `backward: ${node.name} returned a gradient of shape ${fmtShape(g.shape)} for input ${i}, whose shape is ${fmtShape(expected)}`,
      );
    }
  });
}
