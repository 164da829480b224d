import { beforeAll, describe, expect, it } from 'vitest';
import { createNativeBackend } from '../../src/backend/native/index.js';
import { referenceBackend } from '../../src/backend/reference.js';
import type { GemmArgs } from '../../src/backend/types.js';
import { candidates, describeMismatch, firstMismatch, randomArray, type Candidate } from './helpers.js';

/** C (+)= op(A)·op(B) in float64 with the stored layouts of the kernel interface. */
function naiveGemm(args: GemmArgs): void {
  const { transA, transB, m, n, k, a, aOffset, b, bOffset, c, cOffset, accumulate } = args;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        s += a[aOffset + (transA ? p * m + i : i * k + p)]! * b[bOffset + (transB ? j * k + p : p * n + j)]!;
      }
      const ci = cOffset + i * n + j;
      c[ci] = (accumulate ? c[ci]! : 0) + s;
    }
  }
}

function check(cand: Candidate, m: number, n: number, k: number, transA: boolean, transB: boolean, accumulate: boolean, pad = 0): void {
  const seed = m * 10007 + n * 101 + k + (transA ? 1 : 0) * 7 + (transB ? 1 : 0) * 13;
  const a = randomArray(pad + m * k + pad, seed);
  const b = randomArray(pad + k * n + pad, seed + 1);
  const c0 = randomArray(pad + m * n + pad, seed + 2);
  const want = c0.slice();
  const got = c0.slice();
  const base = { transA, transB, m, n, k, a, aOffset: pad, b, bOffset: pad, cOffset: pad, accumulate };
  naiveGemm({ ...base, c: want });
  cand.backend.gemm({ ...base, c: got });
  const i = firstMismatch(got, want, 1e-5, 2e-6 * (k + 1));
  expect(i, `${cand.label} ${m}×${n}×${k} tA=${transA} tB=${transB} acc=${accumulate} pad=${pad}: ${describeMismatch(got, want, i)}`).toBe(-1);
}

const all = await candidates();
const layouts = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
] as const;

describe.each(all.map((c) => [c.label, c] as const))('gemm on %s', (_label, cand) => {
  beforeAll(() => {
    // warm-up: starts workers / tiers up the wasm before the timed-out tests run
    check(cand, 8, 8, 8, false, false, false);
  });

  it('matches the naive loops for odd sizes 1..70 in all four layouts', () => {
    const sizes = [1, 2, 3, 5, 6, 7, 8, 9, 12, 13, 16, 17, 31, 33, 47, 64, 65, 70];
    for (const [transA, transB] of layouts) {
      for (let t = 0; t < sizes.length; t++) {
        const m = sizes[t]!;
        const n = sizes[(t * 7 + 3) % sizes.length]!;
        const k = sizes[(t * 5 + 1) % sizes.length]!;
        check(cand, m, n, k, transA, transB, false);
        check(cand, m, n, k, transA, transB, true);
      }
    }
  });

  it('handles every m, n in 1..20 against a fixed k', () => {
    for (let m = 1; m <= 20; m++) for (let n = 1; n <= 20; n++) check(cand, m, n, 9, (m + n) % 2 === 0, n % 3 === 0, m % 2 === 0);
  });

  it('honours offsets and leaves the rest of C untouched', () => {
    for (const [transA, transB] of layouts) check(cand, 13, 21, 17, transA, transB, true, 5);
  });

  it('splits large products across threads (columns and rows) correctly', () => {
    for (const [transA, transB] of layouts) {
      check(cand, 130, 200, 300, transA, transB, false);
      check(cand, 300, 20, 260, transA, transB, true); // narrow C: split by rows
      check(cand, 7, 530, 70, transA, transB, false); // wide C, few rows
    }
  });

  it('crosses the k and column blocking boundaries', () => {
    check(cand, 37, 1100, 600, false, false, false);
    check(cand, 37, 1100, 600, true, true, true);
  });

  it('crosses the shared packed-B column blocks of the native threaded path (long k)', () => {
    // Native packs op(B) for all of k at once, in column blocks of at most 4M floats / k. A naive
    // check of this size takes seconds, so compare with the one-thread path (tested above).
    const single = createNativeBackend({ threads: 1 });
    if (!cand.label.startsWith('native') || !single) return;
    const [m, n, k] = [97, 900, 4700];
    const a = randomArray(k * m, 1);
    const b = randomArray(k * n, 2);
    const got = randomArray(m * n, 3);
    const want = got.slice();
    const base = { transA: true, transB: false, m, n, k, a, aOffset: 0, b, bOffset: 0, cOffset: 0, accumulate: true };
    cand.backend.gemm({ ...base, c: got });
    single.gemm({ ...base, c: want });
    expect(firstMismatch(got, want, 1e-5, 1e-4)).toBe(-1);
  });

  it('adds a bias and applies relu as its epilogue, with the values of fill + accumulate + relu', () => {
    // The fused epilogue (native: inside each thread's block of C) must give exactly what the
    // separate steps give on the same backend, and those the float64 product.
    const shapes: [number, number, number][] = [[1, 1, 1], [5, 17, 9], [13, 33, 70], [128, 256, 784], [130, 200, 300], [300, 20, 260], [7, 530, 70], [37, 1100, 600]];
    for (const [m, n, k] of shapes) {
      for (const [transA, transB] of layouts) {
        // (The float64 check and the offsets only on the smaller products: naive loops are slow.)
        const small = m * n * k <= 1e6;
        for (const pad of small ? [0, 3] : [0]) {
          const seed = m * 31 + n * 7 + k + (transA ? 5 : 0) + (transB ? 11 : 0) + pad;
          const a = randomArray(pad + m * k, seed);
          const b = randomArray(pad + k * n, seed + 1);
          const bias = randomArray(n + 2, seed + 2);
          const base = { transA, transB, m, n, k, a, aOffset: pad, b, bOffset: pad, cOffset: pad };
          for (const withBias of [true, false]) {
            for (const relu of [true, false]) {
              if (!withBias && !relu) continue;
              const got = randomArray(pad + m * n + pad, seed + 3);
              const steps = got.slice();
              cand.backend.gemm({ ...base, c: got, accumulate: false, bias: withBias ? bias : null, relu });
              if (withBias) for (let i = 0; i < m; i++) steps.set(bias.subarray(0, n), pad + i * n);
              cand.backend.gemm({ ...base, c: steps, accumulate: withBias });
              if (relu) referenceBackend.unary('relu', steps.subarray(pad, pad + m * n), steps.subarray(pad, pad + m * n));
              const what = `${cand.label} ${m}×${n}×${k} tA=${transA} tB=${transB} pad=${pad} bias=${withBias} relu=${relu}`;
              const i = firstMismatch(got, steps, 0, 0);
              expect(i, `${what} vs fill + accumulate + relu: ${describeMismatch(got, steps, i)}`).toBe(-1);
              if (!small) continue;
              const want = randomArray(pad + m * n + pad, seed + 3);
              if (withBias) for (let r = 0; r < m; r++) want.set(bias.subarray(0, n), pad + r * n);
              naiveGemm({ ...base, c: want, accumulate: withBias });
              if (relu) for (let e = pad; e < pad + m * n; e++) want[e] = Math.max(want[e]!, 0);
              const j = firstMismatch(got, want, 1e-5, 2e-6 * (k + 1));
              expect(j, `${what} vs float64: ${describeMismatch(got, want, j)}`).toBe(-1);
            }
          }
        }
      }
    }
  });

  it('keeps NaN and turns −0 into +0 in the relu epilogue, as the relu kernel', () => {
    const bias = Float32Array.from([-0, NaN, -1, 2, 0, -Infinity, Infinity]);
    const n = bias.length;
    for (const k of [0, 3]) {
      // With k = 3 the product adds exact zeros, which keep each bias as it is except −0 (−0 + 0 = +0).
      const a = new Float32Array(2 * k);
      const b = new Float32Array(k * n);
      const c = randomArray(2 * n, 9);
      cand.backend.gemm({ transA: false, transB: false, m: 2, n, k, a, aOffset: 0, b, bOffset: 0, c, cOffset: 0, accumulate: false, bias, relu: true });
      for (let r = 0; r < 2; r++) {
        const row = Array.from(c.subarray(r * n, (r + 1) * n));
        expect(row.map((v) => (Object.is(v, -0) ? '-0' : String(v))), `${cand.label} k=${k}`).toEqual(['0', 'NaN', '0', '2', '0', '0', 'Infinity']);
      }
    }
  });

  it('gemmBatched gives every item exactly what gemm gives it', () => {
    const gemmBatched = cand.attempt('gemmBatched');
    if (!gemmBatched) return;
    // [m, n, k, items]: a convolution's per-sample products (many small items, shared out whole
    // among the threads), a few large items (each split by gemm itself), single items, k = 0.
    const cases: [number, number, number, number][] = [[72, 196, 16, 128], [16, 72, 196, 37], [8, 9, 784, 20], [3, 5, 7, 9], [130, 200, 300, 3], [5, 7, 3, 1], [6, 4, 0, 5]];
    for (const [m, n, k, count] of cases) {
      for (const [transA, transB] of layouts) {
        for (const broadcastA of [false, true]) {
          for (const accumulate of [false, true]) {
            const reversed = accumulate; // (both orders of B, without doubling the cases)
            const seed = m * 13 + n * 5 + k + count + (transA ? 3 : 0) + (transB ? 7 : 0) + (broadcastA ? 11 : 0);
            const pad = 2;
            // A shared by every item (a broadcast weight) or one per item; B one per item, 3 floats
            // apart, in order or in reverse order (a backend may decline the reverse order).
            const a = randomArray(pad + (broadcastA ? 1 : count) * m * k, seed);
            const b = randomArray(pad + count * (k * n + 3), seed + 1);
            const aOffsets = Int32Array.from({ length: count }, (_, i) => pad + (broadcastA ? 0 : i * m * k));
            const bOffsets = Int32Array.from({ length: count }, (_, i) => pad + (reversed ? count - 1 - i : i) * (k * n + 3));
            const got = randomArray(3 + count * m * n + 3, seed + 2);
            const want = got.slice();
            const g = { transA, transB, m, n, k, a, aOffset: 0, b, bOffset: 0, c: got, cOffset: 3, accumulate };
            const what = `${cand.label} ${count} × ${m}×${n}×${k} tA=${transA} tB=${transB} broadcastA=${broadcastA} acc=${accumulate}`;
            const took = gemmBatched(g, aOffsets, bOffsets);
            expect(took, what).toBe(true);
            for (let i = 0; i < count; i++) cand.backend.gemm({ ...g, aOffset: aOffsets[i]!, bOffset: bOffsets[i]!, c: want, cOffset: 3 + i * m * n });
            const i = firstMismatch(got, want, 0, 0);
            expect(i, `${what}: ${describeMismatch(got, want, i)}`).toBe(-1);
          }
        }
      }
    }
    // It declines an epilogue, and the caller loops over gemm.
    const c = new Float32Array(4);
    const g = { transA: false, transB: false, m: 2, n: 2, k: 1, a: new Float32Array(2), aOffset: 0, b: new Float32Array(2), bOffset: 0, c, cOffset: 0, accumulate: false, bias: new Float32Array(2) };
    expect(gemmBatched(g, new Int32Array(1), new Int32Array(1))).toBe(false);
  });

  it('treats k = 0 as an empty sum', () => {
    check(cand, 5, 7, 0, false, false, false);
    check(cand, 5, 7, 0, true, true, true);
  });

  it('delegates float64 to the fallback', () => {
    const a = Float64Array.from(randomArray(12, 3));
    const b = Float64Array.from(randomArray(12, 4));
    const got = new Float64Array(9);
    const want = new Float64Array(9);
    const base = { transA: false, transB: true, m: 3, n: 3, k: 4, a, aOffset: 0, b, bOffset: 0, cOffset: 0, accumulate: false };
    cand.backend.gemm({ ...base, c: got });
    naiveGemm({ ...base, c: want });
    expect(firstMismatch(got, want, 1e-12, 1e-12)).toBe(-1);
  });
});
