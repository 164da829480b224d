import { AutogradError, fmtShape } from '../errors.js';
import { sameShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { enableGrad, noGrad } from './grad-mode.js';
import { AccumulateGrad, type Node } from './node.js';

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
export function gradEdge(t: Tensor): { node: Node; index: number } | null {
  if (t.gradFn) return { node: t.gradFn, index: t.outputIndex };
  if (t.requiresGrad) return { node: t.accumulator(), index: 0 };
  return null;
}

function addGrad(a: Tensor | null, b: Tensor): Tensor {
  return a === null ? b : a.add(b);
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

function walk(
  roots: readonly Tensor[],
  rootGrads: readonly Tensor[],
  retainGraph: boolean,
  createGraph: boolean,
  inputs: readonly Tensor[] | undefined,
  allowUnused: boolean,
): (Tensor | null)[] {
  const buffers = new Map<Node, (Tensor | null)[]>();
  const rootNodes: Node[] = [];
  roots.forEach((root, i) => {
    const edge = gradEdge(root);
    if (!edge) {
      throw new AutogradError(
        `backward: output ${i} (shape ${fmtShape(root.shape)}) does not require grad and has no grad_fn; ` +
          'did you forget requiresGrad on an input, or compute it inside noGrad()?',
      );
    }
    const buf = buffers.get(edge.node) ?? new Array<Tensor | null>(edge.node.outputs.length).fill(null);
    buf[edge.index] = addGrad(buf[edge.index] ?? null, rootGrads[i]!);
    buffers.set(edge.node, buf);
    rootNodes.push(edge.node);
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

  // Dependency counts: how many edges from reachable nodes point at each node.
  const deps = new Map<Node, number>();
  const stack: Node[] = [];
  for (const n of rootNodes) {
    if (!deps.has(n)) {
      deps.set(n, 0);
      stack.push(n);
    }
  }
  while (stack.length > 0) {
    const next = stack.pop()!.next;
    for (let i = 0; i < next.length; i++) {
      const e = next[i];
      if (!e) continue;
      const d = deps.get(e.node);
      if (d === undefined) stack.push(e.node);
      deps.set(e.node, (d ?? 0) + 1);
    }
  }

  const ready: Node[] = [];
  for (const [n, d] of deps) if (d === 0) ready.push(n);
  while (ready.length > 0) {
    const node = ready.pop()!;
    const grads = buffers.get(node) ?? new Array<Tensor | null>(node.outputs.length).fill(null);
    buffers.delete(node);

    // Hooks and retainGrad on the tensors this node produced.
    if (node.watched) {
      for (const [index, t] of node.watched) {
        const g = grads[index];
        if (!g) continue;
        grads[index] = t.runHooks(g);
        if (t.retainsGrad) t.setRetainedGrad(grads[index]!, createGraph);
      }
    }

    const cap = captures.get(node);
    if (cap) {
      for (const [index, slots] of cap) for (const s of slots) captured[s] = grads[index] ?? null;
    }

    if (node instanceof AccumulateGrad) {
      const g = grads[0];
      if (g && !inputs) node.variable.accumulateGrad(node.variable.runHooks(g), createGraph);
      continue;
    }

    let inputGrads: (Tensor | null)[] | null = null;
    let any = false;
    for (let i = 0; i < grads.length; i++) if (grads[i]) any = true;
    if (any) {
      for (let i = 0; i < grads.length; i++) if (!grads[i]) grads[i] = zerosFor(node, i);
      inputGrads = node.apply(grads);
      checkGradShapes(node, inputGrads);
    }
    if (!retainGraph) node.release();

    const next = node.next;
    for (let i = 0; i < next.length; i++) {
      const e = next[i];
      if (!e) continue;
      const g = inputGrads ? inputGrads[i] : null;
      if (g) {
        let buf = buffers.get(e.node);
        if (!buf) {
          buf = new Array<Tensor | null>(e.node.outputs.length).fill(null);
          buffers.set(e.node, buf);
        }
        const prev = buf[e.index];
        buf[e.index] = prev ? prev.add(g) : g;
      }
      const left = deps.get(e.node)! - 1;
      deps.set(e.node, left);
      if (left === 0) ready.push(e.node);
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
}

function zerosFor(node: Node, index: number): Tensor {
  const meta = node.outputs[index]!;
  return zerosHook!(meta.shape, meta.dtype);
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

/** Set by the tensor module (avoids an import cycle at load time). */
let zerosHook: ((shape: readonly number[], dtype: Tensor['dtype']) => Tensor) | null = null;
export function setZerosFactory(f: (shape: readonly number[], dtype: Tensor['dtype']) => Tensor): void {
  zerosHook = f;
}
