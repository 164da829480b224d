import { kernel } from '../backend/dispatch.js';
import { referenceBackend } from '../backend/reference.js';
import type { TypedArray } from '../backend/types.js';
import { AccumulateGrad, type Edge, type Node } from '../autograd/node.js';
import { AutogradError, DTypeError, DeviceError, ValueError, fmtShape } from '../errors.js';
import { releaseGrad } from '../memory/ownership.js';
import { allocate, isFloat, type DType } from './dtype.js';
import { checkDtype, checkShape } from './checks.js';
import { bindDeviceTensor, deviceImpl, isDeviceName, type Device } from './device.js';
import { formatTensor } from './format.js';
import { contiguousStrides, isContiguousLayout, numel } from './shape.js';
import { HostStorage, type Storage } from './storage.js';
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
 * An n-dimensional array that can record how it was computed: a view (shape, strides, offset)
 * onto a storage that a backend owns (see storage.ts). transpose, permute, expand, narrow,
 * select, diagonal and view make views that share their input's storage; every other op reads
 * contiguous inputs (registry.ts's apply hands it a contiguous copy of a strided view, in that
 * one place) and writes a new contiguous tensor.
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

  /** @internal zeroGrad's set-to-none (the memory module decides whether .grad's buffer is reused). */
  releaseGrad(): void {
    releaseGrad(this);
  }
  /** Optional label for graph drawings and error messages (e.g. a parameter's module path). */
  name: string | null = null;

  /** @internal The engine's cached edge to this tensor's producer (see gradEdge). */
  edgeCache: Edge | null = null;
  private leafRequiresGrad = false;
  private accNode: AccumulateGrad | null = null;
  private hooks: Hook[] | null = null;
  retainsGrad = false;

  /**
   * The storage of a contiguous host tensor made from an array is made on first use (most
   * tensors, the intermediates of a step, are never viewed, versioned or moved): see `storage`.
   */
  private storageValue: Storage | null;
  /** Row-major strides are made on first use: most tensors never need them. */
  private stridesValue: readonly number[] | null;
  /** Where element [0, 0, ...] sits in the storage. */
  readonly offset: number;
  private readonly count: number;
  private readonly contiguousFlag: boolean;
  /** The elements as a typed array of exactly numel() entries (contiguous host tensors), else null. */
  private readonly flat: TypedArray | null;

  constructor(
    /** The elements, row-major (a new host storage), or an existing storage to view. */
    data: TypedArray | Storage,
    /** Never mutated after construction (tensors may share one shape array). */
    readonly shape: readonly number[],
    readonly dtype: DType,
    strides?: readonly number[],
    offset = 0,
  ) {
    // One pass over the dims (a handful) that also refuses a negative, fractional, NaN or
    // infinite size, whichever public or internal path built the shape.
    let n = 1;
    let valid = true;
    for (let i = 0; i < shape.length; i++) {
      const d = shape[i]!;
      n *= d;
      valid = valid && d >= 0 && (d | 0) === d; // (beyond 2³¹ checkShape decides)
    }
    if (!valid) checkShape('tensor', shape, dtype);
    this.count = n;
    // The fields in one order on every path, so that every tensor has one hidden class.
    if (ArrayBuffer.isView(data)) {
      if (data.length !== n) {
        throw new ValueError(`tensor: ${data.length} elements do not fill shape ${fmtShape(shape)} (${n} needed)`);
      }
      const contiguous = strides === undefined || isContiguousLayout(shape, strides);
      this.storageValue = contiguous ? null : new HostStorage(data);
      this.stridesValue = strides ?? null;
      this.offset = 0;
      this.contiguousFlag = contiguous;
      this.flat = contiguous ? data : null;
      return;
    }
    this.storageValue = data;
    this.stridesValue = strides ?? null;
    this.offset = offset;
    this.contiguousFlag = strides === undefined || isContiguousLayout(shape, strides);
    if (data.device !== 'cpu') {
      this.flat = null;
      return;
    }
    const host = data.readSync();
    this.flat = this.contiguousFlag && host !== null ? (offset === 0 && host.length === n ? host : host.subarray(offset, offset + n)) : null;
  }

  /** The storage this tensor is a view of (shared with every view of it and with detach()). */
  get storage(): Storage {
    return (this.storageValue ??= new HostStorage(this.flat!));
  }

  /** @internal The whole host array behind this tensor's storage (null on a device whose host copy is gone), without making a storage. */
  wholeHostArray(): TypedArray | null {
    return this.storageValue === null ? this.flat : this.storageValue.readSync();
  }

  /** @internal Whether the elements live on a device rather than in host memory (without making a host storage). */
  get deviceResident(): boolean {
    return this.storageValue !== null && this.storageValue.device !== 'cpu';
  }

  /**
   * The elements as a typed array, row-major: the tensor's own memory (writes show in every view
   * of it), for a contiguous tensor in host memory. A strided view has no such array: call
   * contiguous() first (or dataSync() / toArray() to read its values).
   */
  get typedData(): TypedArray {
    const f = this.flat;
    if (f !== null) return f;
    if (this.deviceResident) throw this.onDevice('typedData', 'await x.dataAsync()');
    throw new ValueError(
      `typedData: this tensor of shape ${fmtShape(this.shape)} is a strided view (strides [${this.strides.join(', ')}]), ` +
        'so its elements are not one row-major array; use contiguous().typedData, or dataSync() / toArray() to read them',
    );
  }

  /**
   * PyTorch's `x.data`: a tensor on the same storage (same shape, strides, offset, dtype, device)
   * with no history and `requiresGrad` false, so that `p.data.add_(g, { alpha: -lr })` updates `p`
   * outside autograd. The typed array that `.data` used to be is `typedData`.
   *
   * It shares the version counter with `x`, as `detach()` does. PyTorch gives `.data` a fresh
   * counter instead, so there an in-place write through `.data` between forward and backward is
   * not noticed and backward silently uses the new values; here it raises the version error.
   */
  get data(): Tensor {
    return new Tensor(this.storage, this.shape, this.dtype, this.strides, this.offset);
  }

  /**
   * `p.data = t`, as PyTorch: `p` becomes a view of `t`'s storage (later writes through either
   * show in both; views made of `p` before keep the old storage), keeping `p`'s identity, its
   * `requiresGrad`, `.grad` and history. `t` must have `p`'s shape, dtype and device (PyTorch
   * lets them change; here a tensor's shape and dtype are fixed — make a new Parameter instead).
   */
  set data(t: Tensor) {
    if (!(t instanceof Tensor)) {
      throw new ValueError(`data: the assigned value must be a Tensor, got ${t === null ? 'null' : typeof t}`);
    }
    if (t.shape.length !== this.shape.length || t.shape.some((d, i) => d !== this.shape[i])) {
      throw new ValueError(
        `data: cannot assign a tensor of shape ${fmtShape(t.shape)} to one of shape ${fmtShape(this.shape)}; ` +
          'a tensor keeps its shape (copy_ into a slice, or make a new Parameter)',
      );
    }
    if (t.dtype !== this.dtype) {
      throw new DTypeError(`data: cannot assign a ${t.dtype} tensor to a ${this.dtype} one; use t.to('${this.dtype}')`);
    }
    if (t.storage.device !== this.storage.device) {
      throw new DeviceError(`data: cannot assign a tensor on ${t.storage.device} to one on ${this.storage.device}; move it first (t.to('${this.storage.device}'))`);
    }
    const self = this as unknown as { storageValue: Storage | null; stridesValue: readonly number[] | null; offset: number; contiguousFlag: boolean; flat: TypedArray | null };
    self.storageValue = t.storage;
    self.stridesValue = t.strides;
    self.offset = t.offset;
    self.contiguousFlag = t.contiguousFlag;
    self.flat = t.flat;
  }

  /** Element strides, one per dim (never mutated: a copy of them is stride()). */
  get strides(): readonly number[] {
    return (this.stridesValue ??= contiguousStrides(this.shape));
  }

  /** Bumped by every in-place op on this tensor or any view of its storage; saved tensors check it. */
  get version(): number {
    return this.storageValue === null ? 0 : this.storageValue.version; // (no write yet: a write makes the storage)
  }
  set version(v: number) {
    this.storage.version = v;
  }

  /** Whether the elements lie row-major and gap-free in the storage (PyTorch's is_contiguous). */
  isContiguous(): boolean {
    return this.contiguousFlag;
  }

  /** Where the first element sits in the storage. */
  storageOffset(): number {
    return this.offset;
  }

  /** Where the elements live: 'cpu' (host memory) or a device such as 'webgpu'. */
  get device(): Device {
    return this.storage.device;
  }

  /** The error of a synchronous read of a tensor whose elements the host cannot read now. */
  private onDevice(what: string, instead: string): DeviceError {
    return new DeviceError(
      `${what}: this tensor (shape ${fmtShape(this.shape)}) lives on ${this.storage.device}, whose memory cannot be read synchronously; ` +
        `use ${instead} (or move it with await x.cpuAsync())`,
    );
  }

  get ndim(): number {
    return this.shape.length;
  }

  dim(): number {
    return this.shape.length;
  }

  numel(): number {
    return this.count;
  }

  size(): number[];
  size(dim: number): number;
  size(dim?: number): number | number[] {
    return dim === undefined ? [...this.shape] : this.shape[this.dimIndex('size', dim)]!;
  }

  /** The element strides (a copy), or the stride of one dim. */
  stride(): number[];
  stride(dim: number): number;
  stride(dim?: number): number | number[] {
    return dim === undefined ? [...this.strides] : this.strides[this.dimIndex('stride', dim)]!;
  }

  /** dim as an index into shape (negative counts from the end), or an error naming the op. */
  private dimIndex(op: string, dim: number): number {
    const d = dim < 0 ? dim + this.ndim : dim;
    if (!Number.isInteger(d) || d < 0 || d >= this.ndim) throw new ValueError(`${op}: dim ${dim} is out of range for a tensor with ${this.ndim} dims`);
    return d;
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
    if (this.deviceResident) {
      // On a device: a copy of g (or g itself when the engine says it owns it), summed in place after.
      if (this.gradValue === null) {
        this.gradValue = createGraph ? g.add(0) : owned && g.isContiguous() && g.offset === 0 ? g.detach() : g.contiguousCopy();
        this.gradRecyclable = false;
      } else if (createGraph) this.grad = this.gradValue.add(g);
      else this.gradValue.writeFrom('accumulateGrad', this.gradValue.add(g));
      return;
    }
    if (this.gradValue === null) {
      // Otherwise own a copy: the engine may hand the same gradient tensor to several leaves,
      // and optimizers and clipGradNorm_ later update .grad in place.
      this.gradValue = createGraph ? g.add(0) : new Tensor(owned && g.coversStorage() ? g.typedData : g.rowMajor(true), g.shape, g.dtype);
      this.gradRecyclable = !createGraph;
    } else if (createGraph) {
      this.grad = this.gradValue.add(g);
    } else {
      // In place, acc += g; the reference kernel where the dtypes differ (a .grad the user set).
      const acc = this.gradValue;
      const strides = acc.strides;
      const add = acc.dtype === g.dtype ? kernel('binary', acc.count, acc.dtype) : referenceBackend.binary;
      add('add', acc.typedData, strides, g.rowMajor(false), strides, acc.typedData, acc.shape);
      acc.version++;
    }
  }

  /** @internal Called by the engine for retainGrad() non-leaves. */
  setRetainedGrad(g: Tensor, createGraph: boolean): void {
    this.grad =
      this.grad === null ? (createGraph ? g : g.contiguousCopy()) : this.grad.add(createGraph ? g : g.detach());
  }

  /** A tensor sharing this one's storage (and so its version counter), cut from the graph. */
  detach(): Tensor {
    return new Tensor(this.storage, this.shape, this.dtype, this.strides, this.offset);
  }

  /** @internal Whether this tensor is its whole storage, row-major (no other view can see a part this one lacks). */
  coversStorage(): boolean {
    return this.flat !== null && this.offset === 0 && (this.storageValue === null || this.count === this.storageValue.length);
  }

  /**
   * @internal This tensor when contiguous, else an untracked contiguous copy of it that shares its
   * version counter: a rule that saves the copy then still notices an in-place write through any
   * view of the original before backward (PyTorch's error), not only writes to the copy.
   */
  rowMajorTensor(): Tensor {
    if (this.flat !== null) return this;
    if (this.deviceResident) return deviceImpl(this.storage.device).contiguous(this, false);
    return new Tensor(new HostStorage(this.rowMajor(false), this.storage), this.shape, this.dtype);
  }

  /**
   * @internal Write `values` (row-major, this tensor's dtype) into this tensor's elements through
   * its strides, and bump the version (an in-place op's last step). A view with a stride of 0
   * (an expand) would write one element several times: refused, as PyTorch does.
   */
  /** @internal A contiguous copy of the elements with storage of its own, untracked, on this tensor's device. */
  contiguousCopy(): Tensor {
    if (this.deviceResident) return deviceImpl(this.storage.device).contiguous(this, true);
    return new Tensor(this.rowMajor(true), this.shape, this.dtype);
  }

  /**
   * @internal Write src's elements (same shape and dtype, any device this tensor's) into this
   * tensor's through its strides, and bump the version: writeRowMajor for a tensor of either kind.
   */
  writeFrom(op: string, src: Tensor): void {
    if (this.deviceResident === false) return this.writeRowMajor(op, src.rowMajor(false));
    const impl = deviceImpl(this.storage.device);
    if (src.device === 'cpu') src = new Tensor(impl.upload(src.rowMajor(false), src.dtype), src.shape, src.dtype);
    else if (src.device !== this.storage.device) {
      throw new DeviceError(`${op}: cannot write a tensor on ${src.device} into one on ${this.storage.device}`);
    }
    impl.write(op, this, src.rowMajorTensor());
    this.storage.version++;
  }

  writeRowMajor(op: string, values: TypedArray): void {
    if (this.flat !== null) this.flat.set(values);
    else {
      for (let d = 0; d < this.shape.length; d++) {
        if (this.strides[d] === 0 && this.shape[d]! > 1) {
          throw new ValueError(
            `${op}: unsupported operation: more than one element of the written-to tensor (shape ${fmtShape(this.shape)}, ` +
              `strides [${this.strides.join(', ')}]) refers to a single memory location; clone() the tensor before writing to it`,
          );
        }
      }
      const host = this.storage.readSync();
      if (host === null) throw new ValueError(`${op}: the tensor lives on ${this.storage.device}`);
      kernel('stridedWrite', this.count, this.dtype)(host, this.shape, this.strides, this.offset, values);
    }
    this.storage.version++;
  }

  /**
   * @internal The elements row-major: the tensor's own array when contiguous (a copy of it when
   * `fresh`), else a new array gathered through the strides. Host tensors only.
   */
  rowMajor(fresh: boolean, what = 'read', instead = 'await x.dataAsync()'): TypedArray {
    if (this.flat !== null) return fresh ? this.flat.slice() : this.flat;
    if (this.deviceResident) {
      // Always a copy: a write into the device's host copy would not reach the device's memory.
      const copy = deviceImpl(this.storage.device).hostCopy(this);
      if (copy === null) throw this.onDevice(what, instead);
      return copy.slice();
    }
    const host = this.storage.readSync();
    if (host === null) throw this.onDevice(what, instead);
    const out = allocate(this.dtype, this.count);
    kernel('stridedCopy', this.count, this.dtype)(host, this.shape, this.strides, this.offset, out);
    return out;
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
    if (this.count !== 1) {
      throw new ValueError(`item: a tensor with ${this.count} elements (shape ${fmtShape(this.shape)}) cannot be converted to a number`);
    }
    return this.rowMajor(false, 'item', 'await x.itemAsync()')[0]!;
  }

  /** Nested JS arrays (a number for a 0-d tensor; booleans for bool tensors). */
  toArray(): NestedArray {
    return this.nested(this.rowMajor(false, 'toArray', 'await x.toArrayAsync()'));
  }

  private nested(d: TypedArray): NestedArray {
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
    return Array.from(this.rowMajor(false, 'tolist', 'await x.toArrayAsync()') as ArrayLike<number>);
  }

  /**
   * The values as a typed array of the tensor's dtype, row-major: the tensor's own buffer when it
   * is contiguous (writes show in the tensor), else a copy gathered through its strides.
   */
  dataSync(): TypedArray {
    return this.rowMajor(false, 'dataSync', 'await x.dataAsync()');
  }

  /**
   * The values row-major as a new typed array of the tensor's dtype, on any device: a GPU tensor
   * is read back once the work queued before the call is done (the only way to read GPU memory).
   */
  async dataAsync(): Promise<TypedArray> {
    if (this.deviceResident === false) return this.rowMajor(true);
    const whole = await this.storage.read();
    if (this.isContiguous()) return whole.slice(this.offset, this.offset + this.count);
    const out = allocate(this.dtype, this.count);
    kernel('stridedCopy', this.count, this.dtype)(whole, this.shape, this.strides, this.offset, out);
    return out;
  }

  /** toArray() on any device. */
  async toArrayAsync(): Promise<NestedArray> {
    return this.nested(await this.dataAsync());
  }

  /** item() on any device. */
  async itemAsync(): Promise<number> {
    if (this.count !== 1) {
      throw new ValueError(`itemAsync: a tensor with ${this.count} elements (shape ${fmtShape(this.shape)}) cannot be converted to a number`);
    }
    return (await this.dataAsync())[0]!;
  }

  /** A copy in host memory, untracked (cpu() of any device; the tensor itself when on the cpu). */
  async cpuAsync(): Promise<Tensor> {
    if (this.deviceResident === false) return this;
    return new Tensor(await this.dataAsync(), this.shape, this.dtype);
  }

  toString(): string {
    if (this.deviceResident) {
      // No synchronous read of device memory: say where it is (await x.cpuAsync() to print values).
      const grad = this.gradFn ? `, gradFn=<${this.gradFn.name}>` : this.requiresGrad ? ', requiresGrad=true' : '';
      return `tensor(<on ${this.storage.device}>, shape=[${this.shape.join(', ')}], dtype=${this.dtype}, device='${this.storage.device}'${grad})`;
    }
    return formatTensor(this);
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  /** A copy with its own data, recorded as an op (gradient flows through). */
  clone(): Tensor {
    return cast(this, this.dtype, true);
  }

  /**
   * A new tensor of the given dtype, or on the given device (the same tensor if it already has it).
   * Moving between devices is not recorded in the graph: move leaves (inputs, parameters) before
   * computing with them; a tensor that requires grad gives a leaf that requires grad. Reading a
   * GPU tensor back to the cpu synchronously works only while the host still has its values
   * (uploaded and not written since); otherwise use `await x.cpuAsync()`.
   */
  to(target: DType | Device): Tensor {
    if (isDeviceName(target)) return this.toDevice(target);
    const dtype = target as DType;
    return dtype === this.dtype ? this : cast(this, checkDtype('to', dtype), false);
  }

  /** to('cpu'). */
  cpu(): Tensor {
    return this.toDevice('cpu');
  }

  private toDevice(device: Device): Tensor {
    if (device === this.storage.device) return this;
    if (this.gradFn !== null) {
      throw new AutogradError(
        `to('${device}'): moving a tensor with history (gradFn ${this.gradFn.name}) between devices is not differentiable here; ` +
          'move the leaves (inputs, parameters, module.to()) before computing with them, or detach() first',
      );
    }
    let out: Tensor;
    if (device === 'cpu') out = new Tensor(this.rowMajor(true, `to('cpu')`, 'await x.cpuAsync()'), this.shape, this.dtype);
    else out = new Tensor(deviceImpl(device).upload(this.rowMajor(false, `to('${device}')`, 'await x.cpuAsync()'), this.dtype), this.shape, this.dtype);
    if (this.requiresGrad) out.requiresGrad_(true);
    return out;
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
bindDeviceTensor(Tensor);

export type NestedArray = number | boolean | NestedArray[];
