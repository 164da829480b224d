import { allocateUninit, type DType } from '../../tensor/dtype.js';
import { takeScratch } from '../../memory/index.js';
import { Tensor } from '../../tensor/tensor.js';
import { fusedKernel, kernel } from '../../backend/dispatch.js';
import { windowCount, windowNumbers } from '../../backend/window.js';
import type { ConvArgs, FloatArray } from '../../backend/types.js';
import { apply, type OpAttrs, type OpRule } from '../registry.js';
import { gather, sum } from '../functional.js';
import { activate, activationBackward, activationSaved, type Activation } from './epilogue.js';
import { gemmEach, reduceK } from '../kernels.js';

/**
 * im2col and col2im, the two halves of a convolution: im2col copies every kernel window of an
 * NCHW image into a column, so a convolution becomes one matrix product; col2im adds the
 * columns back into image positions. Each is the other's adjoint, so each one's VJP is the
 * other (and a double backward works). The kernels are the backends' (the reference loops in
 * backend/reference-windows.ts; the fast ones walk the windows in the same order, so the sums agree).
 *
 * Layout (PyTorch's unfold): image [N, C, H, W] ↔ columns [N, C·kh·kw, oh·ow], row index
 * (c·kh + i)·kw + j, column index y·ow + x.
 */
export interface WindowGeometry {
  kernel: number[];
  stride: number[];
  padding: number[];
  dilation: number[];
}

export { windowCount };

export function im2colK(x: Tensor, g: WindowGeometry, padValue: number): Tensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const { kh, kw, oh, ow } = windowNumbers(h, w, g);
  const l = oh * ow;
  const rows = c * kh * kw;
  // Every element is written by the kernel (the padding too), so the buffer need not start zeroed.
  const out = allocateUninit(x.dtype as 'float32' | 'float64', n * rows * l);
  kernel('im2col', out.length, x.dtype)(x.typedData as FloatArray, n * c, h, w, g, padValue, out);
  return new Tensor(out, [n, rows, l], x.dtype);
}

export function col2imK(cols: Tensor, size: readonly number[], g: WindowGeometry, dtype: DType): Tensor {
  const [n, rows] = cols.shape as [number, number, number];
  const [kh, kw] = g.kernel as [number, number];
  const [h, w] = size as [number, number];
  const c = rows / (kh * kw);
  const src = cols.typedData as FloatArray;
  const out = allocateUninit(dtype as 'float32' | 'float64', n * c * h * w); // the kernel zeroes it
  kernel('col2im', src.length, cols.dtype)(src, n * c, h, w, g, out);
  return new Tensor(out, [n, c, h, w], dtype);
}

const geometry = (a: WindowGeometry): WindowGeometry => ({
  kernel: a.kernel,
  stride: a.stride,
  padding: a.padding,
  dilation: a.dilation,
});

/** Tracked im2col: [N,C,H,W] → [N, C·kh·kw, oh·ow]; window positions over the padding read padValue. */
export function im2col(x: Tensor, g: WindowGeometry, padValue = 0): Tensor {
  return apply('im2col', [x], { ...geometry(g), padValue });
}

/** Tracked col2im: [N, C·kh·kw, L] → [N,C,H,W] of spatial `size`, overlapping windows summed. */
export function col2im(cols: Tensor, size: readonly number[], g: WindowGeometry): Tensor {
  return apply('col2im', [cols], { ...geometry(g), size: [...size] });
}

/**
 * Max pooling as PyTorch's max_pool2d: [N,C,H,W] → [N,C,oh,ow], each window's largest value.
 * Each window passes its gradient to one element, the one PyTorch's scan picks: the first
 * largest in row-major window order, a NaN over any number (the last NaN), the first real
 * (unpadded) element when all are −∞. Overlapping windows add up where they pick the same one.
 */
export function maxPool2d(x: Tensor, g: WindowGeometry): Tensor {
  return apply('maxPool2d', [x], geometry(g));
}

/**
 * 2-D convolution, one group: x [N,C,H,W] with weight [O,C,kh,kw] and an optional bias [O] gives
 * y [N,O,oh,ow], y[n] = bias + W·cols(x[n]) with W as [O, C·kh·kw] and cols the im2col columns.
 * One op rather than im2col, a batched matmul and a broadcast add: each sample's product starts
 * from the bias (no pass over y to add it) and all N products go to the backend in one call.
 *   dx = col2im(Wᵀ·gy[n]),  dW = Σ_n gy[n]·cols[n]ᵀ,  db = Σ_{n, positions} gy
 * With an activation (epilogue.ts) the op is act(conv2d(x)), and gy is first taken through it.
 */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null, g: WindowGeometry, activation: Activation = 'none'): Tensor {
  return apply('conv2d', bias ? [x, weight, bias] : [x, weight], { ...geometry(g), activation });
}

/** conv2d's input gradient: gy [N,O,oh,ow] and weight [O,C,kh,kw] → [N,C,H,W] of spatial `size`. */
export function conv2dInputGrad(gy: Tensor, weight: Tensor, size: readonly number[], g: WindowGeometry): Tensor {
  return apply('conv2dInputGrad', [gy, weight], { ...geometry(g), size: [...size] });
}

/** conv2d's weight gradient: gy [N,O,oh,ow] and x [N,C,H,W] → [O,C,kh,kw]; `cols`, x's im2col columns, where already made. */
export function conv2dWeightGrad(gy: Tensor, x: Tensor, g: WindowGeometry, cols?: Tensor): Tensor {
  return apply('conv2dWeightGrad', cols ? [gy, x, cols] : [gy, x], geometry(g));
}

/** maxPool2d's backward: g [N,C,oh,ow] added at the picked plane offsets picks [N,C,oh·ow] of an [N,C,H,W] image of spatial `size`. */
export function maxPool2dGrad(g: Tensor, picks: Tensor, size: readonly number[], geom: WindowGeometry): Tensor {
  return apply('maxPool2dGrad', [g, picks], { ...geometry(geom), size: [...size] });
}

/** Start offsets of `count` items `step` apart (step 0: one operand shared by every item). */
function offsets(count: number, step: number): Int32Array {
  const o = new Int32Array(count);
  for (let i = 0; i < count; i++) o[i] = i * step;
  return o;
}

/** The sizes of conv2d(x, w): samples, planes, outputs, the window, and K = C·kh·kw. */
function convArgs(x: Tensor, w: Tensor, g: WindowGeometry): ConvArgs & { k: number; oh: number; ow: number } {
  const [n, c, h, wd] = x.shape as [number, number, number, number];
  const { oh, ow } = windowNumbers(h, wd, g);
  return { n, c, h, w: wd, o: w.shape[0]!, window: g, k: c * g.kernel[0]! * g.kernel[1]!, oh, ow };
}

function isF32(a: FloatArray): a is Float32Array {
  return a instanceof Float32Array;
}

/** out[n] = [bias +] W·cols[n]: W [O, K] and cols [N, K, L] → out [N, O, L]. */
function convForwardK(cols: Tensor, w: Tensor, bias: Tensor | null, out: FloatArray): void {
  const [n, k, l] = cols.shape as [number, number, number];
  const o = w.shape[0]!;
  if (bias) {
    const bd = bias.typedData as FloatArray;
    const fill = kernel('fill', out.length, bias.dtype);
    for (let r = 0; r < n * o; r++) fill(out, bd[r % o]!, r * l, (r + 1) * l);
  }
  gemmEach(
    { transA: false, transB: false, m: o, n: l, k, a: w.typedData as FloatArray, aOffset: 0, b: cols.typedData as FloatArray, bOffset: 0, c: out, cOffset: 0, accumulate: bias !== null },
    offsets(n, 0), offsets(n, k * l),
  );
}

/** conv2d's gradients at its inputs (x, W, b) from the gradient g at its pre-activation; `cols`, x's columns where the forward kept them. */
function convGrads(needs: readonly boolean[], g: Tensor, x: Tensor, w: Tensor, attrs: WindowGeometry, cols: Tensor | undefined): (Tensor | null)[] {
  const [n, o] = g.shape as [number, number];
  return [
    needs[0] ? conv2dInputGrad(g, w, x.shape.slice(2), attrs) : null,
    needs[1] ? conv2dWeightGrad(g, x, attrs, cols) : null,
    needs[2] ? sum(g.reshape([n, o, -1]), [0, 2]) : null,
  ];
}

/**
 * conv2d with its activation (epilogue.ts): a relu runs on each sample's output while it is in
 * cache (the backend's epilogue, or one pass after the batched product), the others over the
 * output right after, with their own ops' kernels.
 */
const convRule: OpRule<OpAttrs['conv2d']> = {
  forward: (c, [x, w, b], attrs) => {
    const act = attrs.activation;
    const relu = act === 'relu';
    const p = convArgs(x!, w!, geometry(attrs));
    const l = p.oh * p.ow;
    const xd = x!.typedData as FloatArray;
    const wd = w!.typedData as FloatArray;
    const bd = b ? (b.typedData as FloatArray) : null;
    // Sample by sample where the backend can (its columns stay in cache); else the columns of
    // the whole batch, kept for the backward.
    const y = allocateUninit(x!.dtype as 'float32' | 'float64', p.n * p.o * l);
    const kern = { conv2dForward: fusedKernel('conv2dForward', p.n * p.o * l * p.k, x!.dtype) };
    let cols: Tensor | null = null;
    if (!(isF32(xd) && isF32(wd) && (bd === null || isF32(bd)) && kern.conv2dForward?.(p, xd, wd, bd, y as Float32Array, relu))) {
      cols = im2colK(x!, attrs, 0);
      convForwardK(cols, w!.reshape([p.o, p.k]), b ?? null, y);
      if (relu) kernel('unary', y.length, x!.dtype)('relu', y, y);
    }
    const z = new Tensor(y, [p.n, p.o, p.oh, p.ow], x!.dtype);
    const out = activate(act, z);
    // Saved: x, W, what the activation's gradient reads, for gelu the bias (conv2dPre takes it
    // as an input), and the batch's columns where the forward made them.
    const kept = activationSaved(act, z, out);
    c.save(x!, w!, ...(kept ? [kept] : []), ...(act === 'gelu' && b ? [b] : []), ...(cols ? [cols] : []));
    return out;
  },
  backward: (c, gy, attrs) => {
    const act = attrs.activation;
    const s = c.saved;
    const [x, w] = s as [Tensor, Tensor];
    let i = 2;
    const kept = act === 'none' ? null : s[i++]!;
    const b = act === 'gelu' && c.inputShapes.length === 3 ? s[i++]! : null;
    const cols = s[i];
    const pre = () => apply('conv2dPre', b ? [kept!, x, w, b] : [kept!, x, w], geometry(attrs));
    return convGrads(c.needsInputGrad, activationBackward(act, gy, kept, pre), x, w, attrs, cols);
  },
};

/**
 * conv2dPre(z, x, W, b) = z, the pre-activation a fused conv2d kept (the caller vouches for
 * it), as a function of (x, W, b): a gradient at z goes back to them as conv2d's does (none
 * to z). gelu's backward reads z through it, so that a double backward sees z's dependence on
 * the inputs; unrecorded (a first-order backward) it only returns z.
 */
const conv2dPreRule: OpRule<OpAttrs['conv2dPre']> = {
  forward: (c, [z, x, w]) => {
    c.save(x!, w!);
    return new Tensor(z!.storage, z!.shape, z!.dtype, z!.strides, z!.offset);
  },
  backward: (c, g, attrs) => {
    const [x, w] = c.saved as [Tensor, Tensor];
    return [null, ...convGrads(c.needsInputGrad.slice(1), g, x, w, attrs, undefined)];
  },
};

/**
 * conv2d's two gradients as primitives (PyTorch's convolution_backward), each bilinear in its
 * inputs, so each one's VJP is the other or the convolution itself:
 *   conv2dInputGrad(gy, W)  = col2im(Wᵀ·gy[n])        d/dgy: conv2d(gg, W)  d/dW: conv2dWeightGrad(gy, gg)
 *   conv2dWeightGrad(gy, x) = Σ_n gy[n]·cols(x)[n]ᵀ   d/dgy: conv2d(x, gg)  d/dx: conv2dInputGrad(gy, gg)
 * conv2dWeightGrad takes the forward's columns of x as an optional third input where it kept them.
 */
const conv2dInputGradRule: OpRule<OpAttrs['conv2dInputGrad']> = {
  forward: (c, [gy, w], attrs) => {
    c.save(gy!, w!);
    const [n, o, oh, ow] = gy!.shape as [number, number, number, number];
    const [h, wd] = attrs.size as [number, number];
    const ch = w!.shape[1]!;
    const window = geometry(attrs);
    const p: ConvArgs = { n, c: ch, h, w: wd, o, window };
    const k = ch * window.kernel[0]! * window.kernel[1]!;
    const l = oh * ow;
    const dtype = gy!.dtype as 'float32' | 'float64';
    const gd = gy!.typedData as FloatArray;
    const wdata = w!.typedData as FloatArray;
    const fused = fusedKernel('conv2dInputGrad', n * o * l * k, dtype);
    const out = takeScratch(dtype, n * ch * h * wd, 'conv2d backward: input gradient');
    if (isF32(gd) && isF32(wdata) && fused?.(p, gd, wdata, out.array as Float32Array)) return new Tensor(out.keep(), [n, ch, h, wd], dtype);
    out.release();
    // dcols[s] = Wᵀ·gy[s], then summed back into image positions.
    const dcols = takeScratch(dtype, n * k * l, 'conv2d backward: column gradients');
    gemmEach({ transA: true, transB: false, m: k, n: l, k: o, a: wdata, aOffset: 0, b: gd, bOffset: 0, c: dcols.array, cOffset: 0, accumulate: false }, offsets(n, 0), offsets(n, o * l));
    const gx = col2imK(new Tensor(dcols.array, [n, k, l], dtype), attrs.size, window, dtype);
    dcols.release();
    return gx;
  },
  backward: (c, gg, attrs) => {
    const [gy, w] = c.saved as [Tensor, Tensor];
    const window = geometry(attrs);
    return [
      c.needsInputGrad[0] ? conv2d(gg, w, null, window) : null,
      c.needsInputGrad[1] ? conv2dWeightGrad(gy, gg, window) : null,
    ];
  },
};

const conv2dWeightGradRule: OpRule<OpAttrs['conv2dWeightGrad']> = {
  forward: (c, [gy, x, saved], attrs) => {
    c.save(gy!, x!);
    const [n, o, oh, ow] = gy!.shape as [number, number, number, number];
    const [, ch, h, wd] = x!.shape as [number, number, number, number];
    const [kh, kw] = attrs.kernel as [number, number];
    const p: ConvArgs = { n, c: ch, h, w: wd, o, window: geometry(attrs) };
    const k = ch * kh * kw;
    const l = oh * ow;
    const dtype = gy!.dtype as 'float32' | 'float64';
    const gd = gy!.typedData as FloatArray;
    const xd = x!.typedData as FloatArray;
    // Each sample's gy[s]·cols[s]ᵀ, then their sum in sample order.
    const fused = fusedKernel('conv2dWeightGrad', n * o * l * k, dtype);
    const per = takeScratch(dtype, n * o * k, 'conv2d backward: per-sample weight gradients');
    if (!(isF32(gd) && isF32(xd) && fused?.(p, xd, gd, per.array as Float32Array))) {
      const cols = saved ?? im2colK(x!, attrs, 0);
      gemmEach({ transA: false, transB: true, m: o, n: k, k: l, a: gd, aOffset: 0, b: cols.typedData as FloatArray, bOffset: 0, c: per.array, cOffset: 0, accumulate: false }, offsets(n, o * l), offsets(n, k * l));
    }
    const gw = new Tensor(reduceK('sum', new Tensor(per.array, [n, o * k], dtype), [0]).typedData, [o, ch, kh, kw], dtype);
    per.release();
    return gw;
  },
  backward: (c, gg, attrs) => {
    const [gy, x] = c.saved as [Tensor, Tensor];
    const window = geometry(attrs);
    return [
      c.needsInputGrad[0] ? conv2d(x, gg, null, window) : null,
      c.needsInputGrad[1] ? conv2dInputGrad(gy, gg, x.shape.slice(2), window) : null,
      null,
    ];
  },
};

/** The pooled values and, per window, the plane offset of the element picked (PyTorch's scan: see maxPool2d). */
function maxPoolK(x: Tensor, g: WindowGeometry): { y: Tensor; picks: Tensor } {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const { oh, ow } = windowNumbers(h, w, g);
  const y = allocateUninit(x.dtype as 'float32' | 'float64', n * c * oh * ow);
  const picks = new Int32Array(n * c * oh * ow);
  const xd = x.typedData as FloatArray;
  kernel('maxPool', xd.length, x.dtype)(xd, n * c, h, w, g, y, picks);
  return { y: new Tensor(y, [n, c, oh, ow], x.dtype), picks: new Tensor(picks, [n, c, oh * ow], 'int32') };
}

export const convRules: {
  im2col: OpRule<OpAttrs['im2col']>;
  col2im: OpRule<OpAttrs['col2im']>;
  maxPool2d: OpRule<OpAttrs['maxPool2d']>;
  maxPool2dGrad: OpRule<OpAttrs['maxPool2dGrad']>;
  conv2d: OpRule<OpAttrs['conv2d']>;
  conv2dPre: OpRule<OpAttrs['conv2dPre']>;
  conv2dInputGrad: OpRule<OpAttrs['conv2dInputGrad']>;
  conv2dWeightGrad: OpRule<OpAttrs['conv2dWeightGrad']>;
} = {
  conv2d: convRule,
  conv2dPre: conv2dPreRule,
  conv2dInputGrad: conv2dInputGradRule,
  conv2dWeightGrad: conv2dWeightGradRule,
  im2col: {
    forward: (_c, [x], attrs) => im2colK(x!, attrs, attrs.padValue),
    // Padding positions are not inputs: their cotangents are dropped.
    backward: (c, g, attrs) => [col2im(g, c.inputShapes[0]!.slice(2), attrs)],
  },
  col2im: {
    forward: (_c, [cols], attrs) => col2imK(cols!, attrs.size, attrs, cols!.dtype),
    backward: (_c, g, attrs) => [im2col(g, attrs, 0)],
  },
  maxPool2d: {
    forward: (c, [x], attrs) => {
      const { y, picks } = maxPoolK(x!, attrs);
      c.save(picks);
      return y;
    },
    backward: (c, g, attrs) => [maxPool2dGrad(g, c.saved[0]!, c.inputShapes[0]!.slice(2), attrs)],
  },
  // gx[plane, picks[plane, k]] += g[plane, k]: linear in g, so its VJP is the gather at the picks.
  maxPool2dGrad: {
    forward: (c, [g, picks], attrs) => {
      c.save(picks!);
      const [n, ch] = g!.shape as [number, number];
      const [h, w] = attrs.size as [number, number];
      const l = picks!.shape[2]!;
      const gd = g!.typedData as FloatArray;
      const pd = picks!.typedData as Int32Array;
      const gx = allocateUninit(g!.dtype as 'float32' | 'float64', n * ch * h * w); // the kernel zeroes it
      kernel('maxPoolBackward', gd.length, g!.dtype)(gd, pd, n * ch, h * w, l, gx, { h, w, window: geometry(attrs) });
      return new Tensor(gx, [n, ch, h, w], g!.dtype);
    },
    backward: (c, gg) => {
      const picks = c.saved[0]!;
      const [n, ch] = gg.shape as [number, number];
      return [gather(gg.reshape([n, ch, -1]), 2, picks).reshape(c.inputShapes[0]!), null];
    },
  },
};
