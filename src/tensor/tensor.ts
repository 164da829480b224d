import type { TypedArray } from '../backend/types.js';
import { AccumulateGrad, type Edge, type Node } from '../autograd/node.js';
import { AutogradError, DTypeError, ValueError, fmtShape } from '../errors.js';
import { recycleBuffer } from './pool.js';
import { allocate, isFloat, type DType } from './dtype.js';
import { formatTensor } from './format.js';
import { contiguousStrides, numel } from './shape.js';
import { bindTensorClass, type TensorMethods } from '../ops/define.js';
import { cast } from '../ops/internal.js';
// The op definitions, which attach the methods (add, matmul, sum, ...) to Tensor: loaded from
// here so that whoever can make a Tensor has them, whatever else was imported.
import '../ops/functional.js';
import '../ops/methods.js';

export type Hook = (grad: Tensor) => Tensor | void;

export interface RemovableHandle {
  remove(): void;
}

/**
 * An n-dimensional array that can record how it was computed. Data is always contiguous
 * and row-major; ops make new tensors rather than strided views, which keeps every kernel
 * simple and lets a backend replace any of them.
 *
 * The op methods (add, matmul, sum, ...) are defined with their functions (ops/define.ts:
 * one definition per op), so that this file holds the data and the autograd state only.
 */
export class Tensor {
  /** The grad_fn of a non-leaf: the node that produced this tensor. */
  gradFn: Node | null = null;
  /** Which output of gradFn this tensor is. */
  outputIndex = 0;
  private gradValue: Tensor | null = null;
  /**
   * @internal Whether zeroGrad may recycle .grad's buffer: the engine made it for this leaf alone
   * and no code outside the library's internals has read or set .grad since.
   */
  gradRecyclable = false;

  /** Accumulated gradient (leaves, and non-leaves after retainGrad()). */
  get grad(): Tensor | null {
    this.gradRecyclable = false;
    return this.gradValue;
  }
  set grad(g: Tensor | null) {
    this.gradRecyclable = false;
    this.gradValue = g;
  }

  /** @internal .grad for the library's own optimizers and clipping (keeps it recyclable). */
  peekGrad(): Tensor | null {
    return this.gradValue;
  }

  /**
   * @internal zeroGrad's set-to-none: drops .grad, and hands its buffer to the pool when
   * nothing outside the library can hold it (see gradRecyclable).
   */
  releaseGrad(): void {
    const g = this.gradValue;
    if (g !== null && this.gradRecyclable) recycleBuffer(g.data);
    this.grad = null;
  }
  /** Optional label for graph drawings and error messages (e.g. a parameter's module path). */
  name: string | null = null;
  /** Bumped by every in-place op; saved tensors check it to catch modification before backward. */
  version = 0;

  /** @internal The engine's cached edge to this tensor's producer (see gradEdge). */
  edgeCache: Edge | null = null;
  private leafRequiresGrad = false;
  private accNode: AccumulateGrad | null = null;
  private hooks: Hook[] | null = null;
  retainsGrad = false;

  constructor(
    /** The elements, row-major. Shared by reshape/view results, so write to it only through in-place ops. */
    readonly data: TypedArray,
    /** Never mutated after construction (tensors may share one shape array). */
    readonly shape: readonly number[],
    readonly dtype: DType,
  ) {
    if (data.length !== numel(shape)) {
      throw new ValueError(`tensor: ${data.length} elements do not fill shape ${fmtShape(shape)} (${numel(shape)} needed)`);
    }
  }

  get ndim(): number {
    return this.shape.length;
  }

  dim(): number {
    return this.shape.length;
  }

  numel(): number {
    return this.data.length;
  }

  size(): number[];
  size(dim: number): number;
  size(dim?: number): number | number[] {
    if (dim === undefined) return [...this.shape];
    const d = dim < 0 ? dim + this.ndim : dim;
    if (d < 0 || d >= this.ndim) throw new ValueError(`size: dim ${dim} is out of range for a tensor with ${this.ndim} dims`);
    return this.shape[d]!;
  }

  stride(): number[] {
    return contiguousStrides(this.shape);
  }

  get requiresGrad(): boolean {
    return this.gradFn !== null || this.leafRequiresGrad;
  }

  set requiresGrad(flag: boolean) {
    this.requiresGrad_(flag);
  }

  /** Mark a leaf as needing gradients. Returns this, as PyTorch's requires_grad_(). */
  requiresGrad_(flag = true): this {
    if (this.gradFn !== null) {
      if (!flag) {
        throw new AutogradError('requiresGrad: cannot turn off gradients of a non-leaf tensor; use detach() to get a tensor without history');
      }
      return this;
    }
    if (flag && !isFloat(this.dtype)) {
      throw new DTypeError(`requiresGrad: only floating-point tensors can require gradients, got dtype ${this.dtype}`);
    }
    this.leafRequiresGrad = flag;
    this.edgeCache = null;
    return this;
  }

  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  /** The node that accumulates into this leaf's .grad (created on first use). */
  accumulator(): AccumulateGrad {
    if (!this.leafRequiresGrad) throw new AutogradError('accumulator: tensor does not require grad');
    return (this.accNode ??= new AccumulateGrad(this));
  }

  /** Register a function called with this tensor's gradient during backward; it may return a replacement. */
  registerHook(hook: Hook): RemovableHandle {
    if (!this.requiresGrad) {
      throw new AutogradError("registerHook: cannot register a hook on a tensor that doesn't require gradient");
    }
    (this.hooks ??= []).push(hook);
    this.gradFn?.watch(this.outputIndex, this);
    return {
      remove: () => {
        if (this.hooks) this.hooks = this.hooks.filter((h) => h !== hook);
      },
    };
  }

  /** Keep the gradient of this non-leaf in .grad after backward (leaves always keep theirs). */
  retainGrad(): this {
    if (!this.requiresGrad) throw new AutogradError("retainGrad: can't retain the gradient of a tensor that doesn't require grad");
    if (this.gradFn === null) return this;
    this.retainsGrad = true;
    this.gradFn.watch(this.outputIndex, this);
    return this;
  }

  /** @internal Whether any hook is registered (the engine never lends a hooked gradient's buffer). */
  hasHooks(): boolean {
    return this.hooks !== null && this.hooks.length > 0;
  }

  /** @internal Called by the engine. */
  runHooks(grad: Tensor): Tensor {
    let g = grad;
    if (this.hooks) for (const h of this.hooks) g = h(g) ?? g;
    return g;
  }

  /**
   * @internal Called by the engine for leaves. `owned`: the engine proved that nothing else
   * holds g's buffer (made during this backward pass, by built-in rules only, seen by no hook,
   * handed to no other node), so .grad may take it without a copy.
   */
  accumulateGrad(g: Tensor, createGraph: boolean, owned = false): void {
    if (this.gradValue === null) {
      // Otherwise own a copy: the engine may hand the same gradient tensor to several leaves,
      // and optimizers and clipGradNorm_ later update .grad in place.
      this.gradValue = createGraph ? g.add(0) : new Tensor(owned ? g.data : g.data.slice(), g.shape, g.dtype);
      this.gradRecyclable = !createGraph;
    } else if (createGraph) {
      this.grad = this.gradValue.add(g);
    } else {
      const acc = this.gradValue.data;
      const add = g.data;
      for (let i = 0; i < acc.length; i++) acc[i]! += add[i]!;
      this.gradValue.version++;
    }
  }

  /** @internal Called by the engine for retainGrad() non-leaves. */
  setRetainedGrad(g: Tensor, createGraph: boolean): void {
    this.grad =
      this.grad === null ? (createGraph ? g : new Tensor(g.data.slice(), g.shape, g.dtype)) : this.grad.add(createGraph ? g : g.detach());
  }

  /** A tensor sharing this one's data, cut from the graph. */
  detach(): Tensor {
    return new Tensor(this.data, this.shape, this.dtype);
  }

  /** detach() in place: this tensor becomes a leaf. */
  detach_(): this {
    this.gradFn = null;
    this.leafRequiresGrad = false;
    this.edgeCache = null;
    return this;
  }

  // ---- reading back -------------------------------------------------------------------

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.data.length !== 1) {
      throw new ValueError(`item: a tensor with ${this.data.length} elements (shape ${fmtShape(this.shape)}) cannot be converted to a number`);
    }
    return this.data[0]!;
  }

  /** Nested JS arrays (a number for a 0-d tensor; booleans for bool tensors). */
  toArray(): NestedArray {
    const d = this.data;
    const isBool = this.dtype === 'bool';
    const read = (i: number): number | boolean => (isBool ? d[i] !== 0 : d[i]!);
    if (this.shape.length === 0) return read(0) as NestedArray;
    const strides = contiguousStrides(this.shape);
    const build = (dim: number, offset: number): NestedArray => {
      const n = this.shape[dim]!;
      const out: NestedArray[] = new Array(n);
      for (let i = 0; i < n; i++) {
        out[i] = dim === this.shape.length - 1 ? (read(offset + i) as NestedArray) : build(dim + 1, offset + i * strides[dim]!);
      }
      return out as NestedArray;
    };
    return build(0, 0);
  }

  /** Flat JS array of the values. */
  tolist(): number[] {
    return Array.from(this.data as ArrayLike<number>);
  }

  /** The data as a typed array of the tensor's dtype (the tensor's own buffer, not a copy). */
  dataSync(): TypedArray {
    return this.data;
  }

  toString(): string {
    return formatTensor(this);
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  /** A copy with its own data, recorded as an op (gradient flows through). */
  clone(): Tensor {
    return cast(this, this.dtype, true);
  }

  /** A new tensor of the given dtype (the same tensor if it already has it). */
  to(dtype: DType): Tensor {
    return dtype === this.dtype ? this : cast(this, dtype, false);
  }

  float(): Tensor {
    return this.to('float32');
  }

  double(): Tensor {
    return this.to('float64');
  }

  int(): Tensor {
    return this.to('int32');
  }

  bool(): Tensor {
    return this.to('bool');
  }

  /** @internal A fresh, untracked tensor of the same shape and dtype. */
  static empty(shape: readonly number[], dtype: DType): Tensor {
    return new Tensor(allocate(dtype, numel(shape)), shape, dtype);
  }

}

// The op methods' types, derived from their definitions (the class above declares none of them).
export interface Tensor extends TensorMethods {}
bindTensorClass(Tensor);

export type NestedArray = number | boolean | NestedArray[];
