import { AutogradError, fmtShape } from '../errors.js';
import { beginWalk, endWalk } from '../memory/ownership.js';
import { zerosK } from '../ops/kernels.js';
import { sameShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { anomalyOn, applyChecked } from './anomaly.js';
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
// Rules ask the memory module, which tracks the walk's gradient buffers (the engine tells it
// when a slot takes or lets go of one); re-exported here for the rules that import it from here.
export { gradIsExclusive } from '../memory/ownership.js';

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
  // Only outermost first-order walks reuse memory: in nested and recorded ones no rule writes in place.
  const memory = beginWalk(!createGraph && !inputs && depth === 0);
  const own = memory.own;
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
      // The slot now holds sum instead of prev; g itself was never this slot's (another slot
      // may hold it), and both may still be read by the edges after this one.
      own.hold(sum);
      if (prev) {
        own.drop(prev);
        own.retire(prev);
        own.retire(g);
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
    own?.recycleRetired();

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
        inputGrads = anomalyOn ? applyChecked(node, grads) : node.apply(grads);
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
      if (own) {
        if (any) for (const g of grads) own.retire(g!);
        own.recycleRetired();
      }
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
    endWalk(memory);
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
