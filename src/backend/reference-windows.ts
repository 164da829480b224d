import type { ConvArgs, FloatArray, GemmArgs, PoolWindow, WindowArgs } from './types.js';
import { windowNumbers } from './window.js';

/**
 * The reference window kernels: im2col and col2im (layout in ops/rules/conv.ts: image
 * [planes, h, w] ↔ columns [planes, kh·kw, oh·ow], row (i·kw + j), column y·ow + x), max pooling
 * with PyTorch's scan and its scatter backward, and the sample-by-sample convolution built from
 * them. Plain loops for float32 and float64; the fast backends must give the same values.
 */

/**
 * Walk one image plane's windows: for every kernel position (ki, kj) and output row oy, call
 * `row(rowStart, pixelStart, lo, hi)` where output columns [lo, hi) of that row read real
 * pixels pixelStart + ox·sw (the others fall on the padding), rowStart being the offset of
 * the output row within the plane's [kh·kw, oh·ow] block, or `pad(rowStart)` when the whole
 * row lies in the padding.
 */
function walkWindows(
  h: number,
  w: number,
  g: WindowArgs,
  row: (rowStart: number, pixelStart: number, lo: number, hi: number) => void,
  pad: (rowStart: number) => void,
): void {
  const { kh, kw, sh, sw, ph, pw, dh, dw, oh, ow } = windowNumbers(h, w, g);
  const l = oh * ow;
  for (let ki = 0; ki < kh; ki++) {
    for (let kj = 0; kj < kw; kj++) {
      const x0 = kj * dw - pw;
      // Output columns whose input column x0 + ox·sw lies inside [0, w).
      const lo = Math.min(ow, Math.max(0, Math.ceil(-x0 / sw)));
      const hi = Math.max(lo, Math.min(ow, Math.floor((w - 1 - x0) / sw) + 1));
      const block = (ki * kw + kj) * l;
      for (let oy = 0; oy < oh; oy++) {
        const y = oy * sh - ph + ki * dh;
        if (y < 0 || y >= h) pad(block + oy * ow);
        else row(block + oy * ow, y * w + x0, lo, hi);
      }
    }
  }
}

export function im2col(src: FloatArray, planes: number, h: number, w: number, g: WindowArgs, padValue: number, out: FloatArray): void {
  const { kh, kw, sw, oh, ow } = windowNumbers(h, w, g);
  const l = oh * ow;
  let inBase = 0;
  let outBase = 0;
  const row = (r: number, p: number, lo: number, hi: number) => {
    const o = outBase + r;
    const i = inBase + p;
    for (let ox = 0; ox < lo; ox++) out[o + ox] = padValue;
    for (let ox = lo; ox < hi; ox++) out[o + ox] = src[i + ox * sw]!;
    for (let ox = hi; ox < ow; ox++) out[o + ox] = padValue;
  };
  const pad = (r: number) => out.fill(padValue, outBase + r, outBase + r + ow);
  for (let plane = 0; plane < planes; plane++) {
    inBase = plane * h * w;
    outBase = plane * kh * kw * l;
    walkWindows(h, w, g, row, pad);
  }
}

export function col2im(src: FloatArray, planes: number, h: number, w: number, g: WindowArgs, out: FloatArray): void {
  const { kh, kw, sw, oh, ow } = windowNumbers(h, w, g);
  const l = oh * ow;
  out.fill(0, 0, planes * h * w);
  let imBase = 0;
  let colBase = 0;
  const row = (r: number, p: number, lo: number, hi: number) => {
    const i = colBase + r;
    const o = imBase + p;
    for (let ox = lo; ox < hi; ox++) out[o + ox * sw]! += src[i + ox]!;
  };
  const pad = () => {};
  for (let plane = 0; plane < planes; plane++) {
    imBase = plane * h * w;
    colBase = plane * kh * kw * l;
    walkWindows(h, w, g, row, pad);
  }
}

/**
 * Max pooling, PyTorch's scan: each window's first largest value in row-major window order, a NaN
 * over any number (the last NaN), the first real (unpadded) element when all are −∞. Loops only,
 * no array literal after them: V8 optimizes the function once and keeps it.
 */
export function maxPool(xd: FloatArray, planes: number, h: number, w: number, g: WindowArgs, y: FloatArray, picks: Int32Array): void {
  const { kh, kw, sh, sw, ph, pw, dh, dw, oh, ow } = windowNumbers(h, w, g);
  // Each window's real rows [r0, r1) and columns [c0, c1), stepping by the dilation.
  const r0 = new Int32Array(oh);
  const r1 = new Int32Array(oh);
  const c0 = new Int32Array(ow);
  const c1 = new Int32Array(ow);
  for (let oy = 0; oy < oh; oy++) {
    let a = oy * sh - ph;
    r1[oy] = Math.min(a + (kh - 1) * dh + 1, h);
    while (a < 0) a += dh;
    r0[oy] = a;
  }
  for (let ox = 0; ox < ow; ox++) {
    let a = ox * sw - pw;
    c1[ox] = Math.min(a + (kw - 1) * dw + 1, w);
    while (a < 0) a += dw;
    c0[ox] = a;
  }
  for (let p = 0, o = 0; p < planes; p++) {
    const base = p * h * w;
    for (let oy = 0; oy < oh; oy++) {
      const ya = r0[oy]!;
      const yb = r1[oy]!;
      for (let ox = 0; ox < ow; ox++, o++) {
        const xa = c0[ox]!;
        const xb = c1[ox]!;
        // The first real position stands in when every value is −∞.
        let best = -Infinity;
        let pick = ya * w + xa;
        for (let yy = ya; yy < yb; yy += dh) {
          for (let i = yy * w + xa, end = yy * w + xb; i < end; i += dw) {
            const v = xd[base + i]!;
            if (v > best || v !== v) {
              best = v;
              pick = i;
            }
          }
        }
        y[o] = best;
        picks[o] = pick;
      }
    }
  }
}

/** gx zeroed, then gx[plane p, picks[p, k]] += g[p, k]: each window's gradient to the element it picked, in order. */
export function maxPoolBackward(gd: FloatArray, pd: Int32Array, planes: number, size: number, l: number, gx: FloatArray, _window?: PoolWindow): void {
  gx.fill(0, 0, planes * size);
  for (let p = 0, o = 0; p < planes; p++) {
    const base = p * size;
    for (let k = 0; k < l; k++, o++) gx[base + pd[o]!]! += gd[o]!;
  }
}

type Gemm = (args: GemmArgs) => void;

/** The sizes the convolution kernels share: K = c·kh·kw rows of columns, L = oh·ow positions. */
function convSizes(p: ConvArgs): { k: number; l: number } {
  const { kh, kw, oh, ow } = windowNumbers(p.h, p.w, p.window);
  return { k: p.c * kh * kw, l: oh * ow };
}

/** conv2dForward from im2col, a gemm per sample onto the bias, then relu (`relu` in place). */
export function conv2dForward(
  gemm: Gemm, relu: (x: FloatArray) => void,
  p: ConvArgs, x: FloatArray, weight: FloatArray, bias: FloatArray | null, y: FloatArray, withRelu: boolean,
): void {
  const { n, c, h, w, o } = p;
  const { k, l } = convSizes(p);
  const cols = new (x.constructor as Float32ArrayConstructor | Float64ArrayConstructor)(n * k * l);
  im2col(x, n * c, h, w, p.window, 0, cols);
  if (bias) for (let r = 0; r < n * o; r++) y.fill(bias[r % o]!, r * l, (r + 1) * l);
  for (let s = 0; s < n; s++) {
    gemm({ transA: false, transB: false, m: o, n: l, k, a: weight, aOffset: 0, b: cols, bOffset: s * k * l, c: y, cOffset: s * o * l, accumulate: bias !== null });
  }
  if (withRelu) relu(y.subarray(0, n * o * l));
}

/** conv2dInputGrad: dcols[s] = weightᵀ·gy[s], then col2im. */
export function conv2dInputGrad(gemm: Gemm, p: ConvArgs, gy: FloatArray, weight: FloatArray, gx: FloatArray): void {
  const { n, c, h, w, o } = p;
  const { k, l } = convSizes(p);
  const dcols = new (gy.constructor as Float32ArrayConstructor | Float64ArrayConstructor)(n * k * l);
  for (let s = 0; s < n; s++) {
    gemm({ transA: true, transB: false, m: k, n: l, k: o, a: weight, aOffset: 0, b: gy, bOffset: s * o * l, c: dcols, cOffset: s * k * l, accumulate: false });
  }
  col2im(dcols, n * c, h, w, p.window, gx);
}

/** conv2dWeightGrad: perSample[s] = gy[s]·cols[s]ᵀ. */
export function conv2dWeightGrad(gemm: Gemm, p: ConvArgs, x: FloatArray, gy: FloatArray, perSample: FloatArray): void {
  const { n, c, h, w, o } = p;
  const { k, l } = convSizes(p);
  const cols = new (x.constructor as Float32ArrayConstructor | Float64ArrayConstructor)(n * k * l);
  im2col(x, n * c, h, w, p.window, 0, cols);
  for (let s = 0; s < n; s++) {
    gemm({ transA: false, transB: true, m: o, n: k, k: l, a: gy, aOffset: s * o * l, b: cols, bOffset: s * k * l, c: perSample, cOffset: s * o * k, accumulate: false });
  }
}
