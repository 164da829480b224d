import { AutogradError, ShapeError, fmtShape } from '../errors.js';
import { runBackward, setZerosFactory, type BackwardOptions } from '../autograd/engine.js';
import { isGradEnabled, noGrad } from '../autograd/grad-mode.js';
import { allocate, type DType } from '../tensor/dtype.js';
import type { TypedArray } from '../backend/types.js';
import { broadcastShapes, sameShape } from '../tensor/shape.js';
import { Tensor, setCastImpl } from '../tensor/tensor.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import * as F from './functional.js';
import { asDType, fullK, zerosK } from './kernels.js';
import './rules/index.js';

type TL = F.TensorLike;

/**
 * Tensor methods, PyTorch's names in camelCase. Each is a one-line call into the functional
 * API, so the method and the function can never disagree. Methods ending in `_` work in
 * place (only on tensors outside the graph: no-grad code such as optimizer updates).
 */
declare module '../tensor/tensor.js' {
  interface Tensor {
    backward(gradient?: Tensor, options?: BackwardOptions): void;
    add(other: TL, alpha?: number): Tensor;
    sub(other: TL, alpha?: number): Tensor;
    mul(other: TL): Tensor;
    div(other: TL): Tensor;
    pow(exponent: TL): Tensor;
    maximum(other: TL): Tensor;
    minimum(other: TL): Tensor;
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    rsqrt(): Tensor;
    square(): Tensor;
    reciprocal(): Tensor;
    abs(): Tensor;
    sin(): Tensor;
    cos(): Tensor;
    tanh(): Tensor;
    sigmoid(): Tensor;
    relu(): Tensor;
    erf(): Tensor;
    log1p(): Tensor;
    expm1(): Tensor;
    leakyRelu(negativeSlope?: number): Tensor;
    elu(alpha?: number): Tensor;
    gelu(approximate?: 'none' | 'tanh'): Tensor;
    softplus(beta?: number, threshold?: number): Tensor;
    softmax(dim: number): Tensor;
    logSoftmax(dim: number): Tensor;
    clamp(min?: number | null, max?: number | null): Tensor;
    where(condition: Tensor, other: TL): Tensor;
    gt(other: TL): Tensor;
    ge(other: TL): Tensor;
    lt(other: TL): Tensor;
    le(other: TL): Tensor;
    eq(other: TL): Tensor;
    ne(other: TL): Tensor;
    matmul(other: Tensor): Tensor;
    mm(other: Tensor): Tensor;
    dot(other: Tensor): Tensor;
    sum(dim?: F.Dims, keepdim?: boolean): Tensor;
    mean(dim?: F.Dims, keepdim?: boolean): Tensor;
    max(dim?: F.Dims, keepdim?: boolean): Tensor;
    min(dim?: F.Dims, keepdim?: boolean): Tensor;
    amax(dim?: F.Dims, keepdim?: boolean): Tensor;
    amin(dim?: F.Dims, keepdim?: boolean): Tensor;
    var(dim?: F.Dims, options?: F.VarOptions): Tensor;
    std(dim?: F.Dims, options?: F.VarOptions): Tensor;
    logsumexp(dim: F.Dims, keepdim?: boolean): Tensor;
    argmax(dim?: number, keepdim?: boolean): Tensor;
    argmin(dim?: number, keepdim?: boolean): Tensor;
    reshape(...shape: (number | readonly number[])[]): Tensor;
    view(...shape: (number | readonly number[])[]): Tensor;
    contiguous(): Tensor;
    diagonal(offset?: number, dim1?: number, dim2?: number): Tensor;
    viewAs(other: Tensor): Tensor;
    flatten(startDim?: number, endDim?: number): Tensor;
    squeeze(dim?: F.Dims): Tensor;
    unsqueeze(dim: number): Tensor;
    transpose(dim0: number, dim1: number): Tensor;
    t(): Tensor;
    permute(...dims: (number | readonly number[])[]): Tensor;
    expand(...shape: (number | readonly number[])[]): Tensor;
    expandAs(other: Tensor): Tensor;
    narrow(dim: number, start: number, length: number): Tensor;
    slice(dim: number, start?: number, end?: number, step?: number): Tensor;
    select(dim: number, index: number): Tensor;
    split(sizes: number | readonly number[], dim?: number): Tensor[];
    chunk(chunks: number, dim?: number): Tensor[];
    indexSelect(dim: number, index: Tensor): Tensor;
    gather(dim: number, index: Tensor): Tensor;
    scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor;
    indexAdd(dim: number, index: Tensor, src: Tensor): Tensor;
    // in place
    add_(other: TL, alpha?: number): this;
    sub_(other: TL, alpha?: number): this;
    mul_(other: TL): this;
    div_(other: TL): this;
    clamp_(min?: number | null, max?: number | null): this;
    copy_(src: Tensor): this;
    fill_(value: number): this;
    zero_(): this;
    uniform_(low?: number, high?: number, generator?: Generator): this;
    normal_(mean?: number, std?: number, generator?: Generator): this;
  }
}

const flat = (args: (number | readonly number[])[]): number[] =>
  args.length === 1 && typeof args[0] !== 'number' ? [...args[0]!] : (args as number[]);

const P = Tensor.prototype;

P.backward = function (this: Tensor, gradient?: Tensor, options: BackwardOptions = {}) {
  let g = gradient;
  if (g !== undefined && !(g instanceof Tensor)) {
    throw new AutogradError(
      'backward: the first argument is the upstream gradient (a Tensor); pass options second: t.backward(undefined, { retainGraph: true })',
    );
  }
  if (g === undefined) {
    if (this.numel() !== 1) {
      throw new AutogradError(
        `backward: grad can be implicitly created only for scalar outputs; this tensor has shape ${fmtShape(this.shape)}. ` +
          'Pass a gradient of the same shape: t.backward(gradient)',
      );
    }
    g = fullK(this.shape, 1, this.dtype);
  } else if (!sameShape(g.shape, this.shape)) {
    throw new ShapeError(`backward: gradient has shape ${fmtShape(g.shape)} but the tensor has shape ${fmtShape(this.shape)}`);
  }
  runBackward([this], [g.to(this.dtype)], options);
};

const scaled = (o: TL, alpha: number): TL => (alpha === 1 ? o : typeof o === 'number' ? o * alpha : F.mul(o, alpha));
P.add = function (o, alpha = 1) { return F.add(this, scaled(o, alpha)); };
P.sub = function (o, alpha = 1) { return F.sub(this, scaled(o, alpha)); };
P.mul = function (o) { return F.mul(this, o); };
P.div = function (o) { return F.div(this, o); };
P.pow = function (e) { return F.pow(this, e); };
P.maximum = function (o) { return F.maximum(this, o); };
P.minimum = function (o) { return F.minimum(this, o); };
P.neg = function () { return F.neg(this); };
P.exp = function () { return F.exp(this); };
P.log = function () { return F.log(this); };
P.sqrt = function () { return F.sqrt(this); };
P.rsqrt = function () { return F.rsqrt(this); };
P.square = function () { return F.square(this); };
P.reciprocal = function () { return F.reciprocal(this); };
P.abs = function () { return F.abs(this); };
P.sin = function () { return F.sin(this); };
P.cos = function () { return F.cos(this); };
P.tanh = function () { return F.tanh(this); };
P.sigmoid = function () { return F.sigmoid(this); };
P.relu = function () { return F.relu(this); };
P.erf = function () { return F.erf(this); };
P.log1p = function () { return F.log1p(this); };
P.expm1 = function () { return F.expm1(this); };
P.leakyRelu = function (s) { return F.leakyRelu(this, s); };
P.elu = function (a) { return F.elu(this, a); };
P.gelu = function (a) { return F.gelu(this, a); };
P.softplus = function (b, t) { return F.softplus(this, b, t); };
P.softmax = function (d) { return F.softmax(this, d); };
P.logSoftmax = function (d) { return F.logSoftmax(this, d); };
P.clamp = function (lo = null, hi = null) { return F.clamp(this, lo, hi); };
P.where = function (c, o) { return F.where(c, this, o); };
P.gt = function (o) { return F.gt(this, o); };
P.ge = function (o) { return F.ge(this, o); };
P.lt = function (o) { return F.lt(this, o); };
P.le = function (o) { return F.le(this, o); };
P.eq = function (o) { return F.eq(this, o); };
P.ne = function (o) { return F.ne(this, o); };
P.matmul = function (o) { return F.matmul(this, o); };
P.mm = function (o) {
  if (this.ndim !== 2 || o.ndim !== 2) throw new ShapeError(`mm: needs two 2-D tensors, got ${fmtShape(this.shape)} and ${fmtShape(o.shape)}`);
  return F.matmul(this, o);
};
P.dot = function (o) { return F.dot(this, o); };
P.sum = function (d, k) { return F.sum(this, d, k); };
P.mean = function (d, k) { return F.mean(this, d, k); };
P.max = function (d, k) { return F.amax(this, d, k); };
P.min = function (d, k) { return F.amin(this, d, k); };
P.amax = function (d, k) { return F.amax(this, d, k); };
P.amin = function (d, k) { return F.amin(this, d, k); };
P.var = function (d, o) { return F.variance(this, d, o); };
P.std = function (d, o) { return F.std(this, d, o); };
P.logsumexp = function (d, k) { return F.logsumexp(this, d, k); };
P.argmax = function (d, k) { return F.argmax(this, d, k); };
P.argmin = function (d, k) { return F.argmin(this, d, k); };
P.reshape = function (...s) { return F.reshape(this, flat(s)); };
P.view = function (...s) { return F.view(this, flat(s)); };
P.contiguous = function () { return F.contiguous(this); };
P.diagonal = function (o, d1, d2) { return F.diagonal(this, o, d1, d2); };
P.viewAs = function (o) { return F.reshape(this, o.shape); };
P.flatten = function (s, e) { return F.flatten(this, s, e); };
P.squeeze = function (d) { return F.squeeze(this, d); };
P.unsqueeze = function (d) { return F.unsqueeze(this, d); };
P.transpose = function (a, b) { return F.transpose(this, a, b); };
P.t = function () {
  if (this.ndim > 2) throw new ShapeError(`t: expects a tensor with at most 2 dims, got shape ${fmtShape(this.shape)}; use transpose(dim0, dim1)`);
  return this.ndim < 2 ? this : F.transpose(this, 0, 1);
};
P.permute = function (...d) { return F.permute(this, flat(d)); };
P.expand = function (...s) { return F.expand(this, flat(s)); };
P.expandAs = function (o) { return F.expand(this, o.shape); };
P.narrow = function (d, s, l) { return F.narrow(this, d, s, l); };
P.slice = function (d, s, e, st) { return F.slice(this, d, s, e, st); };
P.select = function (d, i) { return F.select(this, d, i); };
P.split = function (s, d) { return F.split(this, s, d); };
P.chunk = function (c, d) { return F.chunk(this, c, d); };
P.indexSelect = function (d, i) { return F.indexSelect(this, d, i); };
P.gather = function (d, i) { return F.gather(this, d, i); };
P.scatterAdd = function (d, i, s) { return F.scatterAdd(this, d, i, s); };
P.indexAdd = function (d, i, s) { return F.indexAdd(this, d, i, s); };

// ---- in place ---------------------------------------------------------------------------

function checkInPlace(t: Tensor, op: string): void {
  if (isGradEnabled() && t.requiresGrad) {
    throw new AutogradError(
      t.isLeaf
        ? `${op}: a leaf tensor that requires grad is being used in an in-place operation; wrap the update in noGrad(() => ...)`
        : `${op}: in-place operations on tensors recorded in the graph are not supported; use the out-of-place form`,
    );
  }
}

function writeInPlace(t: Tensor, op: string, result: Tensor): Tensor {
  checkInPlace(t, op);
  if (!sameShape(result.shape, t.shape)) {
    throw new ShapeError(`${op}: the result of shape ${fmtShape(result.shape)} does not fit in place into shape ${fmtShape(t.shape)}`);
  }
  t.writeRowMajor(op, asDType(result, t.dtype).rowMajor(false));
  return t;
}

P.add_ = function (o, alpha = 1) { return writeInPlace(this, 'add_', noGrad(() => this.add(o, alpha))) as typeof this; };
P.sub_ = function (o, alpha = 1) { return writeInPlace(this, 'sub_', noGrad(() => this.sub(o, alpha))) as typeof this; };
P.mul_ = function (o) { return writeInPlace(this, 'mul_', noGrad(() => this.mul(o))) as typeof this; };
P.div_ = function (o) { return writeInPlace(this, 'div_', noGrad(() => this.div(o))) as typeof this; };
P.clamp_ = function (lo = null, hi = null) { return writeInPlace(this, 'clamp_', noGrad(() => this.clamp(lo, hi))) as typeof this; };
P.copy_ = function (src) {
  broadcastShapes('copy_', src.shape, this.shape);
  return writeInPlace(this, 'copy_', noGrad(() => F.expand(src, this.shape))) as typeof this;
};
/** The values an in-place fill computes, row-major: the tensor's own array when contiguous, else a scratch one. */
function fillTarget(t: Tensor): TypedArray {
  return t.isContiguous() ? t.data : allocate(t.dtype, t.numel());
}
function finishFill(t: Tensor, op: string, values: TypedArray): void {
  if (t.isContiguous()) t.version++;
  else t.writeRowMajor(op, values);
}

P.fill_ = function (v) {
  checkInPlace(this, 'fill_');
  const d = fillTarget(this);
  d.fill(v);
  finishFill(this, 'fill_', d);
  return this;
};
P.zero_ = function () { return this.fill_(0); };
P.uniform_ = function (low = 0, high = 1, gen: Generator = defaultGenerator) {
  checkInPlace(this, 'uniform_');
  const d = fillTarget(this);
  for (let i = 0; i < d.length; i++) d[i] = low + (high - low) * gen.random();
  finishFill(this, 'uniform_', d);
  return this;
};
P.normal_ = function (mean = 0, std = 1, gen: Generator = defaultGenerator) {
  checkInPlace(this, 'normal_');
  const d = fillTarget(this);
  for (let i = 0; i < d.length; i++) d[i] = mean + std * gen.normal();
  finishFill(this, 'normal_', d);
  return this;
};

setCastImpl((t: Tensor, dtype: DType, copy: boolean) => F.cast(t, dtype, copy));
setZerosFactory((shape, dtype) => zerosK(shape, dtype));
