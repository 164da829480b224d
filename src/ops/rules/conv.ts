import { allocate, type DType } from '../../tensor/dtype.js';
import { Tensor } from '../../tensor/tensor.js';
import { backendFor } from '../../backend/index.js';
import { windowCount } from '../../backend/window.js';
import type { FloatArray } from '../../backend/types.js';
import { apply, type OpAttrs, type OpRule } from '../registry.js';

/**
 * im2col and col2im, the two halves of a convolution: im2col copies every kernel window of an
 * NCHW image into a column, so a convolution becomes one matrix product; col2im adds the
 * columns back into image positions. Each is the other's adjoint, so each one's VJP is the
 * other (and a double backward works). The loops below are the reference; a backend may take
 * float32 planes itself (the native addon does, in the same order, so the sums agree).
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
  g: WindowGeometry,
  row: (rowStart: number, pixelStart: number, lo: number, hi: number) => void,
  pad: (rowStart: number) => void,
): void {
  const [kh, kw] = g.kernel as [number, number];
  const [sh, sw] = g.stride as [number, number];
  const [ph, pw] = g.padding as [number, number];
  const [dh, dw] = g.dilation as [number, number];
  const oh = windowCount(h, kh, sh, ph, dh);
  const ow = windowCount(w, kw, sw, pw, dw);
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

export function im2colK(x: Tensor, g: WindowGeometry, padValue: number): Tensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [kh, kw] = g.kernel as [number, number];
  const sw = g.stride[1]!;
  const oh = windowCount(h, kh, g.stride[0]!, g.padding[0]!, g.dilation[0]!);
  const ow = windowCount(w, kw, sw, g.padding[1]!, g.dilation[1]!);
  const l = oh * ow;
  const rows = c * kh * kw;
  const src = x.data as FloatArray;
  const out = allocate(x.dtype, n * rows * l) as FloatArray;
  if (src instanceof Float32Array && backendFor(out.length).im2col?.(src, n * c, h, w, g, padValue, out as Float32Array)) {
    return new Tensor(out, [n, rows, l], x.dtype);
  }
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
  for (let plane = 0; plane < n * c; plane++) {
    inBase = plane * h * w;
    outBase = plane * kh * kw * l;
    walkWindows(h, w, g, row, pad);
  }
  return new Tensor(out, [n, rows, l], x.dtype);
}

export function col2imK(cols: Tensor, size: readonly number[], g: WindowGeometry, dtype: DType): Tensor {
  const [n, rows, l] = cols.shape as [number, number, number];
  const [kh, kw] = g.kernel as [number, number];
  const [h, w] = size as [number, number];
  const c = rows / (kh * kw);
  const sw = g.stride[1]!;
  const src = cols.data as FloatArray;
  const out = allocate(dtype, n * c * h * w) as FloatArray;
  if (src instanceof Float32Array && out instanceof Float32Array && backendFor(src.length).col2im?.(src, n * c, h, w, g, out)) {
    return new Tensor(out, [n, c, h, w], dtype);
  }
  let imBase = 0;
  let colBase = 0;
  const row = (r: number, p: number, lo: number, hi: number) => {
    const i = colBase + r;
    const o = imBase + p;
    for (let ox = lo; ox < hi; ox++) out[o + ox * sw]! += src[i + ox]!;
  };
  const pad = () => {};
  for (let plane = 0; plane < n * c; plane++) {
    imBase = plane * h * w;
    colBase = plane * kh * kw * l;
    walkWindows(h, w, g, row, pad);
  }
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

export const convRules: { im2col: OpRule<OpAttrs['im2col']>; col2im: OpRule<OpAttrs['col2im']> } = {
  im2col: {
    forward: (_c, [x], attrs) => im2colK(x!, attrs, attrs.padValue),
    // Padding positions are not inputs: their cotangents are dropped.
    backward: (c, g, attrs) => [col2im(g, c.inputShapes[0]!.slice(2), attrs)],
  },
  col2im: {
    forward: (_c, [cols], attrs) => col2imK(cols!, attrs.size, attrs, cols!.dtype),
    backward: (_c, g, attrs) => [im2col(g, attrs, 0)],
  },
};
