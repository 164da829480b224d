import { describe, expect, it } from 'vitest';
import { referenceBackend as R } from '../../src/backend/reference.js';
import { randomArray } from './helpers.js';

/**
 * The data-movement and row kernels of the reference backend (the oracle the registry test holds
 * the fast backends to) against naive formulas written from their contracts: multi-indices
 * unravelled per element instead of running offsets, sums in a plain reduce.
 */

function unravel(o: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length).fill(0);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = o % shape[d]!;
    o = Math.floor(o / shape[d]!);
  }
  return idx;
}

const dot = (idx: readonly number[], strides: readonly number[]) => idx.reduce((s, v, d) => s + v * strides[d]!, 0);
const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

describe('movement kernels', () => {
  const layouts: [number[], number[], number][] = [[[3, 4, 5], [1, 15, 3], 2], [[2, 1, 6], [0, 9, 1], 4], [[], [], 5], [[2, 0, 3], [3, 3, 1], 0], [[7], [-2], 20]];

  it.each(layouts)('stridedCopy and stridedWrite address offset + Σ index·stride (shape %j)', (shape, strides, offset) => {
    const src = randomArray(80, 3);
    const out = new Float32Array(numel(shape)).fill(NaN);
    R.stridedCopy(src, shape, strides, offset, out);
    out.forEach((v, o) => expect(v).toBe(src[offset + dot(unravel(o, shape), strides)]));
    if (strides.some((s, d) => s === 0 && shape[d]! > 1)) return; // a broadcast view is not written
    const dst = randomArray(80, 4);
    const before = dst.slice();
    const values = randomArray(numel(shape), 5);
    R.stridedWrite(dst, shape, strides, offset, values);
    const written = new Set<number>();
    values.forEach((v, o) => {
      const p = offset + dot(unravel(o, shape), strides);
      written.add(p);
      expect(dst[p]).toBe(v);
    });
    dst.forEach((v, p) => written.has(p) || expect(v).toBe(before[p]));
  });

  it('where broadcasts all three inputs', () => {
    const shape = [4, 3, 5];
    const cond = Uint8Array.from({ length: 3 }, (_, i) => i % 2);
    const a = randomArray(4 * 5, 1);
    const b = randomArray(1, 2);
    const out = new Float32Array(60).fill(NaN);
    R.where(cond, [0, 1, 0], a, [5, 0, 1], b, [0, 0, 0], out, shape);
    out.forEach((v, o) => {
      const [i, j, k] = unravel(o, shape);
      expect(v).toBe(cond[j!] ? a[i! * 5 + k!] : b[0]);
    });
  });

  it('gather and scatterAdd along the middle dim, repeated indices summed', () => {
    const xShape = [3, 4, 2];
    const iShape = [3, 5, 2];
    const x = randomArray(24, 1);
    const index = Int32Array.from({ length: 30 }, (_, i) => (i * 3) % 4);
    const out = new Float32Array(30).fill(NaN);
    R.gather(x, [8, 0, 1], 2, index, iShape, out);
    out.forEach((v, o) => {
      const [i, , k] = unravel(o, iShape);
      expect(v).toBe(x[i! * 8 + index[o]! * 2 + k!]);
    });
    const self = new Float64Array(24);
    const src = Float64Array.from(randomArray(3 * 6 * 2, 2)); // larger than index: read at index's positions
    R.scatterAdd(self, [8, 0, 1], 2, index, iShape, src, [12, 2, 1]);
    const want = new Float64Array(24);
    for (let o = 0; o < 30; o++) {
      const [i, j, k] = unravel(o, iShape);
      want[i! * 8 + index[o]! * 2 + k!] += src[i! * 12 + j! * 2 + k!]!;
    }
    expect(Array.from(self)).toEqual(Array.from(want));
  });

  it('indexSelect and indexAdd over [outer, size, inner], and cat side by side', () => {
    const [outer, size, inner] = [2, 5, 3];
    const x = randomArray(outer * size * inner, 1);
    const index = Int32Array.of(4, 0, 4, 2);
    const out = new Float32Array(outer * 4 * inner).fill(NaN);
    R.indexSelect(x, outer, size, inner, index, out);
    out.forEach((v, p) => {
      const [o, j, i] = unravel(p, [outer, 4, inner]);
      expect(v).toBe(x[(o! * size + index[j!]!) * inner + i!]);
    });
    const acc = new Float64Array(outer * size * inner);
    R.indexAdd(acc, outer, size, inner, index, Float64Array.from(out));
    // Row 4 was picked twice, row 0 and 2 once, rows 1 and 3 never.
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const at = (r: number) => (o * size + r) * inner + i;
        expect(acc[at(4)]).toBe(2 * x[at(4)]!);
        expect(acc[at(1)]).toBe(0);
        expect(acc[at(2)]).toBe(x[at(2)]);
      }
    }
    const parts = [Int32Array.of(1, 2, 3, 4), new Int32Array(0), Int32Array.of(5, 6)];
    const joined = new Int32Array(6);
    R.cat(parts, 2, joined);
    expect(Array.from(joined)).toEqual([1, 2, 5, 3, 4, 6]);
    R.cat([new Int32Array(0)], 0, new Int32Array(0)); // an empty outer dim: nothing to do, no NaN chunk
    const filled = new Float32Array(6);
    R.fill(filled, -0, 1, 3);
    expect(Array.from(filled).map((v) => Object.is(v, -0))).toEqual([false, true, true, false, false, false]);
  });
});

describe('row kernels', () => {
  it('cumsum runs in double from either end; argReduce takes the first extreme and the first NaN', () => {
    const x = Float32Array.of(1e8, 1, 1, -1e8, 3, 4);
    const out = new Float32Array(6);
    R.cumsum(x, 1, 6, 1, false, out);
    expect(Array.from(out)).toEqual([1e8, Math.fround(1e8 + 1), Math.fround(1e8 + 2), 2, 5, 9]);
    R.cumsum(x, 1, 6, 1, true, out);
    expect(out[5]).toBe(4);
    expect(out[0]).toBe(9);
    const m = new Int32Array(2);
    R.argReduce('max', Float32Array.of(1, 3, 3, 2, 0, NaN, 1, NaN), 1, 4, 2, m);
    expect(Array.from(m)).toEqual([1, 2]); // column 0: 1, 3, 0, 1 → first 3; column 1: 3, 2, NaN, NaN → first NaN
    R.argReduce('min', Float32Array.of(1, 3, 3, 2, 0, NaN, 1, NaN), 1, 4, 2, m);
    expect(Array.from(m)).toEqual([2, 2]);
  });

  it('rowMaxShift, exp and crossEntropyLoss give log-softmax losses; crossEntropyGrad is softmax − onehot', () => {
    const [rows, cols] = [3, 4];
    const x = Float64Array.of(1, 2, 3, 4, -Infinity, -Infinity, -Infinity, -Infinity, 0.5, -2, 7, 1);
    const target = Int32Array.of(2, 0, 2);
    const weight = Float64Array.of(1, 0, 2);
    const rowMax = new Float64Array(rows);
    const e = new Float64Array(rows * cols);
    R.rowMaxShift(x, rows, cols, rowMax, e);
    expect(Array.from(rowMax)).toEqual([4, 0, 7]);
    R.unary('exp', e, e);
    const out = new Float64Array(rows);
    R.crossEntropyLoss(x, target, weight, rows, cols, rowMax, e, 'none', out);
    const lse = (r: number) => Math.log(x.slice(r * cols, r * cols + cols).reduce((s, v) => s + Math.exp(v), 0));
    expect(out[0]).toBeCloseTo(lse(0) - 3, 14);
    expect(out[1]).toBe(0); // weight 0: an ignored row, even of −∞ logits
    expect(out[2]).toBeCloseTo(2 * (lse(2) - 7), 13);
    expect(e[3]).toBeCloseTo(Math.exp(4 - 4 - (lse(0) - 4)), 14); // normalised to the softmax
    const mean = new Float64Array(1);
    const e2 = new Float64Array(rows * cols);
    R.rowMaxShift(x, rows, cols, rowMax, e2);
    R.unary('exp', e2, e2);
    R.crossEntropyLoss(x, target, weight, rows, cols, rowMax, e2, 'mean', mean);
    expect(mean[0]).toBeCloseTo((out[0]! + out[2]!) / 3, 14);
    const grad = new Float64Array(rows * cols).fill(NaN);
    R.crossEntropyGrad(Float64Array.of(6), e2, target, weight, rows, cols, 'mean', grad);
    expect(grad[2]).toBeCloseTo(2 * (e2[2]! - 1), 14); // coef = 1·6/3
    expect(grad[1]).toBeCloseTo(2 * e2[1]!, 14);
    expect(Array.from(grad.slice(4, 8))).toEqual([0, 0, 0, 0]);
    expect(grad[10]).toBeCloseTo(4 * (e2[10]! - 1), 14);
  });

  it('classWeights, oneHot, dropoutMask, scale, clamp, norm and sumF64 follow their contracts', () => {
    const safe = new Int32Array(4).fill(9);
    const w = new Float32Array(4).fill(NaN);
    R.classWeights(Int32Array.of(2, -100, 0, 1), -100, Float32Array.of(0.5, 2, 3), safe, w);
    expect(Array.from(safe)).toEqual([2, 0, 0, 1]);
    expect(Array.from(w)).toEqual([3, 0, 0.5, 2]);
    const oh = new Float32Array(6).fill(7);
    R.oneHot(Int32Array.of(2, 0), 3, oh);
    expect(Array.from(oh)).toEqual([0, 0, 1, 1, 0, 0]);
    const mask = new Float32Array(4);
    R.dropoutMask(Float64Array.of(0.1, 0.5, 0.49, 0.9), 0.5, 2, mask);
    expect(Array.from(mask)).toEqual([0, 2, 0, 2]);
    const s = Float32Array.of(3, -1, 0.1);
    R.scale(s, 1 / 3, s);
    expect(Array.from(s)).toEqual([3, -1, 0.1].map((v) => Math.fround(Math.fround(v) * (1 / 3))));
    const pg = new Float64Array(3);
    R.powGrad(Float64Array.of(1, 2, -1), Float64Array.of(3, 0.5, 2), 2, pg);
    expect(Array.from(pg)).toEqual([6, 2, -4]);
    R.powGrad(Float64Array.of(1, 2, -1), Float64Array.of(4, 9, 16), 0.5, pg);
    expect(Array.from(pg)).toEqual([0.25, 2 * (0.5 / 3), -(0.5 / 4)]);
    const c = Float32Array.of(5, -5, NaN, 0.25, -0);
    R.clamp(c, -1, 1, c);
    expect(Array.from(c)).toEqual([1, -1, NaN, 0.25, -0]);
    const x = Float64Array.of(3, -4, 12);
    const n = new Float64Array(5);
    [1, 2, 3, Infinity].forEach((p, i) => R.norm(x, p, n, i));
    R.norm(Float64Array.of(1, NaN, 2), Infinity, n, 4);
    expect(Array.from(n)).toEqual([19, 13, (27 + 64 + 1728) ** (1 / 3), 12, NaN]);
    const sum = new Float64Array(1);
    R.sumF64(Float32Array.of(16777216, 1, 1), sum, 0);
    expect(sum[0]).toBe(16777218); // in float32 the ones would be lost
  });
});
