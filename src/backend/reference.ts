import type { Backend, BinaryKernel, CompareKernel, FloatArray, GemmArgs, ReduceKernel, TypedArray, UnaryKernel } from './types.js';
import { gemmWithEpilogue } from './epilogue.js';
import { adagradStep, adamStep, rmspropStep, sgdStep } from './reference-optim.js';
import { cat, fill, gather, indexAdd, indexSelect, scatterAdd, stridedCopy, stridedWrite, where } from './reference-movement.js';
import { argReduce, clamp, classWeights, crossEntropyGrad, crossEntropyLoss, cumsum, dropoutMask, norm, oneHot, powGrad, rowMaxShift, scale, sumF64 } from './reference-rows.js';
import { col2im, conv2dForward, conv2dInputGrad, conv2dWeightGrad, im2col, maxPool, maxPoolBackward } from './reference-windows.js';

/**
 * The reference kernels: plain TypeScript loops, every dtype, every case, one for every kernel
 * of the registry (the `Backend` type makes a missing one a compile error). They define what
 * the fast backends must compute, and the dispatcher runs them for anything a fast backend
 * lacks or declines (./dispatch.ts). Elementwise, products and reductions are here; the window
 * kernels in ./reference-windows.ts, the optimizer steps in ./reference-optim.ts, data movement
 * in ./reference-movement.ts, scans, arg-reductions and the losses' passes in ./reference-rows.ts.
 */

const UNARY: Record<UnaryKernel, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  abs: Math.abs,
  sin: Math.sin,
  cos: Math.cos,
  tanh: Math.tanh,
  // Written so that neither branch overflows: exp of a large positive number is never taken.
  sigmoid: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  relu: (x) => (x > 0 ? x : 0),
  erf,
  log1p: Math.log1p,
  expm1: Math.expm1,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : x === 0 ? 0 : NaN),
  reciprocal: (x) => 1 / x,
  square: (x) => x * x,
  floor: Math.floor,
  ceil: Math.ceil,
  round: roundHalfEven,
};

const BINARY: Record<BinaryKernel, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  // NaN propagates, as in PyTorch's maximum/minimum.
  maximum: (a, b) => (a !== a || b !== b ? NaN : a > b ? a : b),
  minimum: (a, b) => (a !== a || b !== b ? NaN : a < b ? a : b),
  reluGrad: (g, y) => (y > 0 ? g : 0),
  sigmoidGrad: (g, y) => g * (y * (1 - y)),
  tanhGrad: (g, y) => g * (1 - y * y),
};

const COMPARE: Record<CompareKernel, (a: number, b: number) => boolean> = {
  gt: (a, b) => a > b,
  ge: (a, b) => a >= b,
  lt: (a, b) => a < b,
  le: (a, b) => a <= b,
  eq: (a, b) => a === b,
  ne: (a, b) => a !== b,
};

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** erf to full double precision: series for small |x|, continued fraction (Lentz) beyond. */
export function erf(x: number): number {
  if (x !== x) return NaN;
  const ax = Math.abs(x);
  if (ax < 2.5) {
    // erf(x) = 2/√π Σ (-1)^n x^(2n+1) / (n! (2n+1))
    let term = ax;
    let sum = ax;
    const x2 = ax * ax;
    for (let n = 1; n < 100; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    const v = (2 / Math.sqrt(Math.PI)) * sum;
    return x < 0 ? -v : v;
  }
  if (ax > 6) return x < 0 ? -1 : 1;
  // erfc(x) = exp(-x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...))))
  const tiny = 1e-300;
  let f = ax;
  let c = ax;
  let d = 0;
  for (let n = 1; n < 200; n++) {
    const an = n / 2;
    d = ax + an * d;
    d = d === 0 ? tiny : d;
    c = ax + an / c;
    c = c === 0 ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return x < 0 ? erfc - 1 : 1 - erfc;
}

/** Walk outShape in row-major order, calling fn with the flat offsets into a and b. */
function forEachBroadcast(
  outShape: readonly number[],
  aStrides: readonly number[],
  bStrides: readonly number[],
  fn: (o: number, ia: number, ib: number) => void,
): void {
  const nd = outShape.length;
  let total = 1;
  for (const d of outShape) total *= d;
  if (total === 0) return;
  if (nd === 0) {
    fn(0, 0, 0);
    return;
  }
  const idx = new Array<number>(nd).fill(0);
  const last = nd - 1;
  const lastSize = outShape[last]!;
  const sa = aStrides[last]!;
  const sb = bStrides[last]!;
  let ia = 0;
  let ib = 0;
  for (let o = 0; o < total; o += lastSize) {
    for (let j = 0; j < lastSize; j++) fn(o + j, ia + j * sa, ib + j * sb);
    // advance the multi-index over all but the last dim
    for (let d = last - 1; d >= 0; d--) {
      idx[d]!++;
      ia += aStrides[d]!;
      ib += bStrides[d]!;
      if (idx[d]! < outShape[d]!) break;
      ia -= aStrides[d]! * outShape[d]!;
      ib -= bStrides[d]! * outShape[d]!;
      idx[d] = 0;
    }
  }
}

function isContiguousFull(strides: readonly number[], shape: readonly number[]): boolean {
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== s) return false;
    s *= shape[i]!;
  }
  return true;
}

function isScalarRead(strides: readonly number[]): boolean {
  return strides.every((s) => s === 0);
}

function relu(x: FloatArray, out: FloatArray): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    out[i] = v > 0 ? v : v !== v ? v : 0;
  }
}

function gemm(args: GemmArgs): void {
  if (args.bias || args.relu) gemmWithEpilogue(args, gemmPlain, (x) => relu(x, x));
  else gemmPlain(args);
}

function gemmPlain({ transA, transB, m, n, k, a, aOffset, b, bOffset, c, cOffset, accumulate }: GemmArgs): void {
  if (!accumulate) c.fill(0, cOffset, cOffset + m * n);
  // A(i,p) and B(p,j) addressed through the stored layouts; the i-p-j order keeps the
  // innermost loop contiguous in C and (without transB) in B.
  const aRow = transA ? 1 : k;
  const aCol = transA ? m : 1;
  if (!transB) {
    for (let i = 0; i < m; i++) {
      const ci = cOffset + i * n;
      for (let p = 0; p < k; p++) {
        const av = a[aOffset + i * aRow + p * aCol]!;
        if (av === 0) continue;
        const bp = bOffset + p * n;
        for (let j = 0; j < n; j++) c[ci + j]! += av * b[bp + j]!;
      }
    }
  } else {
    // B stored n×k: C(i,j) = Σ_p A(i,p) B[j,p], a dot product of two contiguous rows when A is not transposed.
    for (let i = 0; i < m; i++) {
      const ci = cOffset + i * n;
      for (let j = 0; j < n; j++) {
        const bj = bOffset + j * k;
        let s = 0;
        for (let p = 0; p < k; p++) s += a[aOffset + i * aRow + p * aCol]! * b[bj + p]!;
        c[ci + j]! += s;
      }
    }
  }
}

function gemmBatched(g: GemmArgs, aOffsets: Int32Array, bOffsets: Int32Array): void {
  const c0 = g.cOffset;
  for (let i = 0; i < aOffsets.length; i++) gemm({ ...g, aOffset: aOffsets[i]!, bOffset: bOffsets[i]!, cOffset: c0 + i * g.m * g.n });
}

function gatherRowsU8(src: Uint8Array, rowLength: number, rows: Int32Array, scale: number, shift: number, out: Float32Array): void {
  for (let i = 0; i < rows.length; i++) {
    const s = rows[i]! * rowLength;
    const d = i * rowLength;
    for (let j = 0; j < rowLength; j++) out[d + j] = src[s + j]! * scale + shift;
  }
}

function gatherRowsF32(src: Float32Array, rowLength: number, rows: Int32Array, out: Float32Array): void {
  for (let i = 0; i < rows.length; i++) {
    const s = rows[i]! * rowLength;
    out.set(src.subarray(s, s + rowLength), i * rowLength);
  }
}

const reluInPlace = (x: FloatArray) => relu(x, x);

export const referenceBackend: Backend = {
  name: 'reference',
  gemm,
  gemmBatched,
  adamStep,
  sgdStep,
  adagradStep,
  rmspropStep,
  gatherRowsU8,
  gatherRowsF32,
  im2col,
  col2im,
  maxPool,
  maxPoolBackward,
  conv2dForward: (p, x, weight, bias, y, withRelu) => conv2dForward(gemm, reluInPlace, p, x, weight, bias, y, withRelu),
  conv2dInputGrad: (p, gy, weight, gx) => conv2dInputGrad(gemm, p, gy, weight, gx),
  conv2dWeightGrad: (p, x, gy, perSample) => conv2dWeightGrad(gemm, p, x, gy, perSample),
  stridedCopy,
  stridedWrite,
  where,
  gather,
  scatterAdd,
  indexSelect,
  indexAdd,
  cat,
  fill,
  cumsum,
  argReduce,
  rowMaxShift,
  crossEntropyLoss,
  crossEntropyGrad,
  classWeights,
  oneHot,
  dropoutMask,
  scale,
  powGrad,
  clamp,
  norm,
  sumF64,
  unary(op: UnaryKernel, x: FloatArray, out: FloatArray): void {
    const f = UNARY[op];
    if (op === 'relu') return relu(x, out);
    for (let i = 0; i < x.length; i++) out[i] = f(x[i]!);
  },
  binary(op, a, aStrides, b, bStrides, out, outShape): void {
    const f = BINARY[op];
    const n = out.length;
    const aFull = isContiguousFull(aStrides, outShape) && a.length === n;
    const bFull = isContiguousFull(bStrides, outShape) && b.length === n;
    if (aFull && bFull) {
      if (op === 'add') for (let i = 0; i < n; i++) out[i] = a[i]! + b[i]!;
      else if (op === 'mul') for (let i = 0; i < n; i++) out[i] = a[i]! * b[i]!;
      else if (op === 'sub') for (let i = 0; i < n; i++) out[i] = a[i]! - b[i]!;
      else if (op === 'reluGrad') for (let i = 0; i < n; i++) out[i] = b[i]! > 0 ? a[i]! : 0;
      else if (op === 'sigmoidGrad') for (let i = 0; i < n; i++) out[i] = a[i]! * (b[i]! * (1 - b[i]!));
      else if (op === 'tanhGrad') for (let i = 0; i < n; i++) out[i] = a[i]! * (1 - b[i]! * b[i]!);
      else for (let i = 0; i < n; i++) out[i] = f(a[i]!, b[i]!);
      return;
    }
    if (aFull && isScalarRead(bStrides)) {
      const s = b[0]!;
      if (op === 'mul') for (let i = 0; i < n; i++) out[i] = a[i]! * s;
      else if (op === 'add') for (let i = 0; i < n; i++) out[i] = a[i]! + s;
      else for (let i = 0; i < n; i++) out[i] = f(a[i]!, s);
      return;
    }
    if (bFull && isScalarRead(aStrides)) {
      const s = a[0]!;
      for (let i = 0; i < n; i++) out[i] = f(s, b[i]!);
      return;
    }
    forEachBroadcast(outShape, aStrides, bStrides, (o, ia, ib) => {
      out[o] = f(a[ia]!, b[ib]!);
    });
  },
  compare(op, a, aStrides, b, bStrides, out, outShape): void {
    const f = COMPARE[op];
    forEachBroadcast(outShape, aStrides, bStrides, (o, ia, ib) => {
      out[o] = f(a[ia]!, b[ib]!) ? 1 : 0;
    });
  },
  reduce(op: ReduceKernel, x: TypedArray, outer: number, size: number, inner: number, out: TypedArray): void {
    for (let o = 0; o < outer; o++) {
      const base = o * size * inner;
      const ob = o * inner;
      if (op === 'sum' || op === 'prod') {
        const init = op === 'sum' ? 0 : 1;
        for (let j = 0; j < inner; j++) out[ob + j] = init;
        if (inner === 1 && op === 'sum') {
          let s = 0;
          for (let r = 0; r < size; r++) s += x[base + r]!;
          out[ob] = s;
          continue;
        }
        for (let r = 0; r < size; r++) {
          const row = base + r * inner;
          if (op === 'sum') for (let j = 0; j < inner; j++) out[ob + j]! += x[row + j]!;
          else for (let j = 0; j < inner; j++) out[ob + j]! *= x[row + j]!;
        }
      } else {
        const better = op === 'max' ? (v: number, m: number) => v > m : (v: number, m: number) => v < m;
        for (let j = 0; j < inner; j++) {
          let m = x[base + j]!;
          for (let r = 1; r < size && m === m; r++) {
            const v = x[base + r * inner + j]!;
            if (v !== v || better(v, m)) m = v;
          }
          out[ob + j] = m;
        }
      }
    }
  },
};
