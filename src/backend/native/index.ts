import type { AdamArgs, Backend, BinaryKernel, CompareKernel, ConvArgs, FastKernel, FloatArray, GemmArgs, KernelName, PoolWindow, ReduceKernel, TypedArray, UnaryKernel, WindowArgs } from '../types.js';
import { forEachOuterBlock, rowBlocks } from '../blocks.js';
import { backendTable, unusedName } from '../dispatch.js';
import { env, nodeBuiltin } from '../env.js';
import { gemmWithEpilogue } from '../epilogue.js';
import { registerKernel, registerKernels } from '../registry.js';

/**
 * The optional N-API addon (native/, built at install time where a compiler exists): AVX-512 /
 * AVX2 GEMM and elementwise kernels on a persistent thread pool, working directly on the
 * Float32Arrays' memory (no copies). Node only; what it lacks or declines runs on the reference kernels (the dispatcher's doing).
 */

interface Addon {
  gemm(
    transA: boolean, transB: boolean, m: number, n: number, k: number,
    a: Float32Array, aOffset: number, b: Float32Array, bOffset: number, c: Float32Array, cOffset: number,
    accumulate: boolean, threads: number,
  ): void;
  /** A linear layer's C = [relu](bias + op(A)·op(B)) (see GemmArgs), each thread on its own block. */
  gemmFused(
    transA: boolean, transB: boolean, m: number, n: number, k: number,
    a: Float32Array, aOffset: number, b: Float32Array, bOffset: number, c: Float32Array, cOffset: number,
    bias: Float32Array | null, relu: boolean, threads: number,
  ): void;
  /** Item i: C at cOffset + i·m·n (+)= op(A at aOffsets[i])·op(B at bOffsets[i]), items shared out among the threads. */
  gemmBatched(
    transA: boolean, transB: boolean, m: number, n: number, k: number, a: Float32Array, aOffsets: Int32Array,
    b: Float32Array, bOffsets: Int32Array, c: Float32Array, cOffset: number, accumulate: boolean, threads: number,
  ): void;
  unary(op: number, x: Float32Array, out: Float32Array, threads: number): void;
  binary(
    op: number, a: Float32Array, aOffset: number, ra: number, sa: number, b: Float32Array, bOffset: number,
    rb: number, sb: number, out: Float32Array, outOffset: number, rows: number, cols: number, threads: number,
  ): void;
  reduceSum(x: Float32Array, outer: number, size: number, inner: number, out: Float32Array): void;
  adamStep(
    param: Float32Array, grad: Float32Array, expAvg: Float32Array, expAvgSq: Float32Array, maxExpAvgSq: Float32Array | null,
    beta1: number, beta2: number, eps: number, negStepSize: number, bias2Sqrt: number, l2: number, shrink: number, sign: number,
  ): void;
  gatherRowsU8(src: Uint8Array, rowLength: number, rows: Int32Array, scale: number, shift: number, out: Float32Array): void;
  gatherRowsF32(src: Float32Array, rowLength: number, rows: Int32Array, out: Float32Array): void;
  compare(
    op: number, a: Float32Array, ao: number, ra: number, sa: number, b: Float32Array, bo: number, rb: number, sb: number,
    out: Uint8Array, oo: number, rows: number, cols: number,
  ): void;
  reduceMinMax(max: boolean, x: Float32Array, outer: number, size: number, inner: number, out: Float32Array): void;
  /** im2col of the image planes at src (toCols) or col2im of the columns at src. */
  windows(toCols: boolean, src: Float32Array, planes: number, h: number, w: number, kh: number, kw: number, sh: number, sw: number,
    ph: number, pw: number, dh: number, dw: number, padValue: number, out: Float32Array): void;
  maxPool(x: Float32Array, planes: number, h: number, w: number, kh: number, kw: number, sh: number, sw: number,
    ph: number, pw: number, dh: number, dw: number, out: Float32Array, picks: Int32Array): void;
  maxPoolBackward(grad: Float32Array, picks: Int32Array, planes: number, size: number, l: number, out: Float32Array,
    ...window: [] | [number, number, number, number, number, number, number, number, number, number]): void;
  /** kind 0: conv2dForward (a = x, b = weight); 1: conv2dInputGrad (a = gy, b = weight); 2: conv2dWeightGrad (a = x, b = gy). */
  conv2d(kind: number, n: number, h: number, w: number, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number,
    dh: number, dw: number, c: number, o: number, a: Float32Array, b: Float32Array, bias: Float32Array | null, out: Float32Array,
    relu: boolean): void;
  info(): { isa: string; bestIsa: string; threads: number };
  setIsa(isa: string): string;
  setThreads(n: number): void;
}

/**
 * The addon's op codes, mirroring the enums in native/src/elementwise.h (UnaryOp, BinaryOp,
 * CompareOp). This backend's own table: an op the addon lacks has no code here and is declined.
 */
const NATIVE_UNARY_CODES: Partial<Record<UnaryKernel, number>> = {
  neg: 0, exp: 1, sqrt: 2, abs: 3, tanh: 4, sigmoid: 5, relu: 6, square: 7, expm1: 8, reciprocal: 9,
};
const NATIVE_BINARY_CODES: Partial<Record<BinaryKernel, number>> = {
  add: 0, sub: 1, mul: 2, div: 3, maximum: 4, minimum: 5, reluGrad: 6, sigmoidGrad: 7, tanhGrad: 8,
};
const NATIVE_COMPARE_CODES: Record<CompareKernel, number> = { gt: 0, ge: 1, lt: 2, le: 3, eq: 4, ne: 5 };

/** Every function this file calls: an addon missing one was built from older sources and is not used (rebuild it). */
const ADDON_FUNCTIONS = [
  'gemm', 'gemmFused', 'gemmBatched', 'unary', 'binary', 'reduceSum', 'adamStep', 'gatherRowsU8', 'gatherRowsF32', 'compare',
  'reduceMinMax', 'windows', 'maxPool', 'maxPoolBackward', 'conv2d', 'info', 'setIsa', 'setThreads',
] as const satisfies readonly (keyof Addon)[];

export interface NativeBackendOptions {
  /** Threads per call, the caller included; default: CHAINRULE_NATIVE_THREADS, else all cores. */
  threads?: number;
  /** Force a kernel family ('avx512' | 'avx2' | 'generic'), clamped to what the CPU has. */
  isa?: string;
}

const ADDON_PATHS = [
  // from src/backend/native/ and from dist/backend/native/ alike
  '../../../native/build/Release/chainrule_native.node',
  '../../../native/build/Debug/chainrule_native.node',
];

let cached: Addon | null | undefined;

type NodeModule = { createRequire(from: string | URL): (id: string) => unknown };
type NodeFs = { existsSync(path: string): boolean };
type NodeUrl = { fileURLToPath(url: URL): string };

/**
 * Loads the addon once, synchronously; null when it is not built, fails to load, lacks a function
 * this file calls, or CHAINRULE_NATIVE=0. Node built-ins come through `process.getBuiltinModule`
 * (no static `node:` import), so a browser bundle of the core stays free of them.
 */
export function loadAddon(): Addon | null {
  if (cached !== undefined) return cached;
  cached = null;
  if (!env.native) return null;
  const mod = nodeBuiltin<NodeModule>('node:module');
  const fs = nodeBuiltin<NodeFs>('node:fs');
  const url = nodeBuiltin<NodeUrl>('node:url');
  if (!mod || !fs || !url) return null;
  const require = mod.createRequire(import.meta.url);
  for (const rel of ADDON_PATHS) {
    const file = url.fileURLToPath(new URL(rel, import.meta.url));
    if (!fs.existsSync(file)) continue;
    try {
      const addon = require(file) as Addon;
      if (ADDON_FUNCTIONS.every((f) => typeof addon[f] === 'function')) {
        if (env.nativeThreads !== undefined) addon.setThreads(env.nativeThreads);
        cached = addon;
        break;
      }
    } catch {
      // built for another Node ABI or platform: ignore, the other backends remain
    }
  }
  return cached;
}

/** A window geometry as the addon takes it: kh, kw, sh, sw, ph, pw, dh, dw. */
function windowArgs(g: WindowArgs): [number, number, number, number, number, number, number, number] {
  const { kernel: k, stride: s, padding: p, dilation: d } = g;
  return [k[0]!, k[1]!, s[0]!, s[1]!, p[0]!, p[1]!, d[0]!, d[1]!];
}

function isF32(x: TypedArray): x is Float32Array {
  return x instanceof Float32Array;
}

/**
 * Registers the addon's kernels (float32) under a name like 'native-avx512-2t' and returns that
 * backend; null where the addon does not load. Small sizes never reach it (./thresholds.ts).
 */
export function createNativeBackend(options: NativeBackendOptions = {}): Backend | null {
  const addon = loadAddon();
  if (!addon) return null;
  if (options.isa) addon.setIsa(options.isa);
  const info = addon.info();
  const threads = Math.max(1, Math.floor(options.threads ?? info.threads));
  if (threads > info.threads) addon.setThreads(threads);

  function gemm(args: GemmArgs): boolean | void {
    const { a, b, c, m, n, k } = args;
    if (!isF32(a) || !isF32(b) || !isF32(c)) return false;
    const { bias, relu } = args;
    if (bias || relu) {
      if (args.accumulate || (bias && !isF32(bias))) return gemmWithEpilogue(args, gemm, (x) => unary('relu', x, x));
      return addon!.gemmFused(args.transA, args.transB, m, n, k, a, args.aOffset, b, args.bOffset, c, args.cOffset, bias ?? null, !!relu, threads);
    }
    addon!.gemm(args.transA, args.transB, m, n, k, a, args.aOffset, b, args.bOffset, c, args.cOffset, args.accumulate, threads);
  }

  function gemmBatched(g: GemmArgs, aOffsets: Int32Array, bOffsets: Int32Array): boolean | void {
    const { a, b, c, m, n, k } = g;
    if (g.bias || g.relu || !isF32(a) || !isF32(b) || !isF32(c)) return false;
    if (aOffsets.length === 0) return;
    addon!.gemmBatched(g.transA, g.transB, m, n, k, a, aOffsets, b, bOffsets, c, g.cOffset, g.accumulate, threads);
  }

  function unary(op: UnaryKernel, x: FloatArray, out: FloatArray): boolean | void {
    const code = NATIVE_UNARY_CODES[op];
    if (code === undefined || !isF32(x) || !isF32(out)) return false;
    addon!.unary(code, x, out, threads);
  }

  function binary(
    op: BinaryKernel, a: TypedArray, aStrides: readonly number[], b: TypedArray, bStrides: readonly number[],
    out: TypedArray, outShape: readonly number[],
  ): boolean | void {
    const code = NATIVE_BINARY_CODES[op];
    if (code === undefined || !isF32(a) || !isF32(b) || !isF32(out) || out.length === 0) return false;
    const plan = rowBlocks(outShape, aStrides, bStrides);
    if (plan === null) return false; // an operand not contiguous along the last dim
    const { rows, cols, ra, sa, rb, sb } = plan;
    forEachOuterBlock(plan.c, (ao, bo, oo) => addon!.binary(code, a, ao, ra, sa, b, bo, rb, sb, out, oo, rows, cols, threads));
  }

  function reduce(op: ReduceKernel, x: TypedArray, outer: number, size: number, inner: number, out: TypedArray): boolean | void {
    if (!isF32(x) || !isF32(out)) return false;
    if (op === 'sum') return addon!.reduceSum(x, outer, size, inner, out);
    if ((op === 'max' || op === 'min') && size > 0) return addon!.reduceMinMax(op === 'max', x, outer, size, inner, out);
    return false; // prod
  }

  function compare(
    op: CompareKernel, a: TypedArray, aStrides: readonly number[], b: TypedArray, bStrides: readonly number[],
    out: Uint8Array, outShape: readonly number[],
  ): boolean | void {
    if (!isF32(a) || !isF32(b)) return false;
    const plan = rowBlocks(outShape, aStrides, bStrides);
    if (plan === null) return false;
    const code = NATIVE_COMPARE_CODES[op];
    const { rows, cols, ra, sa, rb, sb } = plan;
    const fa: Float32Array = a;
    const fb: Float32Array = b;
    forEachOuterBlock(plan.c, (ao, bo, oo) => addon!.compare(code, fa, ao, ra, sa, fb, bo, rb, sb, out, oo, rows, cols));
  }

  function adamStep(s: AdamArgs): boolean | void {
    const { param, grad, expAvg, expAvgSq, maxExpAvgSq } = s;
    if (!isF32(param) || !isF32(grad) || !isF32(expAvg) || !isF32(expAvgSq) || (maxExpAvgSq && !isF32(maxExpAvgSq))) return false;
    addon!.adamStep(param, grad, expAvg, expAvgSq, maxExpAvgSq, s.beta1, s.beta2, s.eps, s.negStepSize, s.bias2Sqrt, s.l2, s.shrink, s.sign);
  }

  function conv(kind: number, p: ConvArgs, a: FloatArray, b: FloatArray, bias: FloatArray | null, out: FloatArray, relu = false): boolean | void {
    if (!isF32(a) || !isF32(b) || !isF32(out) || (bias !== null && !isF32(bias))) return false;
    addon!.conv2d(kind, p.n, p.h, p.w, ...windowArgs(p.window), p.c, p.o, a, b, bias, out, relu);
  }

  const name = unusedName(`native-${info.isa}-${threads}t`);
  const fns: { [K in KernelName]?: FastKernel<K> } = {
    gemm, gemmBatched, unary, binary, compare, reduce, adamStep,
    gatherRowsF32: (src, rowLength, rows, out) => addon!.gatherRowsF32(src, rowLength, rows, out),
    im2col: (x, planes, h, w, g, padValue, out) => isF32(x) && isF32(out) && (addon!.windows(true, x, planes, h, w, ...windowArgs(g), padValue, out), true),
    col2im: (cols, planes, h, w, g, out) => isF32(cols) && isF32(out) && (addon!.windows(false, cols, planes, h, w, ...windowArgs(g), 0, out), true),
    maxPool: (x, planes, h, w, g, out, picks) => isF32(x) && isF32(out) && (addon!.maxPool(x, planes, h, w, ...windowArgs(g), out, picks), true),
    maxPoolBackward(grad, picks, planes, size, l, out, pw?: PoolWindow) {
      if (!isF32(grad) || !isF32(out)) return false;
      if (pw) addon!.maxPoolBackward(grad, picks, planes, size, l, out, pw.h, pw.w, ...windowArgs(pw.window));
      else addon!.maxPoolBackward(grad, picks, planes, size, l, out);
    },
    conv2dForward: (p, x, weight, bias, y, relu) => conv(0, p, x, weight, bias, y, relu),
    conv2dInputGrad: (p, gy, weight, gx) => conv(1, p, gy, weight, null, gx),
    conv2dWeightGrad: (p, x, gy, perSample) => conv(2, p, x, gy, null, perSample),
  };
  registerKernels(name, 'float32', fns);
  // Bytes in, float32 out: the one kernel keyed on another dtype.
  registerKernel({ kernel: 'gatherRowsU8', backend: name, dtype: 'uint8', fn: (src, rowLength, rows, scale, shift, out) => addon!.gatherRowsU8(src, rowLength, rows, scale, shift, out) });
  return backendTable(name);
}
