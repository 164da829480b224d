import { describe, expect, it } from 'vitest';
import { referenceBackend } from '../../src/backend/reference.js';
import type { BinaryKernel, CompareKernel, UnaryKernel } from '../../src/backend/types.js';
import { candidates, describeMismatch, firstMismatch, randomArray } from './helpers.js';

const f = Math.fround;

const UNARY: Partial<Record<UnaryKernel, (x: number) => number>> = {
  neg: (x) => -x,
  exp: Math.exp,
  sqrt: Math.sqrt,
  abs: Math.abs,
  tanh: Math.tanh,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  relu: (x) => (x > 0 ? x : Number.isNaN(x) ? x : 0),
  square: (x) => x * x,
  expm1: Math.expm1,
  reciprocal: (x) => 1 / x,
  log: Math.log, // not a fast kernel: must reach the fallback
};

const BINARY: Record<BinaryKernel, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  maximum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b)),
  minimum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b)),
  pow: Math.pow, // not a fast kernel: must reach the fallback
  // activation backward formulas, a = upstream gradient, b = saved output
  reluGrad: (g, y) => (y > 0 ? g : 0),
  sigmoidGrad: (g, y) => g * (y * (1 - y)),
  tanhGrad: (g, y) => g * (1 - y * y),
};

/** Row-major strides of `shape` for an operand of shape `own` broadcast to it (0 on broadcast dims). */
function broadcastStrides(own: readonly number[], shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length).fill(0);
  let s = 1;
  for (let d = own.length - 1; d >= 0; d--) {
    const od = shape.length - own.length + d;
    strides[od] = own[d] === 1 ? 0 : s;
    s *= own[d]!;
  }
  return strides;
}

function naiveBinary(fn: (a: number, b: number) => number, a: Float32Array, as: number[], b: Float32Array, bs: number[], shape: number[]): Float32Array {
  const total = shape.reduce((x, y) => x * y, 1);
  const out = new Float32Array(total);
  for (let o = 0; o < total; o++) {
    let rem = o;
    let ia = 0;
    let ib = 0;
    for (let d = shape.length - 1; d >= 0; d--) {
      const i = rem % shape[d]!;
      rem = Math.floor(rem / shape[d]!);
      ia += i * as[d]!;
      ib += i * bs[d]!;
    }
    out[o] = fn(a[ia]!, b[ib]!);
  }
  return out;
}

const SPECIALS = [0, -0, 1, -1, 0.5, 1e-3, -1e-3, 1e-7, -1e-7, 20, -20, 88, 88.7, 89, -87, -100, -104, -110, 1e-30,
  Infinity, -Infinity, NaN];

function inputs(n: number, seed: number): Float32Array {
  const x = randomArray(n, seed, 12);
  for (let i = 0; i < Math.min(n, SPECIALS.length); i++) x[(i * 7919) % n] = SPECIALS[i]!;
  return x;
}

const all = await candidates();

describe.each(all.map((c) => [c.label, c] as const))('elementwise on %s', (_label, cand) => {
  it('unary ops match Math on float32 inputs, incl. tails, chunks and specials', () => {
    for (const [op, fn] of Object.entries(UNARY) as [UnaryKernel, (x: number) => number][]) {
      for (const n of [1, 2, 3, 4, 5, 7, 8, 13, 64, 70, 1000, 70001]) {
        const x = inputs(n, n + op.length);
        if (op === 'sqrt') for (let i = 0; i < n; i += 3) x[i] = Math.abs(x[i]!);
        const want = Float32Array.from(x, (v) => fn(v));
        const got = new Float32Array(n).fill(NaN); // kernels must write every element (outputs are not zero-filled)
        cand.backend.unary(op, x, got);
        const i = firstMismatch(got, want, 4e-6, 1e-30);
        expect(i, `${op} n=${n} x=${x[i]}: ${describeMismatch(got, want, i)}`).toBe(-1);
      }
    }
  });

  it('unary may write in place and delegates float64', () => {
    const x = randomArray(100, 5, 3);
    const want = Float32Array.from(x, (v) => Math.exp(v));
    cand.backend.unary('exp', x, x);
    expect(firstMismatch(x, want, 4e-6, 0)).toBe(-1);
    const d = Float64Array.from(randomArray(50, 6));
    const out = new Float64Array(50);
    cand.backend.unary('tanh', d, out);
    expect(firstMismatch(out, d.map(Math.tanh), 1e-15, 0)).toBe(-1);
  });

  const shapes: [number[], number[], number[]][] = [
    [[70], [70], [70]],
    [[3, 5], [3, 5], [3, 5]],
    [[4097], [4097], [4097]],
    [[70001], [70001], [70001]],
    [[6, 37], [6, 37], [37]], // row-vector (bias) broadcast
    [[6, 37], [6, 37], [6, 1]], // column broadcast
    [[6, 37], [1], [6, 37]], // scalar on the left
    [[129, 33], [129, 33], [1, 1]], // scalar on the right
    [[5, 9, 13], [5, 9, 13], [9, 1]],
    [[5, 9, 13], [5, 1, 13], [1, 9, 13]],
    [[2, 3, 4, 5], [2, 1, 4, 1], [3, 1, 5]],
    [[7, 1, 3], [7, 1, 3], [1, 1, 3]],
    [[1], [1], [1]],
    [[], [], []],
  ];

  it('binary ops match naive loops with broadcasting strides', () => {
    for (const [op, fn] of Object.entries(BINARY) as [BinaryKernel, (a: number, b: number) => number][]) {
      for (const [shape, sa, sb] of shapes) {
        const an = sa.reduce((x, y) => x * y, 1);
        const bn = sb.reduce((x, y) => x * y, 1);
        const a = inputs(an, an + 3);
        const b = inputs(bn, bn + 11);
        const as = broadcastStrides(sa, shape);
        const bs = broadcastStrides(sb, shape);
        const want = naiveBinary((x, y) => f(fn(x, y)), a, as, b, bs, shape);
        const got = new Float32Array(want.length).fill(NaN); // every element must be written
        cand.backend.binary(op, a, as, b, bs, got, shape);
        if (op === 'sigmoidGrad' || op === 'tanhGrad') {
          // Three float32 operations in the SIMD kernels (one rounding in the naive loop), and
          // 1 − y·y / 1 − y cancel: bound the error by the size of the terms, not the result.
          const scale = naiveBinary((g, y) => Math.abs(g) * (op === 'tanhGrad' ? 1 + y * y : Math.abs(y) * (1 + Math.abs(y))), a, as, b, bs, shape);
          for (let k = 0; k < want.length; k++) {
            const ok = Object.is(got[k], want[k]) || Math.abs(got[k]! - want[k]!) <= 4 * 2 ** -24 * scale[k]! || (Number.isNaN(got[k]) && Number.isNaN(want[k]));
            expect(ok, `${op} ${JSON.stringify([shape, sa, sb])} at ${k}: got ${got[k]}, want ${want[k]}`).toBe(true);
          }
          continue;
        }
        const i = firstMismatch(got, want, 2e-7, 1e-30);
        expect(i, `${op} ${JSON.stringify([shape, sa, sb])}: ${describeMismatch(got, want, i)}`).toBe(-1);
      }
    }
  });

  it('binary handles a transposed (non-unit inner stride) operand through the fallback', () => {
    const a = randomArray(12, 1);
    const b = randomArray(12, 2);
    const shape = [3, 4];
    const as = [1, 3]; // a is a 4×3 array read transposed
    const bs = [4, 1];
    const want = naiveBinary((x, y) => f(x * y), a, as, b, bs, shape);
    const got = new Float32Array(12);
    cand.backend.binary('mul', a, as, b, bs, got, shape);
    expect(firstMismatch(got, want, 0, 0)).toBe(-1);
  });

  it('sum-reduce matches float64 sums over [outer, size, inner]', () => {
    const cases = [[1, 1, 1], [1, 1000, 1], [3, 7, 5], [2, 100003, 1], [4, 33, 17], [1, 5, 4096], [3, 0, 2], [6, 2, 1]];
    for (const [outer, size, inner] of cases as [number, number, number][]) {
      const x = randomArray(outer * size * inner, size + inner);
      const want = new Float32Array(outer * inner);
      for (let o = 0; o < outer; o++) {
        for (let j = 0; j < inner; j++) {
          let s = 0;
          for (let r = 0; r < size; r++) s += x[(o * size + r) * inner + j]!;
          want[o * inner + j] = s;
        }
      }
      const got = new Float32Array(outer * inner).fill(NaN);
      cand.backend.reduce('sum', x, outer, size, inner, got);
      const i = firstMismatch(got, want, 1e-6, 1e-6);
      expect(i, `sum ${[outer, size, inner]}: ${describeMismatch(got, want, i)}`).toBe(-1);
    }
  });

  it('compare ops match JavaScript comparisons with broadcasting strides, NaN and ±0 included', () => {
    const COMPARE: Record<CompareKernel, (a: number, b: number) => boolean> = {
      gt: (a, b) => a > b, ge: (a, b) => a >= b, lt: (a, b) => a < b, le: (a, b) => a <= b, eq: (a, b) => a === b, ne: (a, b) => a !== b,
    };
    // Max-pooling's backward compares [n, c, k, L] windows with [n, c, 1, L] maxima, and x with itself (NaN test).
    const cmpShapes: [number[], number[], number[]][] = [...shapes, [[4, 3, 9, 50], [4, 3, 9, 50], [4, 3, 1, 50]], [[2, 3, 4, 5], [2, 3, 4, 5], [2, 3, 4, 5]]];
    for (const [op, fn] of Object.entries(COMPARE) as [CompareKernel, (a: number, b: number) => boolean][]) {
      for (const [shape, sa, sb] of cmpShapes) {
        const an = sa.reduce((x, y) => x * y, 1);
        const bn = sb.reduce((x, y) => x * y, 1);
        const a = inputs(an, an + 5);
        const b = inputs(bn, bn + 13);
        for (let i = 0; i < Math.min(an, bn); i += 4) b[i] = a[i]!; // equal pairs (NaN = NaN among them)
        const as = broadcastStrides(sa, shape);
        const bs = broadcastStrides(sb, shape);
        const want = naiveBinary((x, y) => (fn(x, y) ? 1 : 0), a, as, b, bs, shape);
        const got = new Uint8Array(want.length).fill(7); // every element must be written
        cand.backend.compare(op, a, as, b, bs, got, shape);
        const k = want.findIndex((w, i) => got[i] !== w);
        expect(k, `${op} ${JSON.stringify([shape, sa, sb])} at ${k}: got ${got[k]}, want ${want[k]}`).toBe(-1);
      }
    }
    const c = new Uint8Array(3);
    cand.backend.compare('gt', Float64Array.of(1, 2, 3), [1], Float64Array.of(2), [0], c, [3]); // float64: the fallback
    expect(Array.from(c)).toEqual([0, 0, 1]);
  });

  it('max- and min-reduce match the reference over [outer, size, inner], NaN and ±0 included', () => {
    const cases = [[1, 1, 1], [1, 1000, 1], [3, 7, 5], [4, 33, 17], [1, 5, 4096], [6, 2, 1], [512, 4, 196]];
    for (const op of ['max', 'min'] as const) {
      for (const [outer, size, inner] of cases as [number, number, number][]) {
        const x = inputs(outer * size * inner, size * 3 + inner);
        if (x.length > 40) x[40] = NaN; // one NaN in a row that has others (it must win)
        const want = new Float32Array(outer * inner);
        referenceBackend.reduce(op, x, outer, size, inner, want);
        const got = new Float32Array(outer * inner).fill(42);
        cand.backend.reduce(op, x, outer, size, inner, got);
        const k = Array.from(want).findIndex((w, i) => !Object.is(got[i], w));
        expect(k, `${op} ${[outer, size, inner]} at ${k}: got ${got[k]}, want ${want[k]}`).toBe(-1);
      }
    }
    // The first of equal extremes is kept: max(−0, +0) is −0, as the reference.
    const z = new Float32Array(1);
    cand.backend.reduce('max', Float32Array.of(-0, 0), 1, 2, 1, z);
    expect(Object.is(z[0], -0)).toBe(true);
  });
});
