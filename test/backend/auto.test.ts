import { describe, expect, it } from 'vitest';
import { backendName, ready } from '../../src/index.js';
import { createNativeBackend, loadAddon } from '../../src/backend/native/index.js';
import { getKernel } from '../../src/backend/registry.js';
import type { AdamArgs, Backend, GemmArgs } from '../../src/backend/types.js';
import { createWasmBackend } from '../../src/backend/wasm/index.js';

function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

function product(b: Backend, transA: boolean, transB: boolean, m: number, n: number, k: number): Float32Array {
  const c = new Float32Array(m * n);
  const args: GemmArgs = {
    transA, transB, m, n, k, a: rand(m * k, 1), aOffset: 0, b: rand(k * n, 2), bOffset: 0, c, cOffset: 0, accumulate: false,
  };
  b.gemm(args);
  return c;
}

// Shapes past the two-thread thresholds, split by columns (wide) and by rows (narrow), with edge tiles.
const SHAPES: [boolean, boolean, number, number, number][] = [
  [false, false, 203, 301, 97], [false, true, 130, 257, 300], [true, false, 611, 8, 515], [true, true, 97, 140, 260],
];

describe('automatic backend selection', () => {
  it('picks the backend at import: the forced one, else native where built, else wasm', () => {
    const forced = process.env.CHAINRULE_BACKEND;
    const want = forced ?? (process.env.CHAINRULE_NATIVE !== '0' && loadAddon() ? 'native' : 'wasm');
    expect(backendName().startsWith(want)).toBe(true);
  });

  it('ready() keeps the backend already chosen and returns its name', async () => {
    const before = backendName();
    expect(await ready()).toBe(before);
    expect(backendName()).toBe(before);
  });
});

describe('results do not depend on the thread count (threads may join after start-up)', () => {
  it('wasm: one thread and two give bit-identical products', async () => {
    const one = await createWasmBackend({ threads: 1 });
    const two = await createWasmBackend({ threads: 2 });
    for (const [ta, tb, m, n, k] of SHAPES) expect(product(two, ta, tb, m, n, k)).toEqual(product(one, ta, tb, m, n, k));
  });

  it.skipIf(!loadAddon() || process.env.CHAINRULE_NATIVE === '0')('native: one thread and two give bit-identical products', () => {
    const one = createNativeBackend({ threads: 1 })!;
    const two = createNativeBackend({ threads: 2 })!;
    for (const [ta, tb, m, n, k] of SHAPES) expect(product(two, ta, tb, m, n, k)).toEqual(product(one, ta, tb, m, n, k));
  });
});

/** PyTorch 1.13's single-tensor Adam, in float64. */
function adamReference(s: AdamArgs): Float64Array[] {
  const x = Float64Array.from(s.param);
  const m = Float64Array.from(s.expAvg);
  const v = Float64Array.from(s.expAvgSq);
  for (let i = 0; i < x.length; i++) {
    const d = s.sign * s.grad[i]! + s.l2 * x[i]!;
    x[i]! *= s.shrink;
    m[i] = m[i]! * s.beta1 + (1 - s.beta1) * d;
    v[i] = v[i]! * s.beta2 + (1 - s.beta2) * d * d;
    x[i]! += (s.negStepSize * m[i]!) / (Math.sqrt(v[i]!) / s.bias2Sqrt + s.eps);
  }
  return [x, m, v];
}

describe('fused Adam step kernel', () => {
  const variants: [string, Partial<AdamArgs>][] = [
    ['Adam', {}], ['Adam + weight decay, maximize', { l2: 0.1, sign: -1 }], ['AdamW', { shrink: 1 - 1e-3 * 0.01 }],
  ];
  it.each(variants)('%s matches the float64 formula on every fast backend', async (_, extra) => {
    const fast: Backend[] = [await createWasmBackend()];
    const native = createNativeBackend();
    if (native) fast.push(native);
    for (const b of fast) {
      const n = 1027; // SIMD body and a tail
      const args: AdamArgs = {
        param: rand(n, 3), grad: rand(n, 4), expAvg: rand(n, 5).map((v) => v * 0.1), expAvgSq: rand(n, 6).map((v) => v * v),
        maxExpAvgSq: null, beta1: 0.9, beta2: 0.999, eps: 1e-8, negStepSize: -1e-3 / (1 - 0.9 ** 3),
        bias2Sqrt: Math.sqrt(1 - 0.999 ** 3), l2: 0, shrink: 1, sign: 1, ...extra,
      };
      const want = adamReference(args);
      expect(getKernel('adamStep', b.name)!.fn(args), b.name).not.toBe(false); // the fast kernel took it
      [args.param, args.expAvg, args.expAvgSq].forEach((got, j) => {
        for (let i = 0; i < n; i++) expect(Math.abs(got[i]! - want[j]![i]!)).toBeLessThanOrEqual(1e-6 + 1e-5 * Math.abs(want[j]![i]!));
      });
    }
  });

  it('declines float64 parameters, so the reference loop runs', async () => {
    const w = await createWasmBackend();
    const z = new Float64Array(8);
    const args: AdamArgs = {
      param: z, grad: z, expAvg: z, expAvgSq: z, maxExpAvgSq: null, beta1: 0.9, beta2: 0.999, eps: 1e-8,
      negStepSize: -1e-3, bias2Sqrt: 1, l2: 0, shrink: 1, sign: 1,
    };
    expect(getKernel('adamStep', w.name)!.fn(args)).toBe(false);
    const native = createNativeBackend();
    if (native) expect(getKernel('adamStep', native.name)!.fn(args)).toBe(false);
  });
});
