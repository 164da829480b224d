/**
 * The kernel interface. Ops, rules, losses, optimizers and the engine do no element loops of
 * their own: they call these kernels on contiguous, row-major typed arrays, through the dispatcher
 * (./dispatch.ts), which picks the current backend's kernel where it has one registered and
 * the work is large enough, else the reference kernel; so every op always has one.
 *
 * Kernels are pure functions of their arguments: they write only into `out` and keep no
 * state between calls, so any backend can replace any other without the autograd layer
 * noticing.
 */

import type { MovementKernels } from './types-movement.js';
import type { RowKernels } from './types-rows.js';

export type FloatArray = Float32Array | Float64Array;
export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

/** The dtype of a kernel's main input as the dispatcher keys it: a tensor dtype, or raw bytes (a dataset's pixels). */
export type KernelDType = 'float32' | 'float64' | 'int32' | 'bool' | 'uint8';

/** Elementwise ops with one input. All are defined for float inputs. */
export type UnaryKernel =
  | 'neg' | 'exp' | 'log' | 'sqrt' | 'abs' | 'sin' | 'cos' | 'tanh' | 'sigmoid' | 'relu'
  | 'erf' | 'log1p' | 'expm1' | 'sign' | 'reciprocal' | 'square' | 'floor' | 'ceil' | 'round';

/**
 * Elementwise ops with two inputs and NumPy broadcasting. The last three are the backward
 * formulas of activations, from the upstream gradient a = g and the saved output b = y:
 * reluGrad = (y > 0 ? g : 0), sigmoidGrad = g·(y·(1 − y)), tanhGrad = g·(1 − y·y).
 */
export type BinaryKernel =
  | 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum'
  | 'reluGrad' | 'sigmoidGrad' | 'tanhGrad';

/** Comparisons write 0/1 into a Uint8Array. */
export type CompareKernel = 'gt' | 'ge' | 'lt' | 'le' | 'eq' | 'ne';

export type ReduceKernel = 'sum' | 'max' | 'min' | 'prod';

/**
 * One matrix product, row-major and contiguous:
 *   C[m×n] (+)= op(A) · op(B),  op(A) is m×k, op(B) is k×n,
 * where op(X) = Xᵀ when the flag is set (A is then stored k×m, B stored n×k).
 * The offsets say where each matrix starts in its array, so batched products need no copies.
 */
export interface GemmArgs {
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
  a: FloatArray;
  aOffset: number;
  b: FloatArray;
  bOffset: number;
  c: FloatArray;
  cOffset: number;
  /** true: C += op(A)·op(B); false: C = op(A)·op(B). */
  accumulate: boolean;
  /**
   * A linear layer's bias (n floats, from offset 0): C = bias + op(A)·op(B), the bias in every
   * row, summed exactly as filling C with it and accumulating. Never given with accumulate.
   */
  bias?: FloatArray | null;
  /** Then the relu kernel on C (max(x, 0), NaN kept, −0 → +0). */
  relu?: boolean;
}

/**
 * One Adam / AdamW step on a parameter in place (PyTorch 1.13's formulas): with
 * d = sign·grad + l2·param, param ← param·shrink, m ← β1·m + (1−β1)·d, v ← β2·v + (1−β2)·d²,
 * (amsgrad: vMax ← max(vMax, v), used instead of v), param ← param + negStepSize·m / (√v / bias2Sqrt + eps).
 */
export interface AdamArgs {
  param: FloatArray;
  grad: FloatArray;
  expAvg: FloatArray;
  expAvgSq: FloatArray;
  maxExpAvgSq: FloatArray | null;
  beta1: number;
  beta2: number;
  eps: number;
  /** −lr / (1 − β1^step) */
  negStepSize: number;
  /** √(1 − β2^step) */
  bias2Sqrt: number;
  /** Weight decay folded into the gradient (Adam); 0 for AdamW. */
  l2: number;
  /** 1 − lr·weightDecay (AdamW); 1 for Adam. */
  shrink: number;
  /** −1 when maximizing, else 1. */
  sign: number;
}

/**
 * Plain SGD (momentum 0: momentumBuffer null) or SGD with momentum, PyTorch 1.13's formulas:
 * d = sign·grad + weightDecay·param; v = first ? d : momentum·v + (1 − dampening)·d;
 * param ← param − lr·(nesterov ? d + momentum·v : v).
 */
export interface SgdArgs {
  param: FloatArray;
  grad: FloatArray;
  momentumBuffer: FloatArray | null;
  /** The buffer's first step: v = d, no dampening. */
  first: boolean;
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
  sign: number;
}

/** One Adagrad step: d = sign·grad + weightDecay·param, sum ← sum + d², param ← param + negClr·d / (√sum + eps). */
export interface AdagradArgs {
  param: FloatArray;
  grad: FloatArray;
  sum: FloatArray;
  /** −lr / (1 + (step − 1)·lrDecay) */
  negClr: number;
  weightDecay: number;
  eps: number;
  sign: number;
}

/**
 * One RMSprop step: d = sign·grad + weightDecay·param, s ← α·s + (1 − α)·d², centered: ḡ ← α·ḡ + (1 − α)·d and
 * a = √(s − ḡ²) + eps, else a = √s + eps; with momentum b ← momentum·b + d/a, param ← param − lr·b, else param ← param − lr·d/a.
 */
export interface RmspropArgs {
  param: FloatArray;
  grad: FloatArray;
  squareAvg: FloatArray;
  gradAvg: FloatArray | null;
  momentumBuffer: FloatArray | null;
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  sign: number;
}

/**
 * Every kernel by name and signature: the registry's typed map (./registry.ts). The reference
 * backend implements all of them; a fast backend registers the ones it has, each with these
 * arguments (a wrong signature is a compile error) and returning false where it declines a call
 * (another dtype, a layout it does not take), after which the dispatcher runs the reference one.
 * The data-movement kernels are in ./types-movement.ts, the row and scan kernels in ./types-rows.ts.
 */
export interface Kernels extends MovementKernels, RowKernels {
  gemm(args: GemmArgs): void;

  /**
   * aOffsets.length products of one shape and layout (a batched matmul). Item i is C at
   * g.cOffset + i·m·n (+)= op(A at aOffsets[i])·op(B at bOffsets[i]); g.aOffset and g.bOffset are
   * not used (they may be overwritten). Each item's values are those gemm() gives it. No bias or relu.
   */
  gemmBatched(g: GemmArgs, aOffsets: Int32Array, bOffsets: Int32Array): void;

  /** out[i] = op(x[i]); x and out have the same length and dtype (float). */
  unary(op: UnaryKernel, x: FloatArray, out: FloatArray): void;

  /**
   * out[idx] = op(a[aIndex], b[bIndex]) over outShape, where aStrides / bStrides are the
   * element strides of a and b expressed in outShape's dims (0 on a broadcast dim).
   */
  binary(
    op: BinaryKernel,
    a: TypedArray,
    aStrides: readonly number[],
    b: TypedArray,
    bStrides: readonly number[],
    out: TypedArray,
    outShape: readonly number[],
  ): void;

  /** Same addressing as `binary`; writes 1 where the comparison holds, else 0. */
  compare(
    op: CompareKernel,
    a: TypedArray,
    aStrides: readonly number[],
    b: TypedArray,
    bStrides: readonly number[],
    out: Uint8Array,
    outShape: readonly number[],
  ): void;

  /**
   * Reduce the middle axis of x viewed as [outer, size, inner]: out has outer×inner entries.
   * `max`/`min` of an empty axis are the caller's error to report, not the kernel's.
   */
  reduce(op: ReduceKernel, x: TypedArray, outer: number, size: number, inner: number, out: TypedArray): void;

  /** The optimizers' steps, each on one parameter in place (see the argument types). */
  adamStep(args: AdamArgs): void;
  sgdStep(args: SgdArgs): void;
  adagradStep(args: AdagradArgs): void;
  rmspropStep(args: RmspropArgs): void;

  /**
   * out[i·rowLength + j] = src[rows[i]·rowLength + j]·scale + shift (in double, rounded once),
   * e.g. uint8 pixels to a float batch. Rows are in range (the caller checked).
   */
  gatherRowsU8(src: Uint8Array, rowLength: number, rows: Int32Array, scale: number, shift: number, out: Float32Array): void;

  /** out row i = src row rows[i], rows of rowLength floats (a batch drawn from a dataset). Rows are in range. */
  gatherRowsF32(src: Float32Array, rowLength: number, rows: Int32Array, out: Float32Array): void;

  /**
   * Each of `planes` h×w planes of x to its [kh·kw, oh·ow] window columns (im2col; layout in
   * ops/rules/conv.ts), every element of out written, window positions over the padding reading padValue.
   */
  im2col(x: FloatArray, planes: number, h: number, w: number, g: WindowArgs, padValue: number, out: FloatArray): void;

  /** im2col's adjoint: columns summed into `planes` h×w planes of out, which the kernel zeroes first (col2im). */
  col2im(cols: FloatArray, planes: number, h: number, w: number, g: WindowArgs, out: FloatArray): void;

  /**
   * Max pooling of `planes` h×w planes with PyTorch's scan (see ops/rules/conv.ts): out gets each
   * window's largest value, picks the plane offset of the element whose gradient it is.
   * Padding at most half the kernel.
   */
  maxPool(x: FloatArray, planes: number, h: number, w: number, g: WindowArgs, out: FloatArray, picks: Int32Array): void;

  /**
   * Its backward, each plane of `size` floats of out zeroed, then grad[p, k] added at picks[p, k]
   * (l windows a plane). `window`, when given, is the planes' size and the window maxPool used
   * (the picks came from it), for a kernel that writes each element once where windows tile the plane.
   */
  maxPoolBackward(grad: FloatArray, picks: Int32Array, planes: number, size: number, l: number, out: FloatArray, window?: PoolWindow): void;

  /**
   * One group of a 2-D convolution, sample by sample, without the whole batch's im2col columns
   * (ops/rules/conv.ts's conv2d has the definitions). Each gives the values of im2col, then per
   * sample the gemm, then col2im. These three are composite kernels: the op asks for them with
   * `fusedKernel` and, where the backend has none, runs the unfused steps itself (each one
   * dispatched), which beats a reference loop of the whole.
   * forward: y [n, o, L] = [bias +] weight [o, c·kh·kw] · cols(x[s]); x [n, c, h, w]; then, with
   * relu, the relu kernel's values (NaN kept, −0 → +0).
   */
  conv2dForward(p: ConvArgs, x: FloatArray, weight: FloatArray, bias: FloatArray | null, y: FloatArray, relu: boolean): void;
  /** gx [n, c, h, w] = col2im(weightᵀ · gy[s]). */
  conv2dInputGrad(p: ConvArgs, gy: FloatArray, weight: FloatArray, gx: FloatArray): void;
  /** perSample [n, o, c·kh·kw] = gy[s] · cols(x[s])ᵀ. */
  conv2dWeightGrad(p: ConvArgs, x: FloatArray, gy: FloatArray, perSample: FloatArray): void;
}

export type KernelName = keyof Kernels;

/** A fast backend's kernel K: K's arguments; false declines the call (the reference kernel then runs it). */
export type FastKernel<K extends KernelName> = (...args: Parameters<Kernels[K]>) => boolean | void;

/** A backend as one object: its name and every kernel (its own where it has one, else the reference one). */
export interface Backend extends Kernels {
  readonly name: string;
}

/** The planes' size and the window maxPool used, for a backward that knows the windows' shape. */
export interface PoolWindow {
  h: number;
  w: number;
  window: WindowArgs;
}

/** The sizes of a convolution: n samples of c planes h×w, o output channels, and the window. */
export interface ConvArgs {
  n: number;
  c: number;
  h: number;
  w: number;
  o: number;
  window: WindowArgs;
}

/** A 2-D sliding window: [height, width] pairs. */
export interface WindowArgs {
  kernel: readonly number[];
  stride: readonly number[];
  padding: readonly number[];
  dilation: readonly number[];
}
