import { isGradEnabled } from '../autograd/grad-mode.js';
import { gradEdge } from '../autograd/engine.js';
import { Node } from '../autograd/node.js';
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';

/** Every primitive op and the attributes it takes. Adding an op here without a rule is a type error. */
export interface OpAttrs {
  add: {};
  sub: {};
  mul: {};
  div: {};
  pow: {};
  maximum: {};
  minimum: {};
  neg: {};
  exp: {};
  log: {};
  sqrt: {};
  abs: {};
  sin: {};
  cos: {};
  tanh: {};
  sigmoid: {};
  relu: {};
  erf: {};
  log1p: {};
  expm1: {};
  powScalar: { exponent: number };
  clamp: { min: number | null; max: number | null };
  where: {};
  cast: { dtype: DType };
  sum: { dims: number[]; keepdim: boolean };
  amax: { dims: number[]; keepdim: boolean };
  amin: { dims: number[]; keepdim: boolean };
  matmul: { transA: boolean; transB: boolean };
  reshape: { shape: number[] };
  permute: { perm: number[] };
  expand: { shape: number[] };
  cat: { dim: number };
  slice: { dim: number; start: number; end: number; step: number };
  sliceScatter: { shape: number[]; dim: number; start: number; step: number };
  indexSelect: { dim: number };
  indexAdd: { dim: number };
  gather: { dim: number };
  scatterAdd: { dim: number };
  im2col: { kernel: number[]; stride: number[]; padding: number[]; dilation: number[]; padValue: number };
  col2im: { kernel: number[]; stride: number[]; padding: number[]; dilation: number[]; size: number[] };
}

export type OpName = keyof OpAttrs;

/** What a forward pass leaves for its backward: saved tensors and facts about the inputs. */
export class Ctx {
  saved: Tensor[] = [];
  inputShapes: (readonly number[])[] = [];
  inputDtypes: DType[] = [];
  /** Which inputs need a gradient, so a rule can skip work nobody will use. */
  needsInputGrad: boolean[] = [];

  save(...tensors: Tensor[]): void {
    this.saved.push(...tensors);
  }
}

/**
 * A primitive: the forward computation (untracked, from the kernels) and its vector-Jacobian
 * product, written with tracked tensor ops so that `createGraph` can differentiate it again.
 */
export interface OpRule<A> {
  forward(ctx: Ctx, inputs: readonly Tensor[], attrs: A): Tensor;
  backward(ctx: Ctx, grad: Tensor, attrs: A): (Tensor | null)[];
}

export type RuleTable = { [K in OpName]: OpRule<OpAttrs[K]> };

let table: RuleTable | null = null;
export function installRules(t: RuleTable): void {
  table = t;
}

function backwardName(op: string): string {
  return `${op[0]!.toUpperCase()}${op.slice(1)}Backward`;
}

/**
 * Run a primitive: compute its output, and when grad mode is on and an input needs a
 * gradient, record a node whose backward is the op's rule.
 */
export function apply<K extends OpName>(op: K, inputs: readonly Tensor[], attrs: OpAttrs[K]): Tensor {
  const rule = table![op] as OpRule<OpAttrs[K]>;
  const ctx = new Ctx();
  const out = rule.forward(ctx, inputs, attrs);
  if (!isGradEnabled()) return out;
  let anyGrad = false;
  for (const t of inputs) if (t.requiresGrad) anyGrad = true;
  if (!anyGrad) return out;
  ctx.needsInputGrad = inputs.map((t) => t.requiresGrad);
  ctx.inputShapes = inputs.map((t) => t.shape);
  ctx.inputDtypes = inputs.map((t) => t.dtype);
  const saved = ctx.saved;
  out.gradFn = new Node(
    backwardName(op),
    inputs.map((t) => gradEdge(t)),
    (grads) => rule.backward(ctx, grads[0]!, attrs),
    [{ shape: out.shape, dtype: out.dtype }],
    { tensors: saved, versions: saved.map((t) => t.version) },
  );
  return out;
}
