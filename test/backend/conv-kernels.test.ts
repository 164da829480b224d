import { describe, expect, it } from 'vitest';
import { createNativeBackend } from '../../src/backend/native/index.js';
import type { WindowArgs } from '../../src/backend/types.js';
import { candidates, randomArray } from './helpers.js';

/** The geometry's numbers and its output size (floor mode), derived here rather than taken from the code under test. */
function unpack(h: number, w: number, g: WindowArgs) {
  const [kh, kw] = g.kernel as [number, number];
  const [sh, sw] = g.stride as [number, number];
  const [ph, pw] = g.padding as [number, number];
  const [dh, dw] = g.dilation as [number, number];
  const oh = Math.floor((h + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((w + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
  return { kh, kw, sh, sw, ph, pw, dh, dw, oh, ow };
}

/**
 * Every window position by definition, in the columns' order (plane, kernel row i, kernel
 * column j, output row, output column): visit(k, pixel) with k the column-array index and
 * pixel the image index it reads, or −1 where it falls on the padding.
 */
function forEachWindow(planes: number, h: number, w: number, g: WindowArgs, visit: (k: number, pixel: number) => void): void {
  const { kh, kw, sh, sw, ph, pw, dh, dw, oh, ow } = unpack(h, w, g);
  let k = 0;
  for (let p = 0; p < planes; p++)
    for (let i = 0; i < kh; i++)
      for (let j = 0; j < kw; j++)
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++) {
            const y = oy * sh - ph + i * dh;
            const x = ox * sw - pw + j * dw;
            visit(k++, y >= 0 && y < h && x >= 0 && x < w ? p * h * w + y * w + x : -1);
          }
}

/** im2col from its definition; padding reads padValue. */
function naiveIm2col(x: Float32Array, planes: number, h: number, w: number, g: WindowArgs, padValue: number): Float32Array {
  const vals: number[] = [];
  forEachWindow(planes, h, w, g, (k, pixel) => (vals[k] = pixel < 0 ? padValue : x[pixel]!));
  return Float32Array.from(vals);
}

/** col2im from its definition, summing in float32 in the columns' order. */
function naiveCol2im(cols: Float32Array, planes: number, h: number, w: number, g: WindowArgs): Float32Array {
  const out = new Float32Array(planes * h * w);
  forEachWindow(planes, h, w, g, (k, pixel) => {
    if (pixel >= 0) out[pixel] = Math.fround(out[pixel]! + cols[k]!);
  });
  return out;
}

/** Index of the first element that differs (Object.is), or −1. */
function firstDifference(got: Float32Array, want: Float32Array): number {
  if (got.length !== want.length) return 0;
  for (let i = 0; i < got.length; i++) if (!Object.is(got[i], want[i])) return i;
  return -1;
}

const geometries: [string, number, number, number, WindowArgs][] = [
  ['3×3, pad 1 (a conv layer)', 64 * 8, 28, 28, { kernel: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1] }],
  ['2×2 stride 2 (max-pooling)', 16, 14, 14, { kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1] }],
  ['2×2 stride 2, odd sizes, 18 windows a row', 3, 9, 37, { kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1] }],
  ['5×3, stride 2×3, pad 2×1, dilation 2×1', 6, 11, 13, { kernel: [5, 3], stride: [2, 3], padding: [2, 1], dilation: [2, 1] }],
  ['1×1', 3, 4, 5, { kernel: [1, 1], stride: [1, 1], padding: [0, 0], dilation: [1, 1] }],
  ['3×2, stride 1×2, dilation 2, no padding', 5, 12, 9, { kernel: [3, 2], stride: [1, 2], padding: [0, 0], dilation: [2, 2] }],
  ['2×2, stride 1, dilation 2, no padding (overlapping)', 4, 9, 10, { kernel: [2, 2], stride: [1, 1], padding: [0, 0], dilation: [2, 2] }],
  ['kernel as large as the padded image', 2, 3, 3, { kernel: [5, 5], stride: [1, 1], padding: [1, 1], dilation: [1, 1] }],
];

const all = await candidates();

describe.each(all.map((c) => [c.label, c] as const))('im2col and col2im on %s', (_label, cand) => {
  it.each(geometries)('%s: the window columns and their adjoint, bit for bit', (_g, planes, h, w, g) => {
    const b = { im2col: cand.attempt('im2col'), col2im: cand.attempt('col2im') };
    if (!b.im2col || !b.col2im) return; // this backend leaves them to the reference kernels
    const x = randomArray(planes * h * w, planes + h);
    const want = naiveIm2col(x, planes, h, w, g, -Infinity);
    const got = new Float32Array(want.length).fill(NaN);
    expect(b.im2col(x, planes, h, w, g, -Infinity, got)).toBe(true);
    // The first difference only: a whole-array diff of millions of floats takes minutes to print.
    const k = firstDifference(got, want);
    expect(k, `im2col at ${k}: got ${got[k]}, want ${want[k]}`).toBe(-1);

    const cols = randomArray(want.length, 7);
    const img = new Float32Array(planes * h * w).fill(NaN); // col2im must zero what no window covers
    expect(b.col2im(cols, planes, h, w, g, img)).toBe(true);
    const back = naiveCol2im(cols, planes, h, w, g);
    const j = firstDifference(img, back);
    expect(j, `col2im at ${j}: got ${img[j]}, want ${back[j]}`).toBe(-1);
  });
});

/** Max pooling from its definition: each window's kernel positions in row-major order, the padding skipped. */
function naiveMaxPool(x: Float32Array, planes: number, h: number, w: number, g: WindowArgs): { out: Float32Array; picks: Int32Array } {
  const { kh, kw, sh, sw, ph, pw, dh, dw, oh, ow } = unpack(h, w, g);
  const out = new Float32Array(planes * oh * ow);
  const picks = new Int32Array(planes * oh * ow);
  for (let p = 0, o = 0; p < planes; p++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++, o++) {
        let best = -Infinity;
        let pick = -1;
        for (let i = 0; i < kh; i++)
          for (let j = 0; j < kw; j++) {
            const y = oy * sh - ph + i * dh;
            const xx = ox * sw - pw + j * dw;
            if (y < 0 || y >= h || xx < 0 || xx >= w) continue;
            const v = x[p * h * w + y * w + xx]!;
            if (pick < 0) pick = y * w + xx; // the first real element, if nothing beats −∞
            if (v > best || Number.isNaN(v)) [best, pick] = [v, y * w + xx];
          }
        out[o] = best;
        picks[o] = pick;
      }
  return { out, picks };
}

describe.each(all.map((c) => [c.label, c] as const))('max pooling on %s', (_label, cand) => {
  it.each(geometries)('%s: values and picks as PyTorch’s scan, ties, NaN and −∞ included; the backward scatter', (_g, planes, h, w, g) => {
    const b = { maxPool: cand.attempt('maxPool'), maxPoolBackward: cand.attempt('maxPoolBackward') };
    if (!b.maxPool || !b.maxPoolBackward) return; // this backend leaves them to the reference kernels
    // Values on a grid of ½ after a ReLU (ties everywhere), a few NaNs, and one plane of −∞.
    const x = randomArray(planes * h * w, planes + w).map((v) => Math.max(0, Math.round(v * 4) / 2));
    for (let i = 0; i < x.length; i += 97) x[i] = NaN;
    x.fill(-Infinity, 0, h * w);
    const want = naiveMaxPool(x, planes, h, w, g);
    const got = new Float32Array(want.out.length).fill(7);
    const picks = new Int32Array(want.out.length).fill(-5);
    expect(b.maxPool(x, planes, h, w, g, got, picks)).toBe(true);
    const k = firstDifference(got, want.out);
    expect(k, `value at ${k}: got ${got[k]}, want ${want.out[k]}`).toBe(-1);
    const j = picks.findIndex((v, i) => v !== want.picks[i]);
    expect(j, `pick at ${j}: got ${picks[j]}, want ${want.picks[j]}`).toBe(-1);

    const l = want.out.length / planes;
    const grad = randomArray(want.out.length, 3);
    const back = new Float32Array(planes * h * w);
    for (let i = 0; i < grad.length; i++) {
      const at = Math.floor(i / l) * h * w + picks[i]!;
      back[at] = Math.fround(back[at]! + grad[i]!);
    }
    // With the window (kernels that know its shape may take another path) and without.
    for (const pw of [undefined, { h, w, window: g }]) {
      const gx = new Float32Array(planes * h * w).fill(NaN); // every element not picked must come back 0
      expect(b.maxPoolBackward(grad, picks, planes, h * w, l, gx, pw)).toBe(true);
      const m = firstDifference(gx, back);
      expect(m, `backward (window ${pw ? 'given' : 'not given'}) at ${m}: got ${gx[m]}, want ${back[m]}`).toBe(-1);
    }
  });
});

describe('native im2col and col2im', () => {
  const native = createNativeBackend();

  it('refuses a window larger than the padded image, and arrays too short', () => {
    if (!native?.im2col) return;
    const g = { kernel: [4, 4], stride: [1, 1], padding: [0, 0], dilation: [1, 1] };
    expect(() => native.im2col!(new Float32Array(9), 1, 3, 3, g, 0, new Float32Array(16))).toThrow('larger than the padded image');
    const ok = { kernel: [2, 2], stride: [1, 1], padding: [0, 0], dilation: [1, 1] };
    expect(() => native.im2col!(new Float32Array(8), 1, 3, 3, ok, 0, new Float32Array(16))).toThrow('outside the array');
    expect(() => native.col2im!(new Float32Array(16), 1, 3, 3, ok, new Float32Array(8))).toThrow('outside the array');
  });

  it('max pooling refuses padding over half the kernel, short arrays and picks outside the plane', () => {
    if (!native?.maxPool) return;
    const wide = { kernel: [2, 2], stride: [1, 1], padding: [2, 0], dilation: [1, 1] };
    expect(() => native.maxPool!(new Float32Array(9), 1, 3, 3, wide, new Float32Array(20), new Int32Array(20))).toThrow('over half the kernel');
    const ok = { kernel: [2, 2], stride: [1, 1], padding: [0, 0], dilation: [1, 1] };
    expect(() => native.maxPool!(new Float32Array(9), 1, 3, 3, ok, new Float32Array(4), new Int32Array(3))).toThrow('outside the array');
    expect(() => native.maxPoolBackward!(new Float32Array(4), Int32Array.of(0, 1, 9, 2), 1, 9, 4, new Float32Array(9))).toThrow('outside the plane');
  });
});

describe.each(all.map((c) => [c.label, c] as const))('sample-by-sample convolution on %s', (_label, cand) => {
  // [label, n, c, h, w, o, window]: few samples (each product split across the threads) and many
  // (whole samples per thread), padding, stride, dilation, 1×1.
  const cases: [string, number, number, number, number, number, WindowArgs][] = [
    ['3×3 pad 1, 37 samples', 37, 3, 12, 11, 5, { kernel: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1] }],
    ['3×3 pad 1, one sample', 1, 8, 14, 14, 16, { kernel: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1] }],
    ['5×3 stride 2×1 pad 2×0 dilation 1×2, 9 samples', 9, 2, 13, 10, 3, { kernel: [5, 3], stride: [2, 1], padding: [2, 0], dilation: [1, 2] }],
    ['1×1, 6 samples', 6, 4, 5, 7, 2, { kernel: [1, 1], stride: [1, 1], padding: [0, 0], dilation: [1, 1] }],
  ];

  it.each(cases)('%s: each part gives the values of im2col, the per-sample gemm and col2im', (_c, n, c, h, w, o, g) => {
    const b = {
      gemm: cand.backend.gemm, unary: cand.backend.unary, im2col: cand.attempt('im2col'), col2im: cand.attempt('col2im'),
      conv2dForward: cand.attempt('conv2dForward'), conv2dInputGrad: cand.attempt('conv2dInputGrad'), conv2dWeightGrad: cand.attempt('conv2dWeightGrad'),
    };
    if (!b.conv2dForward || !b.conv2dInputGrad || !b.conv2dWeightGrad || !b.im2col || !b.col2im) return;
    const { kh, kw, oh, ow } = unpack(h, w, g);
    const k = c * kh * kw;
    const l = oh * ow;
    const x = randomArray(n * c * h * w, n + c);
    const weight = randomArray(o * k, o);
    const bias = randomArray(o, 5);
    const gy = randomArray(n * o * l, 7);
    const p = { n, c, h, w, o, window: g };
    const cols = new Float32Array(n * k * l);
    expect(b.im2col(x, n * c, h, w, g, 0, cols)).toBe(true);
    const gemm = (transA: boolean, transB: boolean, m: number, nn: number, kk: number, a: Float32Array, ao: number, bb: Float32Array, bo: number, out: Float32Array, co: number, accumulate: boolean) =>
      b.gemm({ transA, transB, m, n: nn, k: kk, a, aOffset: ao, b: bb, bOffset: bo, c: out, cOffset: co, accumulate });
    for (const withBias of [true, false]) {
      for (const relu of [false, true]) {
        const want = new Float32Array(n * o * l);
        for (let s = 0; s < n; s++) {
          if (withBias) for (let r = 0; r < o; r++) want.fill(bias[r]!, (s * o + r) * l, (s * o + r + 1) * l);
          gemm(false, false, o, l, k, weight, 0, cols, s * k * l, want, s * o * l, withBias);
        }
        if (relu) b.unary('relu', want, want);
        const got = new Float32Array(n * o * l).fill(NaN);
        expect(b.conv2dForward(p, x, weight, withBias ? bias : null, got, relu)).toBe(true);
        const i = firstDifference(got, want);
        expect(i, `forward (bias ${withBias}, relu ${relu}) at ${i}: got ${got[i]}, want ${want[i]}`).toBe(-1);
      }
    }
    const dcols = new Float32Array(n * k * l);
    for (let s = 0; s < n; s++) gemm(true, false, k, l, o, weight, 0, gy, s * o * l, dcols, s * k * l, false);
    const wantGx = new Float32Array(n * c * h * w);
    expect(b.col2im(dcols, n * c, h, w, g, wantGx)).toBe(true);
    const gx = new Float32Array(n * c * h * w).fill(NaN);
    expect(b.conv2dInputGrad(p, gy, weight, gx)).toBe(true);
    const j = firstDifference(gx, wantGx);
    expect(j, `input gradient at ${j}: got ${gx[j]}, want ${wantGx[j]}`).toBe(-1);
    const wantPer = new Float32Array(n * o * k);
    for (let s = 0; s < n; s++) gemm(false, true, o, k, l, gy, s * o * l, cols, s * k * l, wantPer, s * o * k, false);
    const per = new Float32Array(n * o * k).fill(NaN);
    expect(b.conv2dWeightGrad(p, x, gy, per)).toBe(true);
    const m = firstDifference(per, wantPer);
    expect(m, `weight gradient at ${m}: got ${per[m]}, want ${wantPer[m]}`).toBe(-1);
  });
});
