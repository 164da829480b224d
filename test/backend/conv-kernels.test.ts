import { describe, expect, it } from 'vitest';
import { createNativeBackend } from '../../src/backend/native/index.js';
import { referenceBackend } from '../../src/backend/reference.js';
import type { WindowArgs } from '../../src/backend/types.js';
import { randomArray } from './helpers.js';

/**
 * Every window position by definition, in the columns' order (plane, kernel row i, kernel
 * column j, output row, output column): visit(k, pixel) with k the column-array index and
 * pixel the image index it reads, or −1 where it falls on the padding.
 */
function forEachWindow(planes: number, h: number, w: number, g: WindowArgs, visit: (k: number, pixel: number) => void): void {
  const [kh, kw] = g.kernel as [number, number];
  const [sh, sw] = g.stride as [number, number];
  const [ph, pw] = g.padding as [number, number];
  const [dh, dw] = g.dilation as [number, number];
  const oh = Math.floor((h + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((w + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
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

const geometries: [string, number, number, number, WindowArgs][] = [
  ['3×3, pad 1 (a conv layer)', 64 * 8, 28, 28, { kernel: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1] }],
  ['2×2 stride 2 (max-pooling)', 16, 14, 14, { kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1] }],
  ['5×3, stride 2×3, pad 2×1, dilation 2×1', 6, 11, 13, { kernel: [5, 3], stride: [2, 3], padding: [2, 1], dilation: [2, 1] }],
  ['1×1', 3, 4, 5, { kernel: [1, 1], stride: [1, 1], padding: [0, 0], dilation: [1, 1] }],
  ['kernel as large as the padded image', 2, 3, 3, { kernel: [5, 5], stride: [1, 1], padding: [1, 1], dilation: [1, 1] }],
];

describe('native im2col and col2im', () => {
  const native = createNativeBackend(referenceBackend);

  it.each(geometries)('%s: the window columns and their adjoint, bit for bit', (_label, planes, h, w, g) => {
    if (!native?.im2col || !native.col2im) return; // no addon here: conv.ts's loops are what runs
    const x = randomArray(planes * h * w, planes + h);
    const want = naiveIm2col(x, planes, h, w, g, -Infinity);
    const got = new Float32Array(want.length).fill(NaN);
    expect(native.im2col(x, planes, h, w, g, -Infinity, got)).toBe(true);
    expect(Array.from(got)).toEqual(Array.from(want));

    const cols = randomArray(want.length, 7);
    const img = new Float32Array(planes * h * w).fill(NaN); // col2im must zero what no window covers
    expect(native.col2im(cols, planes, h, w, g, img)).toBe(true);
    expect(Array.from(img)).toEqual(Array.from(naiveCol2im(cols, planes, h, w, g)));
  });

  it('refuses a window larger than the padded image, and arrays too short', () => {
    if (!native?.im2col) return;
    const g = { kernel: [4, 4], stride: [1, 1], padding: [0, 0], dilation: [1, 1] };
    expect(() => native.im2col!(new Float32Array(9), 1, 3, 3, g, 0, new Float32Array(16))).toThrow('larger than the padded image');
    const ok = { kernel: [2, 2], stride: [1, 1], padding: [0, 0], dilation: [1, 1] };
    expect(() => native.im2col!(new Float32Array(8), 1, 3, 3, ok, 0, new Float32Array(16))).toThrow('outside the array');
    expect(() => native.col2im!(new Float32Array(16), 1, 3, 3, ok, new Float32Array(8))).toThrow('outside the array');
  });
});
