import type { AdamArgs, Backend, BinaryKernel, CompareKernel, ConvArgs, FloatArray, GemmArgs, PoolWindow, ReduceKernel, TypedArray, UnaryKernel, WindowArgs } from '../types.js';
import { gemmWithEpilogue } from '../epilogue.js';
import { nodeBuiltin } from '../wasm/loader.js';
import { BINARY_CODES, COMPARE_CODES, UNARY_CODES, forEachOuterBlock, rowBlocks } from '../wasm/ops.js';

/**
 * The optional N-API addon (native/, built at install time where a compiler exists): AVX-512 /
 * AVX2 GEMM and elementwise kernels on a persistent thread pool, working directly on the
 * Float32Arrays' memory (no copies). Node only; anything it lacks goes to `fallback`.
 */

interface Addon {
  gemm(
    transA: boolean, transB: boolean, m: number, n: number, k: number,
    a: Float32Array, aOffset: number, b: Float32Array, bOffset: number, c: Float32Array, cOffset: number,
    accumulate: boolean, threads: number,
  ): void;
  /** A linear layer's C = [relu](bias + op(A)·op(B)) (see GemmArgs), each thread on its own block. */
  gemmFused?(
    transA: boolean, transB: boolean, m: number, n: number, k: number,
    a: Float32Array, aOffset: number, b: Float32Array, bOffset: number, c: Float32Array, cOffset: number,
    bias: Float32Array | null, relu: boolean, threads: number,
  ): void;
  /** Item i: C at cOffset + i·m·n (+)= op(A at aOffsets[i])·op(B at bOffsets[i]), items shared out among the threads. */
  gemmBatched?(
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
  compare?(
    op: number, a: Float32Array, ao: number, ra: number, sa: number, b: Float32Array, bo: number, rb: number, sb: number,
    out: Uint8Array, oo: number, rows: number, cols: number,
  ): void;
  reduceMinMax?(max: boolean, x: Float32Array, outer: number, size: number, inner: number, out: Float32Array): void;
  /** im2col of the image planes at src (toCols) or col2im of the columns at src. */
  windows?(toCols: boolean, src: Float32Array, planes: number, h: number, w: number, kh: number, kw: number, sh: number, sw: number,
    ph: number, pw: number, dh: number, dw: number, padValue: number, out: Float32Array): void;
  maxPool?(x: Float32Array, planes: number, h: number, w: number, kh: number, kw: number, sh: number, sw: number,
    ph: number, pw: number, dh: number, dw: number, out: Float32Array, picks: Int32Array): void;
  maxPoolBackward?(grad: Float32Array, picks: Int32Array, planes: number, size: number, l: number, out: Float32Array,
    ...window: [] | [number, number, number, number, number, number, number, number, number, number]): void;
  /** kind 0: conv2dForward (a = x, b = weight); 1: conv2dInputGrad (a = gy, b = weight); 2: conv2dWeightGrad (a = x, b = gy). */
  conv2d?(kind: number, n: number, h: number, w: number, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number,
    dh: number, dw: number, c: number, o: number, a: Float32Array, b: Float32Array, bias: Float32Array | null, out: Float32Array,
    relu: boolean): void;
  info(): { isa: string; bestIsa: string; threads: number };
  setIsa(isa: string): string;
  setThreads(n: number): void;
}

export interface NativeBackendOptions {
  /** Threads per call, the caller included; default: all cores. */
  threads?: number;
  /** Set false to skip small-size delegation (tests use it to exercise the kernels). */
  thresholds?: boolean;
  /** Force a kernel family ('avx512' | 'avx2' | 'generic'), clamped to what the CPU has. */
  isa?: string;
}

/**
 * Below these sizes (elements, or m·n·k) the reference loops beat the N-API call and its
 * argument checks (measured, Node 20). Exp/tanh/sigmoid pay off from 16 elements.
 */
const THRESHOLDS = { gemm: 32, unaryCheap: 64, unaryTranscendental: 16, binary: 128, reduce: 128, adam: 64 };
const TRANSCENDENTAL = new Set<UnaryKernel>(['exp', 'tanh', 'sigmoid', 'expm1']);

const ADDON_PATHS = [
  // from src/backend/native/ and from dist/backend/native/ alike
  '../../../native/build/Release/chainrule_native.node',
  '../../../native/build/Debug/chainrule_native.node',
];

let cached: Addon | null | undefined;

/** CHAINRULE_KERNEL_THRESHOLDS=0 sends even tiny inputs to the fast kernels (the test matrix uses it). */
export function thresholdsFromEnv(): boolean {
  return typeof process === 'undefined' || process.env?.CHAINRULE_KERNEL_THRESHOLDS !== '0';
}

type NodeModule = { createRequire(from: string | URL): (id: string) => unknown };
type NodeFs = { existsSync(path: string): boolean };
type NodeUrl = { fileURLToPath(url: URL): string };

/**
 * Loads the addon once, synchronously; null when it is not built, fails to load, or
 * CHAINRULE_NATIVE=0. Node built-ins come through `process.getBuiltinModule` (no static
 * `node:` import), so a browser bundle of the core stays free of them.
 */
export function loadAddon(): Addon | null {
  if (cached !== undefined) return cached;
  cached = null;
  if (typeof process === 'undefined' || process.env?.CHAINRULE_NATIVE === '0') return null;
  const mod = nodeBuiltin<NodeModule>('node:module');
  const fs = nodeBuiltin<NodeFs>('node:fs');
  const url = nodeBuiltin<NodeUrl>('node:url');
  if (!mod || !fs || !url) return null;
  const require = mod.createRequire(import.meta.url);
  for (const rel of ADDON_PATHS) {
    const file = url.fileURLToPath(new URL(rel, import.meta.url));
    if (!fs.existsSync(file)) continue;
    try {
      cached = require(file) as Addon;
      break;
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

export function createNativeBackend(fallback: Backend, options: NativeBackendOptions = {}): Backend | null {
  const addon = loadAddon();
  if (!addon) return null;
  if (options.isa) addon.setIsa(options.isa);
  const info = addon.info();
  const threads = Math.max(1, Math.floor(options.threads ?? info.threads));
  if (threads > info.threads) addon.setThreads(threads);
  const t = (options.thresholds ?? thresholdsFromEnv()) === false
    ? { gemm: 0, unaryCheap: 0, unaryTranscendental: 0, binary: 0, reduce: 0, adam: 0 }
    : THRESHOLDS;

  function gemm(args: GemmArgs): void {
    const { a, b, c, m, n, k } = args;
    if (!isF32(a) || !isF32(b) || !isF32(c) || m * n * k < t.gemm) return fallback.gemm(args);
    const { bias, relu } = args;
    if (bias || relu) {
      const fused = addon!.gemmFused; // absent from an addon built before it existed
      if (!fused || args.accumulate || (bias && !isF32(bias))) return gemmWithEpilogue(args, gemm, (x) => unary('relu', x, x));
      return fused(args.transA, args.transB, m, n, k, a, args.aOffset, b, args.bOffset, c, args.cOffset, bias ?? null, !!relu, threads);
    }
    addon!.gemm(args.transA, args.transB, m, n, k, a, args.aOffset, b, args.bOffset, c, args.cOffset, args.accumulate, threads);
  }

  function gemmBatched(g: GemmArgs, aOffsets: Int32Array, bOffsets: Int32Array): boolean {
    const batched = addon!.gemmBatched; // absent from an addon built before it existed
    const { a, b, c, m, n, k } = g;
    if (!batched || g.bias || g.relu || !isF32(a) || !isF32(b) || !isF32(c) || m * n * k < t.gemm) return false;
    batched(g.transA, g.transB, m, n, k, a, aOffsets, b, bOffsets, c, g.cOffset, g.accumulate, threads);
    return true;
  }

  function unary(op: UnaryKernel, x: FloatArray, out: FloatArray): void {
    const code = UNARY_CODES[op];
    const min = TRANSCENDENTAL.has(op) ? t.unaryTranscendental : t.unaryCheap;
    if (code === undefined || !isF32(x) || !isF32(out) || x.length < min) return fallback.unary(op, x, out);
    addon!.unary(code, x, out, threads);
  }

  function binary(
    op: BinaryKernel, a: TypedArray, aStrides: readonly number[], b: TypedArray, bStrides: readonly number[],
    out: TypedArray, outShape: readonly number[],
  ): void {
    const code = BINARY_CODES[op];
    const n = out.length;
    if (code === undefined || !isF32(a) || !isF32(b) || !isF32(out) || n < t.binary || n === 0) {
      return fallback.binary(op, a, aStrides, b, bStrides, out, outShape);
    }
    const plan = rowBlocks(outShape, aStrides, bStrides);
    if (plan === null) return fallback.binary(op, a, aStrides, b, bStrides, out, outShape);
    const { rows, cols, ra, sa, rb, sb } = plan;
    forEachOuterBlock(plan.c, (ao, bo, oo) => addon!.binary(code, a, ao, ra, sa, b, bo, rb, sb, out, oo, rows, cols, threads));
  }

  function reduce(op: ReduceKernel, x: TypedArray, outer: number, size: number, inner: number, out: TypedArray): void {
    if (!isF32(x) || !isF32(out) || x.length < t.reduce) return fallback.reduce(op, x, outer, size, inner, out);
    if (op === 'sum') return addon!.reduceSum(x, outer, size, inner, out);
    // max/min (max-pooling's windows): an addon built before this kernel existed falls back.
    if ((op === 'max' || op === 'min') && size > 0 && addon!.reduceMinMax) return addon!.reduceMinMax(op === 'max', x, outer, size, inner, out);
    fallback.reduce(op, x, outer, size, inner, out);
  }

  function compare(
    op: CompareKernel, a: TypedArray, aStrides: readonly number[], b: TypedArray, bStrides: readonly number[],
    out: Uint8Array, outShape: readonly number[],
  ): void {
    const kernel = addon!.compare; // absent from an addon built before this kernel existed
    if (!isF32(a) || !isF32(b) || out.length < t.binary || !kernel) return fallback.compare(op, a, aStrides, b, bStrides, out, outShape);
    const plan = rowBlocks(outShape, aStrides, bStrides);
    if (plan === null) return fallback.compare(op, a, aStrides, b, bStrides, out, outShape);
    const code = COMPARE_CODES[op];
    const { rows, cols, ra, sa, rb, sb } = plan;
    const fa: Float32Array = a;
    const fb: Float32Array = b;
    forEachOuterBlock(plan.c, (ao, bo, oo) => kernel(code, fa, ao, ra, sa, fb, bo, rb, sb, out, oo, rows, cols));
  }

  function adamStep(s: AdamArgs): boolean {
    const { param, grad, expAvg, expAvgSq, maxExpAvgSq } = s;
    if (!isF32(param) || !isF32(grad) || !isF32(expAvg) || !isF32(expAvgSq) || (maxExpAvgSq && !isF32(maxExpAvgSq))) return false;
    if (param.length < t.adam) return false;
    addon!.adamStep(param, grad, expAvg, expAvgSq, maxExpAvgSq, s.beta1, s.beta2, s.eps, s.negStepSize, s.bias2Sqrt, s.l2, s.shrink, s.sign);
    return true;
  }

  function gatherRowsU8(src: Uint8Array, rowLength: number, rows: Int32Array, scale: number, shift: number, out: Float32Array): boolean {
    if (typeof addon!.gatherRowsU8 !== 'function') return false; // an addon built before this kernel existed
    addon!.gatherRowsU8(src, rowLength, rows, scale, shift, out);
    return true;
  }

  function gatherRowsF32(src: Float32Array, rowLength: number, rows: Int32Array, out: Float32Array): boolean {
    if (typeof addon!.gatherRowsF32 !== 'function') return false; // an addon built before this kernel existed
    addon!.gatherRowsF32(src, rowLength, rows, out);
    return true;
  }

  /** im2col (toCols) or col2im; absent from an addon built before it existed: the TypeScript loops then run. */
  function windows(toCols: boolean, src: Float32Array, planes: number, h: number, w: number, g: WindowArgs, padValue: number, out: Float32Array): boolean {
    if (!addon!.windows) return false;
    addon!.windows(toCols, src, planes, h, w, ...windowArgs(g), padValue, out);
    return true;
  }

  function conv(kind: number, p: ConvArgs, a: Float32Array, b: Float32Array, bias: Float32Array | null, out: Float32Array, relu = false): boolean {
    if (!addon!.conv2d) return false; // an addon built before this kernel existed
    addon!.conv2d(kind, p.n, p.h, p.w, ...windowArgs(p.window), p.c, p.o, a, b, bias, out, relu);
    return true;
  }

  return {
    name: `native-${info.isa}-${threads}t`,
    conv2dForward: (p, x, weight, bias, y, relu) => conv(0, p, x, weight, bias, y, relu),
    conv2dInputGrad: (p, gy, weight, gx) => conv(1, p, gy, weight, null, gx),
    conv2dWeightGrad: (p, x, gy, perSample) => conv(2, p, x, gy, null, perSample),
    maxPool(x: Float32Array, planes: number, h: number, w: number, g: WindowArgs, out: Float32Array, picks: Int32Array): boolean {
      if (!addon!.maxPool) return false; // an addon built before this kernel existed
      addon!.maxPool(x, planes, h, w, ...windowArgs(g), out, picks);
      return true;
    },
    maxPoolBackward(grad: Float32Array, picks: Int32Array, planes: number, size: number, l: number, out: Float32Array, pw?: PoolWindow): boolean {
      if (!addon!.maxPoolBackward) return false;
      if (pw) addon!.maxPoolBackward(grad, picks, planes, size, l, out, pw.h, pw.w, ...windowArgs(pw.window));
      else addon!.maxPoolBackward(grad, picks, planes, size, l, out);
      return true;
    },
    im2col: (x, planes, h, w, g, padValue, out) => windows(true, x, planes, h, w, g, padValue, out),
    col2im: (cols, planes, h, w, g, out) => windows(false, cols, planes, h, w, g, 0, out),
    adamStep,
    gatherRowsU8,
    gatherRowsF32,
    gemm,
    gemmBatched,
    unary,
    binary,
    compare,
    reduce,
  };
}
