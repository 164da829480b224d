import { describe, expect, it } from 'vitest';
import { createNativeBackend, loadAddon } from '../../src/backend/native/index.js';
import { referenceBackend } from '../../src/backend/reference.js';
import type { Backend, GemmArgs } from '../../src/backend/types.js';
import { describeMismatch, firstMismatch, randomArray } from './helpers.js';

/**
 * The native GEMM's tile edges, thread splits and packing choices: every m, n, k from a set of
 * sizes around its tiles (1, 7, 10, 13 rows/columns; 127..129; 784 = the MLP's input) in all
 * four layouts, against float64 loops where that is quick, and bit-for-bit between one and two
 * threads everywhere (a C element is always summed in the same order).
 */

const addon = loadAddon();
const SIZES = [1, 7, 10, 13, 127, 128, 129, 784];
const LAYOUTS = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
] as const;

function naiveGemm(args: GemmArgs): void {
  const { transA, transB, m, n, k, a, aOffset, b, bOffset, c, cOffset, accumulate } = args;
  const row = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    row.fill(0);
    for (let p = 0; p < k; p++) {
      const av = a[aOffset + (transA ? p * m + i : i * k + p)]!;
      if (transB) for (let j = 0; j < n; j++) row[j] += av * b[bOffset + j * k + p]!;
      else for (let j = 0; j < n; j++) row[j] += av * b[bOffset + p * n + j]!;
    }
    for (let j = 0; j < n; j++) {
      const ci = cOffset + i * n + j;
      c[ci] = (accumulate ? c[ci]! : 0) + row[j]!;
    }
  }
}

interface Case {
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  accumulate: boolean;
  pad: number;
}

function inputs({ m, n, k, transA, transB, pad }: Case) {
  const seed = m * 7919 + n * 131 + k * 3 + (transA ? 1 : 0) + (transB ? 2 : 0);
  return {
    a: randomArray(pad + m * k + pad, seed),
    b: randomArray(pad + k * n + pad, seed + 1),
    c: randomArray(pad + m * n + pad, seed + 2),
  };
}

function run(backend: Backend, cs: Case, c: Float32Array, a: Float32Array, b: Float32Array): void {
  const { m, n, k, transA, transB, accumulate, pad } = cs;
  backend.gemm({ transA, transB, m, n, k, a, aOffset: pad, b, bOffset: pad, c, cOffset: pad, accumulate });
}

function label(cs: Case): string {
  return `${cs.m}×${cs.n}×${cs.k} tA=${cs.transA} tB=${cs.transB} acc=${cs.accumulate} pad=${cs.pad}`;
}

function* allCases(): Generator<Case> {
  let t = 0;
  for (const m of SIZES)
    for (const n of SIZES)
      for (const k of SIZES)
        for (const [transA, transB] of LAYOUTS) {
          t++;
          yield { m, n, k, transA, transB, accumulate: t % 2 === 0, pad: t % 3 === 0 ? 3 : 0 };
        }
}

// Without the addon (CHAINRULE_NATIVE=0, no compiler) one skipped suite is registered: an
// empty file would be an error.
const isas = addon ? ['avx512', 'avx2', 'generic'].filter((isa, i, all) => i >= all.indexOf(addon.info().bestIsa)) : ['(no addon)'];

describe.skipIf(!addon).each(isas)('native gemm shapes on %s', (isa) => {
  const one = addon ? createNativeBackend({ threads: 1 })! : null;
  const two = addon ? createNativeBackend({ threads: 2 })! : null;

  it('matches float64 loops at every tile edge (m·n·k up to ~1.2M)', () => {
    addon!.setIsa(isa);
    for (const cs of allCases()) {
      if (cs.m * cs.n * cs.k > 1.25e6) continue;
      const { a, b, c } = inputs(cs);
      const want = c.slice();
      naiveGemm({ ...cs, a, aOffset: cs.pad, b, bOffset: cs.pad, c: want, cOffset: cs.pad });
      const got = c.slice();
      run(two!, cs, got, a, b);
      const i = firstMismatch(got, want, 1e-5, 2e-6 * (cs.k + 1));
      expect(i, `${isa} ${label(cs)}: ${describeMismatch(got, want, i)}`).toBe(-1);
    }
  });

  it('gives bit-identical results on one and two threads, for every shape', () => {
    addon!.setIsa(isa);
    for (const cs of allCases()) {
      if (isa !== 'avx512' && cs.m * cs.n * cs.k > 2e7) continue; // the slow kernels: keep it quick
      const { a, b, c } = inputs(cs);
      const got1 = c.slice();
      const got2 = c.slice();
      run(one!, cs, got1, a, b);
      run(two!, cs, got2, a, b);
      let diff = -1;
      for (let i = 0; i < got1.length && diff < 0; i++) if (!Object.is(got1[i], got2[i])) diff = i;
      expect(diff, `${isa} ${label(cs)}: ${describeMismatch(got2, got1, diff)}`).toBe(-1);
    }
  });

  it('matches float64 loops at the MLP training shapes', () => {
    addon!.setIsa(isa);
    const shapes: [number, number, number, boolean, boolean][] = [
      [128, 256, 784, false, true], // x·W1ᵀ
      [256, 784, 128, true, false], // gᵀ·x
      [128, 128, 256, false, true],
      [128, 256, 128, true, false],
      [128, 256, 128, false, false],
      [128, 10, 128, false, true],
      [10, 128, 128, true, false],
      [128, 128, 10, false, false],
      [64, 784, 200, true, true],
    ];
    for (const [m, n, k, transA, transB] of shapes) {
      for (const accumulate of [false, true]) {
        const cs = { m, n, k, transA, transB, accumulate, pad: accumulate ? 5 : 0 };
        const { a, b, c } = inputs(cs);
        const want = c.slice();
        naiveGemm({ ...cs, a, aOffset: cs.pad, b, bOffset: cs.pad, c: want, cOffset: cs.pad });
        for (const backend of [one!, two!]) {
          const got = c.slice();
          run(backend, cs, got, a, b);
          const i = firstMismatch(got, want, 1e-5, 2e-6 * (k + 1));
          expect(i, `${isa} ${label(cs)}: ${describeMismatch(got, want, i)}`).toBe(-1);
        }
      }
    }
  });

  it('leaves C outside the product untouched', () => {
    addon!.setIsa(isa);
    for (const [transA, transB] of LAYOUTS) {
      const cs = { m: 129, n: 10, k: 13, transA, transB, accumulate: false, pad: 7 };
      const { a, b, c } = inputs(cs);
      const got = c.slice();
      run(two!, cs, got, a, b);
      expect(Array.from(got.subarray(0, 7))).toEqual(Array.from(c.subarray(0, 7)));
      expect(Array.from(got.subarray(7 + 129 * 10))).toEqual(Array.from(c.subarray(7 + 129 * 10)));
    }
  });
});
