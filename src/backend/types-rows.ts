import type { FloatArray, TypedArray } from './types.js';

/**
 * Kernels that walk rows or whole arrays with a running value: scans, arg-reductions, the fused
 * cross-entropy's passes, and the small per-element maps of the losses, dropout and gradient
 * clipping. Running sums are JavaScript numbers (float64) in the reference kernels, so float32
 * inputs are accumulated in double precision (as PyTorch's CPU kernels do for these ops); a fast
 * backend must give the same values.
 */
export interface RowKernels {
  /** Running sum along the middle axis of x viewed as [outer, size, inner] (from the end when reverse), accumulated in double. */
  cumsum(x: TypedArray, outer: number, size: number, inner: number, reverse: boolean, out: TypedArray): void;

  /**
   * The position along the middle axis of [outer, size, inner] of the largest ('max') or smallest
   * ('min') value, the first one on ties; a NaN wins over any number (the first NaN). size ≥ 1.
   */
  argReduce(op: 'max' | 'min', x: TypedArray, outer: number, size: number, inner: number, out: Int32Array): void;

  /**
   * Rows of x [rows, cols] shifted by their maximum: rowMax[i] = max_j x[i, j] (NaN if any is NaN;
   * 0 for a row whose maximum is ±∞, as PyTorch's logsumexp), out[i, j] = x[i, j] − rowMax[i].
   */
  rowMaxShift(x: FloatArray, rows: number, cols: number, rowMax: Float64Array, out: FloatArray): void;

  /**
   * The fused cross-entropy's last pass, after rowMaxShift and exp: e = exp(x − rowMax) [rows, cols]
   * is normalised in place into the softmax, and with s_i = Σ_j e_ij (in double),
   * loss_i = w_i·(rowMax_i + log s_i − x[i, t_i]) (0 where w_i = 0). out: the losses (reduction
   * 'none', rows long), else one value: Σ loss_i, divided by Σ w_i for 'mean' (sums in double).
   */
  crossEntropyLoss(
    x: FloatArray,
    target: Int32Array,
    weight: FloatArray,
    rows: number,
    cols: number,
    rowMax: Float64Array,
    e: FloatArray,
    reduction: 'mean' | 'sum' | 'none',
    out: FloatArray,
  ): void;

  /**
   * Its gradient: out[i, j] = coef_i·(p[i, j] − [j = t_i]) with coef_i = w_i·g_i ('none') or
   * w_i·g_0·scale (scale = 1 / Σw in double for 'mean', else 1); rows with coef_i = 0 are 0.
   */
  crossEntropyGrad(
    g: FloatArray,
    p: FloatArray,
    target: Int32Array,
    weight: FloatArray,
    rows: number,
    cols: number,
    reduction: 'mean' | 'sum' | 'none',
    out: FloatArray,
  ): void;

  /**
   * Class-index targets as the losses use them: safe[i] = classes[i], w[i] = weights[classes[i]]
   * (1 without weights), except where classes[i] = ignoreIndex: safe[i] = 0, w[i] = 0. The other
   * classes are in range (the loss checked them).
   */
  classWeights(classes: Int32Array, ignoreIndex: number, weights: TypedArray | null, safe: Int32Array, w: FloatArray): void;

  /** out [classes.length, numClasses] = 1 at (i, classes[i]), 0 elsewhere (any dtype). Classes in range. */
  oneHot(classes: Int32Array, numClasses: number, out: TypedArray): void;

  /** Inverted dropout's mask from uniform draws u in [0, 1): out[i] = u[i] < p ? 0 : scale. */
  dropoutMask(u: Float64Array, p: number, scale: number, out: FloatArray): void;

  /** out[i] = x[i]·alpha, the product in double rounded once (out may be x). */
  scale(x: FloatArray, alpha: number, out: FloatArray): void;

  /** pow's gradient: out[i] = g[i]·(p·x[i]^(p−1)), with p = 2 as g[i]·(2·x[i]) and p = 1 as g[i]. */
  powGrad(g: FloatArray, x: FloatArray, p: number, out: FloatArray): void;

  /** out[i] = x[i] > hi ? hi : x[i] < lo ? lo : x[i] (NaN kept; out may be x). */
  clamp(x: FloatArray, lo: number, hi: number, out: FloatArray): void;

  /**
   * out[at] = the p-norm of x, accumulated in double: (Σ|x_i|^p)^(1/p), with p = 1 and 2 as their
   * plain sums (Σ|x_i|, √Σx_i²), and p = Infinity the largest |x_i|, NaN if any is NaN (0 when empty).
   */
  norm(x: FloatArray, p: number, out: Float64Array, at: number): void;

  /** out[at] = Σ x_i in double precision, in index order. */
  sumF64(x: TypedArray, out: Float64Array, at: number): void;
}
