import { describe, expect, it } from 'vitest';
import { backendTable, fusedKernel, kernel, useBackend, currentBackend } from '../../src/backend/dispatch.js';
import { env } from '../../src/backend/env.js';
import { referenceBackend } from '../../src/backend/reference.js';
import { getKernel, registerKernel, registeredKernels } from '../../src/backend/registry.js';
import { GATHER_ROWS_MIN, TINY, minWork } from '../../src/backend/thresholds.js';
import type { AdamArgs, BinaryKernel, CompareKernel, FloatArray, KernelName, Kernels, ReduceKernel, UnaryKernel, WindowArgs } from '../../src/backend/types.js';
import { candidates, firstMismatch, randomArray } from './helpers.js';
import { backendName, setBackend, Tensor } from '../../src/index.js';

/**
 * One case per kernel of the registry: it calls the kernel it is given on fixed inputs (fresh on
 * every call) and returns what the kernel wrote. Every kernel a fast backend registers is run
 * through its case and compared with the reference kernel's output, so a kernel registered
 * tomorrow is tested without a line here, and a kernel added to `Kernels` without a case does not
 * compile. `tol` is [rtol, atol]; [0, 0] means bit for bit.
 */
interface Case<K extends KernelName> {
  tol: [number, number];
  run(fn: Kernels[K]): ArrayLike<number>[];
}

const UNARY_OPS: UnaryKernel[] = ['neg', 'exp', 'log', 'sqrt', 'abs', 'sin', 'cos', 'tanh', 'sigmoid', 'relu', 'erf', 'log1p', 'expm1',
  'sign', 'reciprocal', 'square', 'floor', 'ceil', 'round'];
const BINARY_OPS: BinaryKernel[] = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'reluGrad', 'sigmoidGrad', 'tanhGrad'];
const COMPARE_OPS: CompareKernel[] = ['gt', 'ge', 'lt', 'le', 'eq', 'ne'];
const REDUCE_OPS: ReduceKernel[] = ['sum', 'max', 'min', 'prod'];
const conv3: WindowArgs = { kernel: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1] };
const odd: WindowArgs = { kernel: [3, 2], stride: [2, 1], padding: [1, 1], dilation: [1, 2] };
const geometries: [number, number, number, WindowArgs][] = [[6, 11, 13, conv3], [3, 12, 9, odd]];

function outSize(h: number, w: number, g: WindowArgs): [number, number] {
  const o = (n: number, i: 0 | 1) => Math.floor((n + 2 * g.padding[i]! - g.dilation[i]! * (g.kernel[i]! - 1) - 1) / g.stride[i]!) + 1;
  return [o(h, 0), o(w, 1)];
}

function gemmArgs(transA: boolean, transB: boolean, m: number, n: number, k: number, seed: number) {
  return { transA, transB, m, n, k, a: randomArray(m * k + 3, seed), aOffset: 3, b: randomArray(k * n + 2, seed + 1), bOffset: 2, cOffset: 1 };
}

function adamArgs(n: number, extra: Partial<AdamArgs>): AdamArgs {
  return {
    param: randomArray(n, 3), grad: randomArray(n, 4), expAvg: randomArray(n, 5, 0.1), expAvgSq: randomArray(n, 6).map((v) => v * v),
    maxExpAvgSq: null, beta1: 0.9, beta2: 0.999, eps: 1e-8, negStepSize: -1e-3 / (1 - 0.9 ** 3), bias2Sqrt: Math.sqrt(1 - 0.999 ** 3),
    l2: 0, shrink: 1, sign: 1, ...extra,
  };
}

const CASES: { [K in KernelName]: Case<K> } = {
  gemm: {
    tol: [1e-5, 1e-5],
    run: (gemm) => [[false, false], [false, true], [true, false], [true, true]].flatMap(([ta, tb], i) => {
      const plain = { ...gemmArgs(ta!, tb!, 13, 21, 17, i), c: randomArray(13 * 21 + 1, 9), accumulate: i % 2 === 1 };
      gemm(plain);
      const fused = { ...gemmArgs(ta!, tb!, 9, 33, 20, i + 7), c: new Float32Array(9 * 33 + 1).fill(NaN), accumulate: false, bias: randomArray(33, 2), relu: i < 2 };
      gemm(fused);
      return [plain.c, fused.c];
    }),
  },
  gemmBatched: {
    tol: [1e-5, 1e-5],
    run: (gemmBatched) => {
      const [m, n, k] = [7, 9, 5];
      const even = { ...gemmArgs(false, true, m, n, k, 1), a: randomArray(4 * m * k, 1), b: randomArray(n * k, 2), c: new Float32Array(4 * m * n), cOffset: 0, accumulate: false };
      gemmBatched(even, Int32Array.of(0, m * k, 2 * m * k, 3 * m * k), Int32Array.of(0, 0, 0, 0));
      const uneven = { ...gemmArgs(true, false, m, n, k, 3), a: randomArray(3 * m * k, 3), b: randomArray(3 * n * k, 4), c: randomArray(3 * m * n, 5), cOffset: 0, accumulate: true };
      gemmBatched(uneven, Int32Array.of(2 * m * k, 0, m * k), Int32Array.of(0, 2 * k * n, k * n));
      return [even.c, uneven.c];
    },
  },
  unary: {
    tol: [4e-6, 1e-30],
    run: (unary) => UNARY_OPS.map((op, i) => {
      const x = randomArray(1001, i + 1, 4);
      if (op === 'sqrt' || op === 'log') x.forEach((v, j) => (x[j] = Math.abs(v)));
      const out = new Float32Array(1001).fill(NaN);
      unary(op, x, out);
      return out;
    }),
  },
  binary: {
    tol: [1e-5, 1e-6],
    run: (binary) => BINARY_OPS.flatMap((op, i) => {
      const a = randomArray(37 * 29, i + 1, 2).map((v) => (op === 'pow' ? Math.abs(v) : v));
      const b = randomArray(37 * 29, i + 2);
      const same = new Float32Array(37 * 29).fill(NaN);
      binary(op, a, [29, 1], b, [29, 1], same, [37, 29]);
      const row = new Float32Array(37 * 29).fill(NaN);
      binary(op, a, [29, 1], b.subarray(0, 29), [0, 1], row, [37, 29]);
      return [same, row];
    }),
  },
  compare: {
    tol: [0, 0],
    run: (compare) => COMPARE_OPS.map((op, i) => {
      const a = randomArray(23 * 31, i + 1).map((v) => Math.round(v * 4));
      const b = randomArray(31, i + 2).map((v) => Math.round(v * 4));
      const out = new Uint8Array(23 * 31).fill(7);
      compare(op, a, [31, 1], b, [0, 1], out, [23, 31]);
      return out;
    }),
  },
  reduce: {
    tol: [1e-5, 1e-5],
    run: (reduce) => REDUCE_OPS.flatMap((op) => [[5, 33, 7], [1, 1000, 1], [40, 3, 1]].map(([outer, size, inner]) => {
      const x = randomArray(outer! * size! * inner!, size! + inner!, op === 'prod' ? 1.5 : 1);
      const out = new Float32Array(outer! * inner!).fill(NaN);
      reduce(op, x, outer!, size!, inner!, out);
      return out;
    })),
  },
  adamStep: {
    tol: [1e-5, 1e-6],
    run: (adamStep) => [{}, { l2: 0.1, sign: -1 }, { shrink: 1 - 1e-5 }].flatMap((extra) => {
      const s = adamArgs(1027, extra);
      adamStep(s);
      return [s.param, s.expAvg, s.expAvgSq];
    }),
  },
  sgdStep: {
    tol: [1e-6, 1e-7],
    run: (sgdStep) => [null, randomArray(301, 7)].flatMap((buf, i) => {
      const s = { param: randomArray(301, 1), grad: randomArray(301, 2), momentumBuffer: buf, first: false, lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: i === 1, weightDecay: 0.01, sign: 1 };
      sgdStep(s);
      return buf ? [s.param, buf] : [s.param];
    }),
  },
  adagradStep: {
    tol: [1e-6, 1e-7],
    run: (adagradStep) => {
      const s = { param: randomArray(301, 1), grad: randomArray(301, 2), sum: randomArray(301, 3).map(Math.abs), negClr: -0.01, weightDecay: 0.01, eps: 1e-10, sign: 1 };
      adagradStep(s);
      return [s.param, s.sum];
    },
  },
  rmspropStep: {
    tol: [1e-6, 1e-7],
    run: (rmspropStep) => {
      const s = {
        param: randomArray(301, 1), grad: randomArray(301, 2), squareAvg: randomArray(301, 3).map((v) => v * v + 1), gradAvg: randomArray(301, 4, 0.1),
        momentumBuffer: randomArray(301, 5), lr: 0.01, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0.9, sign: -1,
      };
      rmspropStep(s);
      return [s.param, s.squareAvg, s.gradAvg, s.momentumBuffer];
    },
  },
  gatherRowsU8: {
    tol: [0, 0],
    run: (gatherRowsU8) => {
      const src = Uint8Array.from({ length: 40 * 37 }, (_, i) => (i * 7919) % 256);
      const out = new Float32Array(9 * 37).fill(NaN);
      gatherRowsU8(src, 37, Int32Array.of(3, 39, 0, 3, 17, 8, 22, 1, 30), 1 / 255, -0.5, out);
      return [out];
    },
  },
  gatherRowsF32: {
    tol: [0, 0],
    run: (gatherRowsF32) => {
      const out = new Float32Array(9 * 37).fill(NaN);
      gatherRowsF32(randomArray(40 * 37, 2), 37, Int32Array.of(3, 39, 0, 3, 17, 8, 22, 1, 30), out);
      return [out];
    },
  },
  im2col: {
    tol: [0, 0],
    run: (im2col) => geometries.map(([planes, h, w, g]) => {
      const [oh, ow] = outSize(h, w, g);
      const out = new Float32Array(planes * g.kernel[0]! * g.kernel[1]! * oh * ow).fill(NaN);
      im2col(randomArray(planes * h * w, planes), planes, h, w, g, -1, out);
      return out;
    }),
  },
  col2im: {
    tol: [0, 0],
    run: (col2im) => geometries.map(([planes, h, w, g]) => {
      const [oh, ow] = outSize(h, w, g);
      const out = new Float32Array(planes * h * w).fill(NaN);
      col2im(randomArray(planes * g.kernel[0]! * g.kernel[1]! * oh * ow, h), planes, h, w, g, out);
      return out;
    }),
  },
  maxPool: {
    tol: [0, 0],
    run: (maxPool) => geometries.flatMap(([planes, h, w, g]) => {
      const [oh, ow] = outSize(h, w, g);
      const x = randomArray(planes * h * w, w).map((v) => Math.max(0, Math.round(v * 4) / 2)); // ties
      x[5] = NaN;
      const out = new Float32Array(planes * oh * ow).fill(7);
      const picks = new Int32Array(planes * oh * ow).fill(-5);
      maxPool(x, planes, h, w, g, out, picks);
      return [out, picks];
    }),
  },
  maxPoolBackward: {
    tol: [0, 0],
    run: (maxPoolBackward) => geometries.flatMap(([planes, h, w, g]) => {
      const [oh, ow] = outSize(h, w, g);
      const l = oh * ow;
      // Picks in range, repeats included (overlapping windows pick the same element).
      const picks = Int32Array.from({ length: planes * l }, (_, i) => (i * 37) % (h * w));
      const grad = randomArray(planes * l, 3);
      return [undefined, { h, w, window: g }].map((pw) => {
        const out = new Float32Array(planes * h * w).fill(NaN);
        maxPoolBackward(grad, picks, planes, h * w, l, out, pw);
        return out;
      });
    }),
  },
  conv2dForward: {
    tol: [1e-5, 1e-5],
    run: (conv2dForward) => [true, false].map((relu) => {
      const p = { n: 5, c: 3, h: 9, w: 8, o: 4, window: conv3 };
      const y = new Float32Array(5 * 4 * 9 * 8).fill(NaN);
      conv2dForward(p, randomArray(5 * 3 * 9 * 8, 1), randomArray(4 * 27, 2), relu ? randomArray(4, 3) : null, y, relu);
      return y;
    }),
  },
  conv2dInputGrad: {
    tol: [1e-5, 1e-5],
    run: (conv2dInputGrad) => {
      const p = { n: 5, c: 3, h: 9, w: 8, o: 4, window: odd };
      const [oh, ow] = outSize(9, 8, odd);
      const gx = new Float32Array(5 * 3 * 9 * 8).fill(NaN);
      conv2dInputGrad(p, randomArray(5 * 4 * oh * ow, 1), randomArray(4 * 3 * 6, 2), gx);
      return [gx];
    },
  },
  conv2dWeightGrad: {
    tol: [1e-5, 1e-5],
    run: (conv2dWeightGrad) => {
      const p = { n: 5, c: 3, h: 9, w: 8, o: 4, window: conv3 };
      const per = new Float32Array(5 * 4 * 27).fill(NaN);
      conv2dWeightGrad(p, randomArray(5 * 3 * 9 * 8, 1), randomArray(5 * 4 * 72, 2), per);
      return [per];
    },
  },
  stridedCopy: {
    tol: [0, 0],
    run: (stridedCopy) => [[[3, 4, 5], [1, 15, 3], 2], [[7, 1, 6], [0, 9, 1], 4], [[], [], 5], [[2, 0, 3], [3, 3, 1], 0]].map(([shape, strides, offset]) => {
      const out = new Float32Array((shape as number[]).reduce((a, b) => a * b, 1)).fill(NaN);
      stridedCopy(randomArray(80, 3), shape as number[], strides as number[], offset as number, out);
      return out;
    }),
  },
  stridedWrite: {
    tol: [0, 0],
    run: (stridedWrite) => [[[3, 4, 5], [1, 15, 3], 2], [[6, 2], [1, 40], 7], [[], [], 5]].map(([shape, strides, offset]) => {
      const dst = randomArray(90, 1);
      stridedWrite(dst, shape as number[], strides as number[], offset as number, randomArray((shape as number[]).reduce((a, b) => a * b, 1), 2));
      return dst;
    }),
  },
  where: {
    tol: [0, 0],
    run: (where) => {
      const cond = Uint8Array.from({ length: 13 }, (_, i) => (i * 5) % 3 === 0 ? 1 : 0);
      const out = new Float32Array(13 * 11).fill(NaN);
      where(cond, [1, 0], randomArray(11, 1), [0, 1], randomArray(13 * 11, 2), [11, 1], out, [13, 11]);
      const same = new Float32Array(40).fill(NaN);
      where(Uint8Array.from({ length: 40 }, (_, i) => i % 2), [1], randomArray(40, 3), [1], randomArray(1, 4), [0], same, [40]);
      return [out, same];
    },
  },
  gather: {
    tol: [0, 0],
    run: (gather) => {
      // x [4, 5, 6] gathered along dim 1 by an index of shape [4, 3, 6].
      const index = Int32Array.from({ length: 72 }, (_, i) => (i * 7) % 5);
      const out = new Float32Array(72).fill(NaN);
      gather(randomArray(120, 1), [30, 0, 1], 6, index, [4, 3, 6], out);
      return [out];
    },
  },
  scatterAdd: {
    tol: [0, 0],
    run: (scatterAdd) => {
      const out = randomArray(120, 1);
      const index = Int32Array.from({ length: 72 }, (_, i) => (i * 7) % 5);
      // src [4, 4, 7], read at index's positions.
      scatterAdd(out, [30, 0, 1], 6, index, [4, 3, 6], randomArray(4 * 4 * 7, 2), [28, 7, 1]);
      return [out];
    },
  },
  indexSelect: {
    tol: [0, 0],
    run: (indexSelect) => [[3, 7, 5], [1, 9, 1], [4, 2, 3]].map(([outer, size, inner]) => {
      const index = Int32Array.of(1, 0, 1, 1, 0, 1).map((v, i) => (v + i) % size!);
      const out = new Float32Array(outer! * index.length * inner!).fill(NaN);
      indexSelect(randomArray(outer! * size! * inner!, size!), outer!, size!, inner!, index, out);
      return out;
    }),
  },
  indexAdd: {
    tol: [0, 0],
    run: (indexAdd) => [[3, 7, 5], [1, 9, 1], [4, 2, 3]].map(([outer, size, inner]) => {
      const index = Int32Array.of(1, 0, 1, 1, 0, 1).map((v, i) => (v + i) % size!);
      const out = randomArray(outer! * size! * inner!, 1);
      indexAdd(out, outer!, size!, inner!, index, randomArray(outer! * index.length * inner!, 2));
      return out;
    }),
  },
  cat: {
    tol: [0, 0],
    run: (cat) => {
      const out = new Float32Array(5 * (3 + 0 + 7)).fill(NaN);
      cat([randomArray(15, 1), new Float32Array(0), randomArray(35, 2)], 5, out);
      const one = new Float32Array(12).fill(NaN);
      cat([randomArray(4, 3), randomArray(8, 4)], 1, one);
      return [out, one];
    },
  },
  fill: {
    tol: [0, 0],
    run: (fill) => {
      const a = randomArray(50, 1);
      fill(a, 2.5, 3, 41);
      const b = new Int32Array(9).fill(-1);
      fill(b, 7, 0, 9);
      return [a, b];
    },
  },
  cumsum: {
    tol: [1e-6, 1e-6],
    run: (cumsum) => [false, true].flatMap((reverse) => [[3, 17, 4], [1, 1000, 1]].map(([outer, size, inner]) => {
      const out = new Float32Array(outer! * size! * inner!).fill(NaN);
      cumsum(randomArray(out.length, size!), outer!, size!, inner!, reverse, out);
      return out;
    })),
  },
  argReduce: {
    tol: [0, 0],
    run: (argReduce) => (['max', 'min'] as const).flatMap((op) => [[3, 17, 4], [1, 100, 1], [5, 1, 2]].map(([outer, size, inner]) => {
      const x = randomArray(outer! * size! * inner!, size!).map((v) => Math.round(v * 3)); // ties
      x[7] = NaN;
      const out = new Int32Array(outer! * inner!).fill(-1);
      argReduce(op, x, outer!, size!, inner!, out);
      return out;
    })),
  },
  rowMaxShift: {
    tol: [0, 0],
    run: (rowMaxShift) => {
      const x = randomArray(9 * 13, 1, 5);
      x.fill(-Infinity, 13, 26);
      x[40] = NaN;
      const rowMax = new Float64Array(9).fill(NaN);
      const out = new Float32Array(9 * 13).fill(NaN);
      rowMaxShift(x, 9, 13, rowMax, out);
      return [rowMax, out];
    },
  },
  crossEntropyLoss: {
    tol: [1e-6, 1e-6],
    run: (crossEntropyLoss) => (['mean', 'sum', 'none'] as const).flatMap((reduction) => {
      const [rows, cols] = [11, 7];
      const x = randomArray(rows * cols, 1, 3);
      const rowMax = new Float64Array(rows);
      const e = new Float32Array(rows * cols);
      referenceBackend.rowMaxShift(x, rows, cols, rowMax, e);
      referenceBackend.unary('exp', e, e);
      const weight = randomArray(rows, 2).map(Math.abs);
      weight[3] = 0;
      const out = new Float32Array(reduction === 'none' ? rows : 1).fill(NaN);
      crossEntropyLoss(x, Int32Array.from({ length: rows }, (_, i) => (i * 3) % cols), weight, rows, cols, rowMax, e, reduction, out);
      return [e, out];
    }),
  },
  crossEntropyGrad: {
    tol: [1e-6, 1e-7],
    run: (crossEntropyGrad) => (['mean', 'sum', 'none'] as const).map((reduction) => {
      const [rows, cols] = [11, 7];
      const weight = randomArray(rows, 2).map(Math.abs);
      weight[3] = 0;
      const out = new Float32Array(rows * cols).fill(NaN);
      const g = randomArray(reduction === 'none' ? rows : 1, 4);
      crossEntropyGrad(g, randomArray(rows * cols, 3).map(Math.abs), Int32Array.from({ length: rows }, (_, i) => (i * 3) % cols), weight, rows, cols, reduction, out);
      return out;
    }),
  },
  classWeights: {
    tol: [0, 0],
    run: (classWeights) => [null, randomArray(6, 2)].flatMap((weights) => {
      const safe = new Int32Array(9).fill(-7);
      const w = new Float32Array(9).fill(NaN);
      classWeights(Int32Array.of(0, 5, -100, 2, 2, -100, 3, 1, 4), -100, weights, safe, w);
      return [safe, w];
    }),
  },
  oneHot: {
    tol: [0, 0],
    run: (oneHot) => {
      const out = new Int32Array(9 * 5).fill(-3);
      oneHot(Int32Array.of(0, 4, 2, 2, 1, 0, 3, 4, 4), 5, out);
      const f = new Float32Array(3 * 2).fill(NaN);
      oneHot(Int32Array.of(1, 0, 1), 2, f);
      return [out, f];
    },
  },
  dropoutMask: {
    tol: [0, 0],
    run: (dropoutMask) => [0.3, 0, 1].map((p) => {
      const u = Float64Array.from({ length: 301 }, (_, i) => ((i * 7919) % 301) / 301);
      const out = new Float32Array(301).fill(NaN);
      dropoutMask(u, p, p === 1 ? 0 : 1 / (1 - p), out);
      return out;
    }),
  },
  scale: {
    tol: [0, 0],
    run: (scale) => {
      const x = randomArray(301, 1);
      const out = new Float32Array(301).fill(NaN);
      scale(x, 1 / 3, out);
      scale(x, -0.7, x);
      return [out, x];
    },
  },
  powGrad: {
    tol: [1e-6, 1e-7],
    run: (powGrad) => [2, 1, 3.5, -1].map((p) => {
      const out = new Float32Array(301).fill(NaN);
      powGrad(randomArray(301, 1), randomArray(301, 2).map((v) => (p === 3.5 ? Math.abs(v) : v)), p, out);
      return out;
    }),
  },
  clamp: {
    tol: [0, 0],
    run: (clamp) => {
      const x = randomArray(301, 1, 3);
      x[4] = NaN;
      const out = new Float32Array(301).fill(7);
      clamp(x, -0.25, 1 / 3, out);
      return [out];
    },
  },
  norm: {
    tol: [1e-12, 1e-12],
    run: (norm) => {
      const x = randomArray(1001, 1, 3);
      const out = new Float64Array(6).fill(NaN);
      [1, 2, 3.5, Infinity, 0.5].forEach((p, i) => norm(x, p, out, i));
      norm(new Float32Array(0), Infinity, out, 5);
      return [out];
    },
  },
  sumF64: {
    tol: [1e-12, 1e-12],
    run: (sumF64) => {
      const out = new Float64Array(2).fill(NaN);
      sumF64(randomArray(1001, 1, 3), out, 0);
      sumF64(Int32Array.of(3, -5, 9), out, 1);
      return [out];
    },
  },
};

const all = await candidates();

describe('the registry', () => {
  it('has a reference kernel for every kernel, and a case here for each', () => {
    expect(registeredKernels('reference').sort()).toEqual(Object.keys(CASES).sort());
  });

  describe.each(all.map((c) => [c.label, c] as const))('%s: every kernel it registered against the reference', (_label, cand) => {
    it.each(registeredKernels(cand.name))('%s', (name) => {
      const c = CASES[name] as Case<KernelName>;
      const want = c.run(referenceBackend[name] as never);
      // The kernel alone, counting the calls it took: a kernel that declines everything tests nothing.
      const fast = cand.attempt(name)!;
      let took = 0;
      const got = c.run(((...args: never[]) => {
        if ((fast as unknown as (...a: never[]) => boolean)(...args)) took++;
        else (referenceBackend[name] as (...a: never[]) => void)(...args);
      }) as never);
      expect(took, `${cand.name} declined every call of the ${name} case`).toBeGreaterThan(0);
      expect(got.length).toBe(want.length);
      const [rtol, atol] = c.tol;
      got.forEach((g, j) => {
        const i = rtol === 0 && atol === 0 ? Array.from(want[j]!).findIndex((w, k) => !Object.is(g[k], w)) : firstMismatch(g, want[j]!, rtol, atol);
        expect(i, `${name} output ${j} at ${i}: got ${g[i]}, want ${want[j]![i]}`).toBe(-1);
      });
    });
  });
});

describe('the dispatcher', () => {
  // A backend of the 'native' family whose kernels record their calls; gemm declines every call.
  const calls: string[] = [];
  registerKernel({ kernel: 'unary', backend: 'native-spy', dtype: 'float32', fn: (op, x, out) => void (calls.push('unary'), referenceBackend.unary(op, x, out)) });
  registerKernel({ kernel: 'gemm', backend: 'native-spy', dtype: 'float32', fn: () => (calls.push('gemm'), false) });
  registerKernel({ kernel: 'conv2dForward', backend: 'native-spy', dtype: 'float32', fn: () => false });

  function withSpy(body: () => void): void {
    const before = currentBackend();
    useBackend('native-spy');
    try {
      body();
    } finally {
      useBackend(before);
    }
  }

  it.skipIf(!env.thresholds)('sends work below the threshold, and other dtypes, to the reference kernel', () => {
    withSpy(() => {
      expect(kernel('unary', TINY - 1, 'float32')).toBe(referenceBackend.unary);
      expect(kernel('unary', TINY, 'float64')).toBe(referenceBackend.unary);
      expect(kernel('sgdStep', 1e6, 'float32')).toBe(referenceBackend.sgdStep); // not registered
      calls.length = 0;
      kernel('unary', TINY, 'float32')('exp', new Float32Array(TINY), new Float32Array(TINY));
      expect(calls).toEqual(['unary']);
    });
  });

  it('runs the reference kernel where the fast one declines, and reports it to composite callers', () => {
    withSpy(() => {
      calls.length = 0;
      const c = new Float32Array(4).fill(NaN);
      kernel('gemm', 1e6, 'float32')({ transA: false, transB: false, m: 2, n: 2, k: 1, a: Float32Array.of(1, 2), aOffset: 0, b: Float32Array.of(3, 4), bOffset: 0, c, cOffset: 0, accumulate: false });
      expect(calls).toEqual(['gemm']);
      expect(Array.from(c)).toEqual([3, 4, 6, 8]);
      const conv = fusedKernel('conv2dForward', 1e6, 'float32');
      expect(conv?.({ n: 1, c: 1, h: 1, w: 1, o: 1, window: conv3 }, new Float32Array(1), new Float32Array(9), null, new Float32Array(1), false)).toBe(false);
      expect(fusedKernel('conv2dInputGrad', 1e6, 'float32')).toBeNull();
    });
  });

  it('backendTable gives every kernel, the backend’s own where registered', () => {
    const t = backendTable('native-spy');
    expect(t.name).toBe('native-spy');
    for (const k of Object.keys(CASES) as KernelName[]) expect(typeof t[k]).toBe('function');
    expect(t.sgdStep).toBe(referenceBackend.sgdStep);
    expect(t.unary).not.toBe(referenceBackend.unary);
    expect(() => useBackend('no-such-backend')).toThrow("no kernels are registered for backend 'no-such-backend'");
  });

  it('names every threshold where it is used', () => {
    expect(minWork('gemm', 'native', true)).toBe(TINY);
    expect(minWork('gatherRowsF32', 'native', true)).toBe(GATHER_ROWS_MIN);
    expect(minWork('gatherRowsU8', 'wasm', true)).toBe(0);
    expect(minWork('gemm', 'someone-else', true)).toBe(TINY);
    expect(minWork('gemm', 'native', false)).toBe(0);
    expect(getKernel('gemm', 'native-spy')?.dtype).toBe('float32');
  });

  it('setBackend takes a user’s object of some kernels; what it lacks or declines runs on the reference ones', () => {
    const seen: string[] = [];
    const previous = setBackend({ name: 'mine-1', unary: (op) => (seen.push(op), false) });
    try {
      expect(backendName()).toBe('mine-1');
      const x = new Tensor(randomArray(300, 4), [300], 'float32');
      const y = x.exp().add(x);
      // The work reaches TINY (an unknown family's threshold), so the user's unary saw it, declined, and the reference ran.
      expect(seen).toEqual(['exp']);
      expect(firstMismatch(y.typedData, x.typedData.map((v) => Math.fround(Math.fround(Math.exp(v)) + v)), 0, 0)).toBe(-1);
    } finally {
      setBackend(previous);
    }
    expect(backendName()).toBe(previous.name);
  });
});
