/**
 * The recorded graph behind a tensor, walked from its gradFn: one entry per recorded op, one
 * per leaf that requires grad (its AccumulateGrad's variable), and one per constant input that
 * could be reached. toDot() (dot.ts) draws this description; tests read it directly.
 */
import type { Node } from '../autograd/node.js';
import { AccumulateGrad } from '../autograd/node.js';
import type { Tensor } from '../tensor/tensor.js';

/** Anything with PyTorch-style namedParameters(): a Module, or a plain stand-in. */
export interface NamedParameterSource {
  namedParameters(): Iterable<readonly [string, Tensor]>;
}

export interface GraphOptions {
  /** Label parameters by their module path (`layers.0.weight`), matched by identity. */
  modelForNames?: NamedParameterSource;
  /** Extra names for tensors you hold (inputs, retained intermediates such as z¹): an op node whose output you name shows that name, its value and (after retainGrad) its gradient. */
  tensors?: Record<string, Tensor>;
  /** Draw inputs that do not require grad (data, targets, scalars). Default true. */
  constants?: boolean;
}

export type GraphNodeKind = 'op' | 'parameter' | 'leaf' | 'constant';

export interface GraphNode {
  id: string;
  kind: GraphNodeKind;
  /** gradFn name for ops ('MatmulBackward'); 'AccumulateGrad' for leaves; 'Constant' otherwise. */
  op: string;
  /** Module path, a name from `tensors`, or Tensor.name; null when nothing names it. */
  label: string | null;
  shape: readonly number[] | null;
  /** The tensor itself when it is known (leaves, the root, named or saved outputs). */
  tensor: Tensor | null;
  /** How many inputs of recorded ops this node's output feeds (+1 for the root): ≥ 2 means its gradient is a sum. */
  consumers: number;
  isRoot: boolean;
}

export interface GraphEdge {
  /** The producer (where the value comes from, and where its gradient goes). */
  from: string;
  /** The consumer op. */
  to: string;
  /** Which input of the consumer. */
  input: number;
}

export interface GraphDescription {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

/** The graph of `root`: ops in creation order, then leaves; edges producer → consumer. */
export function describeGraph(root: Tensor, options: GraphOptions = {}): GraphDescription {
  const names = new Map<Tensor, string>();
  const params = new Set<Tensor>();
  if (options.modelForNames) {
    for (const [name, p] of options.modelForNames.namedParameters()) {
      names.set(p, name);
      params.add(p);
    }
  }
  const named = new Map<Node, Tensor>();
  for (const [name, t] of Object.entries(options.tensors ?? {})) {
    if (!names.has(t)) names.set(t, name);
    if (t.gradFn) named.set(t.gradFn, t);
  }
  if (root.gradFn) named.set(root.gradFn, root);

  const start = root.gradFn ?? (root.requiresGrad ? root.accumulator() : null);
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  if (!start) return { nodes, edges };

  // Iterative walk: deep graphs must not overflow the stack.
  const seen = new Set<Node>([start]);
  const order: Node[] = [];
  const todo: Node[] = [start];
  while (todo.length) {
    const n = todo.pop()!;
    order.push(n);
    for (const e of n.next) {
      if (e && !seen.has(e.node)) {
        seen.add(e.node);
        todo.push(e.node);
      }
    }
  }
  // Stable, readable ids: ops in creation order (seq), then leaves.
  order.sort((a, b) => Number(a instanceof AccumulateGrad) - Number(b instanceof AccumulateGrad) || a.seq - b.seq);
  const ids = new Map<Node, string>();
  order.forEach((n, i) => ids.set(n, `n${i}`));

  const consumers = new Map<Node, number>();
  consumers.set(start, 1);
  for (const n of order) for (const e of n.next) if (e) consumers.set(e.node, (consumers.get(e.node) ?? 0) + 1);

  for (const n of order) {
    if (n instanceof AccumulateGrad) {
      const v = n.variable;
      const label = names.get(v) ?? v.name;
      nodes.push({ id: ids.get(n)!, kind: params.has(v) ? 'parameter' : 'leaf', op: 'AccumulateGrad', label, shape: v.shape, tensor: v, consumers: consumers.get(n) ?? 0, isRoot: n === start });
    } else {
      const t = named.get(n) ?? n.savedTensors().find((s) => s.gradFn === n) ?? null;
      const label = t ? (names.get(t) ?? t.name) : null;
      nodes.push({ id: ids.get(n)!, kind: 'op', op: n.name, label, shape: n.outputs[0]?.shape ?? null, tensor: t, consumers: consumers.get(n) ?? 0, isRoot: n === start });
    }
  }
  let constant = 0;
  for (const n of order) {
    n.next.forEach((e, input) => {
      if (e) {
        edges.push({ from: ids.get(e.node)!, to: ids.get(n)!, input });
      } else if (options.constants !== false) {
        // Inputs that need no gradient leave a null edge; an op that saved its inputs in order (matmul, mul, div, pow) still holds the tensor.
        const saved = n.savedTensors()[input];
        const t = saved && saved.gradFn === null && !saved.requiresGrad ? saved : null;
        const id = `c${constant++}`;
        nodes.push({ id, kind: 'constant', op: 'Constant', label: t ? (names.get(t) ?? t.name) : null, shape: t ? t.shape : null, tensor: t, consumers: 1, isRoot: false });
        edges.push({ from: id, to: ids.get(n)!, input });
      }
    });
  }
  return { nodes, edges };
}
