import { isGradEnabled } from '../autograd/grad-mode.js';
import { gradEdge } from '../autograd/engine.js';
import { anomalyOn, checkForward, noteRecorded } from '../autograd/anomaly.js';
import { DeviceError, OpError, fmtShape } from '../errors.js';
import { deviceImpl } from '../tensor/device.js';
import { Node, type Edge, type OutputMeta } from '../autograd/node.js';
import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { sameShape, viewStrides } from '../tensor/shape.js';
import { ruleTable } from './rules/index.js';
import type { Activation } from './rules/epilogue.js';

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
  // backward formulas as primitives, so each rule has one body (rules/activation-grads.ts)
  tanhGrad: {};
  sigmoidGrad: {};
  reluGrad: {};
  powScalarGrad: { exponent: number };
  clamp: { min: number | null; max: number | null };
  where: {};
  cast: { dtype: DType };
  sum: { dims: number[]; keepdim: boolean };
  mean: { dims: number[]; keepdim: boolean };
  amax: { dims: number[]; keepdim: boolean };
  amin: { dims: number[]; keepdim: boolean };
  cumsum: { dim: number; reverse: boolean };
  cumprod: { dim: number };
  flip: { dims: number[] };
  matmul: { transA: boolean; transB: boolean };
  reshape: { shape: number[] };
  permute: { perm: number[] };
  expand: { shape: number[] };
  cat: { dim: number };
  slice: { dim: number; start: number; end: number; step: number };
  sliceScatter: { shape: number[]; dim: number; start: number; step: number };
  contiguous: {};
  diagonal: { offset: number; dim1: number; dim2: number };
  diagonalScatter: { shape: number[]; offset: number; dim1: number; dim2: number };
  indexSelect: { dim: number };
  indexAdd: { dim: number };
  gather: { dim: number };
  scatterAdd: { dim: number };
  im2col: { kernel: number[]; stride: number[]; padding: number[]; dilation: number[]; padValue: number };
  col2im: { kernel: number[]; stride: number[]; padding: number[]; dilation: number[]; size: number[] };
  maxPool2d: { kernel: number[]; stride: number[]; padding: number[]; dilation: number[] };
  /** maxPool2d's backward: each window's gradient added at the element it picked, in an image of spatial `size`. */
  maxPool2dGrad: { kernel: number[]; stride: number[]; padding: number[]; dilation: number[]; size: number[] };
  /** activation(conv2d(x, W, b)): 'none' for a plain convolution (rules/epilogue.ts). */
  conv2d: { kernel: number[]; stride: number[]; padding: number[]; dilation: number[]; activation: Activation };
  /** conv2dPre(z, x, W, b) = z, a fused conv2d's kept pre-activation, differentiated as conv2d(x, W, b) (for gelu's double backward). */
  conv2dPre: { kernel: number[]; stride: number[]; padding: number[]; dilation: number[] };
  /** conv2d's input gradient from (gy, weight), for an input of spatial `size`. */
  conv2dInputGrad: { kernel: number[]; stride: number[]; padding: number[]; dilation: number[]; size: number[] };
  /** conv2d's weight gradient from (gy, x). */
  conv2dWeightGrad: { kernel: number[]; stride: number[]; padding: number[]; dilation: number[] };
  // fused (rules/fused.ts)
  /** activation(x·Wᵀ + b), one op whatever the activation (rules/epilogue.ts). */
  linear: { activation: Activation };
  /** linearPre(z, x, W, b) = z, a fused linear's kept pre-activation, differentiated as x·Wᵀ + b (for gelu's double backward). */
  linearPre: {};
  crossEntropyIndex: { reduction: 'mean' | 'sum' | 'none' };
  /** crossEntropyIndex's backward: coef·(softmax − onehot) from (g, logits, softmax, targets, weights). */
  crossEntropyIndexGrad: { reduction: 'mean' | 'sum' | 'none' };
}

export type OpName = keyof OpAttrs;

/** What a forward pass leaves for its backward: saved tensors and facts about the inputs. */
const NONE: never[] = [];

export class Ctx {
  // Filled in by apply() only when a node is recorded; no arrays are allocated otherwise.
  saved: Tensor[] = NONE;
  inputShapes: (readonly number[])[] = NONE;
  inputDtypes: DType[] = NONE;
  /** Which inputs need a gradient, so a rule can skip work nobody will use. */
  needsInputGrad: boolean[] = NONE;

  save(...tensors: Tensor[]): void {
    this.saved = this.saved === NONE ? tensors : [...this.saved, ...tensors];
  }
}

/** The context of a forward that nothing records: saving is a no-op, and one instance serves all. */
class UnrecordedCtx extends Ctx {
  override save(): void {}
}
const UNRECORDED = new UnrecordedCtx();

/**
 * A primitive: the forward computation (untracked, from the kernels) and its vector-Jacobian
 * product, written with tracked tensor ops so that `createGraph` can differentiate it again.
 */
export interface OpRule<A> {
  forward(ctx: Ctx, inputs: readonly Tensor[], attrs: A): Tensor;
  backward(ctx: Ctx, grad: Tensor, attrs: A): (Tensor | null)[];
  /**
   * The rule reads strided views itself (the view ops, matmul). Every other rule is handed
   * contiguous inputs, and a contiguous upstream gradient, by apply() and the node: the one
   * place where a view is copied out for a kernel that wants rows.
   */
  strided?: true;
}

export type RuleTable = { [K in OpName]: OpRule<OpAttrs[K]> };

function backwardName(op: string): string {
  return `${op[0]!.toUpperCase()}${op.slice(1)}Backward`;
}

/** The op of a node name made by backwardName. */
function opOf(name: string): string {
  return `${name[0]!.toLowerCase()}${name.slice(1, -'Backward'.length)}`;
}

/**
 * Each op's rule with its node name, looked up once per call. Filled from rules/index.ts on the
 * first apply rather than when this module loads: the rules import the ops that import this
 * module, so at load time some rule modules may not have run yet (whichever module of the
 * cycle is imported first); by the time any op runs, all of them have.
 */
const entries = new Map<string, { rule: OpRule<any>; name: string; strided: boolean }>();

function lookup(op: string): { rule: OpRule<any>; name: string; strided: boolean } {
  if (entries.size === 0) {
    for (const [name, rule] of Object.entries(ruleTable())) {
      entries.set(name, { rule, name: backwardName(name), strided: (rule as OpRule<unknown>).strided === true });
    }
  }
  const entry = entries.get(op);
  if (entry === undefined) throw new OpError(`apply: unknown op '${op}'; the ops are those of OpAttrs in ops/registry.ts`);
  return entry;
}

/** The inputs, with each strided view replaced by an untracked contiguous copy (no copy when none is). */
function rowMajorInputs(inputs: readonly Tensor[]): readonly Tensor[] {
  for (let i = 0; i < inputs.length; i++) {
    if (!inputs[i]!.isContiguous()) return inputs.map((t) => t.rowMajorTensor());
  }
  return inputs;
}

const NO_VERSIONS: number[] = [];

/** The graph node of a primitive: its backward is the rule's, run on the saved context. */
class OpNode<A> extends Node {
  constructor(
    name: string,
    next: (Edge | null)[],
    outputs: OutputMeta[],
    saved: Tensor[],
    private rule: OpRule<A> | null,
    private ctx: Ctx | null,
    private readonly attrs: A,
    private readonly strided: boolean,
  ) {
    super(name, next, null, outputs, {
      tensors: saved,
      versions: saved.length === 0 ? NO_VERSIONS : saved.map((t) => t.version),
    });
  }

  override checksGradShapes = false;

  protected override compute(grads: (Tensor | null)[]): (Tensor | null)[] {
    const g = grads[0]!;
    // A strided upstream gradient is made contiguous for the rule; in a recorded backward
    // (createGraph) through a recorded copy, so a double backward still sees what g depends on.
    const gc = this.strided || g.isContiguous() ? g : isGradEnabled() && g.requiresGrad ? apply('contiguous', [g], {}) : g.rowMajorTensor();
    return this.rule!.backward(this.ctx!, gc, this.attrs);
  }

  override release(): void {
    super.release();
    this.rule = null;
    this.ctx = null;
  }
}

/**
 * Run a primitive: compute its output, and when grad mode is on and an input needs a
 * gradient, record a node whose backward is the op's rule.
 */
export function apply<K extends OpName>(op: K, inputs: readonly Tensor[], attrs: OpAttrs[K]): Tensor {
  const entry = entries.get(op) ?? lookup(op);
  const rule = entry.rule as OpRule<OpAttrs[K]>;
  const n = inputs.length;
  let anyGrad = false;
  let onDevice = false;
  let strided = false;
  const grads = isGradEnabled();
  for (let i = 0; i < n; i++) {
    const t = inputs[i]!;
    if (grads && t.requiresGrad) anyGrad = true;
    if (t.deviceResident) onDevice = true;
    if (!t.isContiguous()) strided = true;
  }
  if (onDevice) return applyOnDevice(op, entry, inputs, attrs, anyGrad);
  // Nothing recorded (no grad mode, or no input needs a gradient: e.g. every op of a first-order
  // backward pass): the forward saves into a context that keeps nothing.
  if (!anyGrad) {
    const out = rule.forward(UNRECORDED, strided && !entry.strided ? rowMajorInputs(inputs) : inputs, attrs);
    if (anomalyOn) checkForward(op, inputs, out);
    return out;
  }
  const recorded = strided && !entry.strided ? trackedRowMajorInputs(inputs) : inputs;
  const ctx = new Ctx();
  const out = rule.forward(ctx, recorded, attrs);
  if (anomalyOn) checkForward(op, inputs, out);
  return record(entry, recorded, attrs, ctx, out);
}

/**
 * For a recorded op: each strided view that needs a gradient replaced by its contiguous copy
 * recorded as a `contiguous` node, so that what the rule saves is part of the graph (a double
 * backward through the saved copy reaches the view's inputs) and the copy still reports the
 * view's version (Tensor.rowMajorTensor). The op's edges go through that node.
 */
function trackedRowMajorInputs(inputs: readonly Tensor[]): readonly Tensor[] {
  for (let i = 0; i < inputs.length; i++) {
    if (!inputs[i]!.isContiguous()) {
      return inputs.map((t) => {
        if (t.isContiguous()) return t;
        const copy = t.rowMajorTensor();
        if (!t.requiresGrad) return copy;
        const contiguous = entries.get('contiguous') ?? lookup('contiguous');
        return record(contiguous, [t], {}, new Ctx(), copy);
      });
    }
  }
  return inputs;
}

/** Records the node of an op whose forward ran: its edges, input facts and saved tensors. */
function record<A>(entry: { rule: OpRule<any>; name: string; strided: boolean }, inputs: readonly Tensor[], attrs: A, ctx: Ctx, out: Tensor): Tensor {
  const n = inputs.length;
  const rule = entry.rule as OpRule<A>;
  const needs = new Array<boolean>(n);
  const shapes = new Array<readonly number[]>(n);
  const dtypes = new Array<DType>(n);
  const next = new Array<Edge | null>(n);
  for (let i = 0; i < n; i++) {
    const t = inputs[i]!;
    needs[i] = t.requiresGrad;
    shapes[i] = t.shape;
    dtypes[i] = t.dtype;
    next[i] = needs[i] ? gradEdge(t) : null;
  }
  ctx.needsInputGrad = needs;
  ctx.inputShapes = shapes;
  ctx.inputDtypes = dtypes;
  out.gradFn = new OpNode(entry.name, next, [{ shape: out.shape, dtype: out.dtype }], ctx.saved, rule, ctx, attrs, entry.strided);
  if (anomalyOn) noteRecorded(out.gradFn, opOf(entry.name), inputs);
  return out;
}

/**
 * An op with an input on a device: every input on that one device (0-d host tensors, the
 * scalars ops make from numbers, excepted), run by the device's kernel where it has one, else
 * through the host: the inputs' host copies (the device keeps one of what it was given until it
 * is written) go to the CPU rule, whose output and saved tensors go back to the device, and the
 * device counts the fallback. An input whose values exist only in device memory cannot be read
 * synchronously, so such an op is then an error that names it.
 */
function applyOnDevice<K extends OpName>(
  op: K,
  entry: { rule: OpRule<any>; name: string; strided: boolean },
  inputs: readonly Tensor[],
  attrs: OpAttrs[K],
  anyGrad: boolean,
): Tensor {
  let device = '';
  let first = -1;
  for (let i = 0; i < inputs.length; i++) {
    const d = inputs[i]!.storage.device;
    if (d === 'cpu') continue;
    if (first < 0) {
      device = d;
      first = i;
    } else if (d !== device) throw mixedDevices(op, inputs, first, i);
  }
  for (let i = 0; i < inputs.length; i++) {
    const t = inputs[i]!;
    if (t.deviceResident === false && t.ndim > 0) throw mixedDevices(op, inputs, first, i);
  }
  const impl = deviceImpl(device);
  const ctx = anyGrad ? new Ctx() : UNRECORDED;
  // The view ops move no element: their rules make views of any storage (a reshape that needs a
  // copy gets a contiguous input from the device first).
  let out: Tensor | null;
  if (VIEW_OPS.has(op)) {
    const x = inputs[0]!;
    const reshapeCopy = op === 'reshape' && !x.isContiguous() && viewStrides(x.shape, x.strides, (attrs as OpAttrs['reshape']).shape) === null;
    out = entry.rule.forward(ctx, reshapeCopy ? [x.contiguousCopy()] : inputs, attrs) as Tensor;
  } else {
    out = impl.forward(op, ctx, inputs, attrs);
    if (out !== null && impl.checkAgainstHost !== undefined) checkOnHost(op, entry, impl, inputs, attrs, ctx, out);
  }
  if (out === null) {
    const host = inputs.map((t, i) => {
      if (t.deviceResident === false) return t;
      const copy = impl.hostCopy(t);
      if (copy === null) {
        throw new DeviceError(
          `${op}: has no ${device} kernel, and its input ${i} (shape ${fmtShape(t.shape)}) exists only in ${device} memory, ` +
            'which cannot be read synchronously to compute it on the host; compute that input on the host, or read it with await x.cpuAsync() first',
        );
      }
      return new Tensor(copy, t.shape, t.dtype);
    });
    const hostCtx = anyGrad ? new Ctx() : UNRECORDED;
    const hostOut = entry.rule.forward(hostCtx, rowMajorInputs(host), attrs) as Tensor;
    const toDevice = (t: Tensor): Tensor => {
      const j = host.indexOf(t);
      if (j >= 0) return inputs[j]!;
      if (t.deviceResident) return t;
      return new Tensor(impl.upload(t.rowMajor(false), t.dtype), t.shape, t.dtype);
    };
    out = toDevice(hostOut);
    if (anyGrad) ctx.save(...hostCtx.saved.map((t) => (t === hostOut ? out! : toDevice(t))));
    impl.noteFallback(op);
  }
  if (!anyGrad) return out;
  return record(entry, inputs, attrs, ctx, out);
}

/**
 * A device's checking mode: the op the device computed is computed by the CPU rule too, on the
 * inputs' host copies, and the device compares the two and keeps the host values as the output's
 * host copy (and those of what the rule saved, matched by position), so that synchronous reads
 * keep working. Skipped where an input has no host copy.
 */
function checkOnHost(
  op: string,
  entry: { rule: OpRule<any> },
  impl: ReturnType<typeof deviceImpl>,
  inputs: readonly Tensor[],
  attrs: unknown,
  ctx: Ctx,
  out: Tensor,
): void {
  const host: Tensor[] = [];
  for (const t of inputs) {
    if (t.deviceResident === false) host.push(t);
    else {
      const copy = impl.hostCopy(t);
      if (copy === null) return;
      host.push(new Tensor(copy, t.shape, t.dtype));
    }
  }
  const hostCtx = ctx === UNRECORDED ? UNRECORDED : new Ctx();
  const hostOut = entry.rule.forward(hostCtx, rowMajorInputs(host), attrs) as Tensor;
  impl.checkAgainstHost!(op, out, hostOut);
  if (ctx === UNRECORDED) return;
  const saved = ctx.saved;
  const hostSaved = hostCtx.saved;
  for (let i = 0; i < saved.length && i < hostSaved.length; i++) {
    const t = saved[i];
    const h = hostSaved[i];
    if (t && h && t !== out && t.deviceResident && !inputs.includes(t) && sameShape(t.shape, h.shape) && t.dtype === h.dtype) {
      impl.checkAgainstHost!(`${op} (saved ${i})`, t, h);
    }
  }
}

const VIEW_OPS: ReadonlySet<string> = new Set(['reshape', 'permute', 'expand', 'slice', 'diagonal']);

function mixedDevices(op: string, inputs: readonly Tensor[], first: number, second: number): DeviceError {
  const i = Math.min(first, second);
  const j = Math.max(first, second);
  const a = inputs[i]!;
  const b = inputs[j]!;
  return new DeviceError(
    `${op}: expected all tensors to be on the same device, but input ${i} (shape ${fmtShape(a.shape)}) is on ${a.device} ` +
      `and input ${j} (shape ${fmtShape(b.shape)}) is on ${b.device}; move one with .to('${a.device}') or .to('${b.device}')`,
  );
}
