import type { AdamArgs, Backend, BinaryKernel, CompareKernel, ConvArgs, FastKernel, FloatArray, GemmArgs, KernelName, ReduceKernel, TypedArray, UnaryKernel, WindowArgs } from '../types.js';
import { forEachOuterBlock, rowBlocks } from '../blocks.js';
import { backendTable, unusedName } from '../dispatch.js';
import { env } from '../env.js';
import { gemmWithEpilogue } from '../epilogue.js';
import { registerKernels } from '../registry.js';
import { WASM_GEMM_PARALLEL } from '../thresholds.js';
import { windowNumbers } from '../window.js';
import { loadKernels, loadKernelsSync, type LoadedKernels } from './loader.js';
import { BINARY_CODES, COMPARE_CODES, UNARY_CODES } from './ops.js';
import { CTRL_INTS, GemmWorkers } from './threads.js';

/**
 * The WebAssembly SIMD backend: fp32 GEMM, elementwise ops, reductions, the window kernels and
 * Adam on float32 arrays, registered under a name like 'wasm-relaxed-2t'; every other dtype, op
 * or layout is declined and runs on the reference kernels. Inputs are copied into the module's
 * memory and results copied back (~20–35 GB/s), so small sizes never reach it (../thresholds.ts).
 */

export interface WasmBackendOptions {
  /** Threads for GEMM including the caller; default CHAINRULE_WASM_THREADS, else min(2, cores). 1 = no workers. */
  threads?: number;
}

/** Elementwise arrays are streamed through the module in chunks this size (floats) to stay in cache. */
const CHUNK = 1 << 15;
const NR = 8;

function isF32(x: TypedArray): x is Float32Array {
  return x instanceof Float32Array;
}

class Arena {
  f32: Float32Array;
  private readonly base: number;

  constructor(private readonly memory: WebAssembly.Memory, base: number) {
    this.base = base;
    this.f32 = new Float32Array(memory.buffer);
  }

  /** Makes room for `floats` floats after the fixed area and returns their byte address, or -1. */
  reserve(floats: number): number {
    const need = this.base + floats * 4 + 64;
    const have = this.memory.buffer.byteLength;
    if (need > have) {
      try {
        this.memory.grow(Math.ceil((need - have) / 65536));
      } catch {
        return -1; // past the memory's maximum: the kernel declines, the reference one runs
      }
      this.f32 = new Float32Array(this.memory.buffer);
    } else if (this.f32.length * 4 !== have) {
      this.f32 = new Float32Array(this.memory.buffer);
    }
    return this.base;
  }
}

const align16 = (x: number): number => (x + 15) & ~15;

function threadCount(options: WasmBackendOptions): number {
  const cores = typeof navigator !== 'undefined' && navigator.hardwareConcurrency ? navigator.hardwareConcurrency : 2;
  return Math.max(1, Math.floor(options.threads ?? env.wasmThreads ?? Math.min(2, cores)));
}

export interface WasmBackend extends Backend {
  /** Settles once the helper threads run (or were given up); the results never depend on it. */
  readonly threadsReady: Promise<void>;
}

/**
 * Loads the kernels (async: compiling the module, starting the workers) and returns the backend.
 * Rejects where WebAssembly SIMD is not available; `initBackend` in ../select.ts catches that.
 */
export async function createWasmBackend(options: WasmBackendOptions = {}): Promise<WasmBackend> {
  const threads = threadCount(options);
  const loaded = await loadKernels(threads > 1);
  if (!loaded) throw new Error('chainrule: WebAssembly SIMD is not available here');
  const b = build(loaded, threads);
  await b.threadsReady;
  return b;
}

/**
 * The same, compiled synchronously (Node): usable at once on one thread, the helper thread
 * joins when it has started. That cannot change a result: every element of C is summed in the
 * same order whichever thread computes its block. Null where WebAssembly SIMD is missing.
 */
export function createWasmBackendSync(options: WasmBackendOptions = {}): WasmBackend | null {
  const threads = threadCount(options);
  const loaded = loadKernelsSync(threads > 1);
  return loaded ? build(loaded, threads) : null;
}

function build(k: LoadedKernels, threads: number): WasmBackend {
  const wx = k.exports;
  const workBytes = align16(wx.gemmWorkBytes());
  // Fixed area: scratch at heapBase, one control block per worker, one GEMM work area per thread.
  let top = align16(wx.heapBase() + 64);
  const ctrlOffsets: number[] = [];
  for (let t = 1; t < threads; t++) {
    ctrlOffsets.push(top);
    top += CTRL_INTS * 4;
  }
  const works: number[] = [];
  for (let t = 0; t < threads; t++) {
    works.push(top);
    top += workBytes;
  }
  const arena = new Arena(k.memory, align16(top));
  arena.reserve(0);
  const launched = threads > 1 ? GemmWorkers.launch(k.module, k.memory, ctrlOffsets) : null;
  const workers = launched?.workers ?? null;
  const threadsReady = launched?.started ?? Promise.resolve();

  // The first write to each page of a fresh output array faults (~2 ms for 4 MB here, more than
  // the copy itself), and Tensor ops hand GEMM fresh arrays. On a column split the caller
  // therefore writes one float per 4 KB page of C (overwritten by the copy out) while the
  // helpers still run, and takes a narrower block by the time that took: running estimates of
  // its ms per multiply-add and ms per element of C touched. Results do not depend on the split.
  // A sample above 2× the fault cost measured here (2 µs per 4 KB page) is a preemption, not
  // page faults; it is clamped so that one cannot hand the helpers too much.
  const MAX_MS_PER_TOUCH = 4e-6;
  let msPerMac = 0;
  let msPerTouch = 0;

  function gemm(args: GemmArgs): boolean | void {
    const { transA, transB, m, n, k: kk, a, b, c, accumulate } = args;
    if (!isF32(a) || !isF32(b) || !isF32(c)) return false;
    if (args.bias || args.relu) return gemmWithEpilogue(args, gemm, (x) => unary('relu', x, x));
    if (m === 0 || n === 0) return;
    const aLen = m * kk;
    const bLen = kk * n;
    const cLen = m * n;
    const pa = arena.reserve(aLen + bLen + cLen + 8);
    if (pa < 0) return false;
    const pb = align16(pa + aLen * 4);
    const pc = align16(pb + bLen * 4);
    const f32 = arena.f32;
    f32.set(a.subarray(args.aOffset, args.aOffset + aLen), pa >> 2);
    f32.set(b.subarray(args.bOffset, args.bOffset + bLen), pb >> 2);
    if (accumulate) f32.set(c.subarray(args.cOffset, args.cOffset + cLen), pc >> 2);
    const common = [transA ? 1 : 0, transB ? 1 : 0, m, n, kk, pa, pb, pc, accumulate ? 1 : 0];
    const w8 = workers !== null && m * n * kk >= WASM_GEMM_PARALLEL && workers.ready() ? workers : null;
    const parts = w8 ? w8.count + 1 : 1;
    if (parts > 1 && n >= parts * 2 * NR) {
      // Columns split at multiples of the 8-wide tile; the caller takes the first block, made
      // narrower by the time it then spends touching the pages of C (see `msPerTouch`).
      const share = n / parts;
      const shift = msPerMac > 0 ? Math.min(share / 8, (msPerTouch * cLen * (parts - 1)) / (parts * msPerMac * m * kk)) : 0;
      const mine = Math.max(NR, Math.round((share - shift) / NR) * NR);
      const step = Math.ceil((n - mine) / (parts - 1) / NR) * NR;
      for (let w = 1; w < parts; w++) {
        const j0 = Math.min(n, mine + (w - 1) * step);
        w8!.post(w - 1, [...common, 0, m, j0, Math.min(n, j0 + step), works[w]!]);
      }
      const t0 = performance.now();
      wx.gemm(common[0]!, common[1]!, m, n, kk, pa, pb, pc, common[8]!, 0, m, 0, mine, works[0]!);
      const t1 = performance.now();
      const co = args.cOffset;
      for (let i = co; i < co + cLen; i += 1024) c[i] = 0;
      c[co + cLen - 1] = 0;
      const t2 = performance.now();
      const rate = (t1 - t0) / (m * mine * kk);
      msPerMac = msPerMac > 0 ? 0.5 * (msPerMac + rate) : rate;
      msPerTouch = 0.5 * (msPerTouch + Math.min(MAX_MS_PER_TOUCH, (t2 - t1) / cLen));
      for (let w = 1; w < parts; w++) w8!.wait(w - 1);
    } else if (parts > 1 && m >= parts * 6) {
      const step = Math.ceil(m / parts / 6) * 6;
      for (let w = 1; w < parts; w++) {
        const i0 = Math.min(m, w * step);
        w8!.post(w - 1, [...common, i0, Math.min(m, i0 + step), 0, n, works[w]!]);
      }
      wx.gemm(common[0]!, common[1]!, m, n, kk, pa, pb, pc, common[8]!, 0, Math.min(m, step), 0, n, works[0]!);
      for (let w = 1; w < parts; w++) w8!.wait(w - 1);
    } else {
      wx.gemm(common[0]!, common[1]!, m, n, kk, pa, pb, pc, common[8]!, 0, m, 0, n, works[0]!);
    }
    c.set(arena.f32.subarray(pc >> 2, (pc >> 2) + cLen), args.cOffset);
  }

  /**
   * Products evenly spaced in A and in B (a broadcast operand: step 0), as a convolution's or a
   * batched matmul's: all of them copied in at once, and whole products shared out between the
   * caller and the helper thread. Each product is computed by one thread over all of C, which
   * sums every element as gemm() does.
   */
  function gemmBatched(g: GemmArgs, aOffsets: Int32Array, bOffsets: Int32Array): boolean | void {
    const { transA, transB, m, n, k: kk, a, b, c, accumulate } = g;
    const count = aOffsets.length;
    if (!isF32(a) || !isF32(b) || !isF32(c) || g.bias || g.relu) return false;
    if (m === 0 || n === 0 || count === 0) return;
    if (!evenlySpaced(aOffsets, bOffsets)) return gemmEach(g, aOffsets, bOffsets);
    const sa = count > 1 ? aOffsets[1]! - aOffsets[0]! : 0;
    const sb = count > 1 ? bOffsets[1]! - bOffsets[0]! : 0;
    const cLen = m * n;
    const aSpan = sa * (count - 1) + m * kk;
    const bSpan = sb * (count - 1) + kk * n;
    const pa = arena.reserve(aSpan + bSpan + cLen * count + 8);
    if (pa < 0) return false;
    const pb = align16(pa + aSpan * 4);
    const pc = align16(pb + bSpan * 4);
    const f32 = arena.f32;
    f32.set(a.subarray(aOffsets[0]!, aOffsets[0]! + aSpan), pa >> 2);
    f32.set(b.subarray(bOffsets[0]!, bOffsets[0]! + bSpan), pb >> 2);
    if (accumulate) f32.set(c.subarray(g.cOffset, g.cOffset + cLen * count), pc >> 2);
    gemmEachInModule(transA, transB, m, n, kk, pa, sa * 4, pb, sb * 4, pc, count, accumulate);
    c.set(arena.f32.subarray(pc >> 2, (pc >> 2) + cLen * count), g.cOffset);
    return true;
  }

  /**
   * Products at arbitrary offsets (a broadcast batch of a matmul): one gemm() each. Every item
   * asks the arena for the same room, so where the first one gets it all do: a decline can only
   * come before anything is written (the reference kernel then redoes all of them).
   */
  function gemmEach(g: GemmArgs, aOffsets: Int32Array, bOffsets: Int32Array): boolean | void {
    const c0 = g.cOffset;
    for (let i = 0; i < aOffsets.length; i++) {
      if (gemm({ ...g, aOffset: aOffsets[i]!, bOffset: bOffsets[i]!, cOffset: c0 + i * g.m * g.n }) === false) return false;
    }
  }

  /**
   * `count` products on operands already in the module's memory: the i-th reads A at pa + i·aStep
   * and B at pb + i·bStep (bytes) and writes C at pc + i·m·n floats. Whole products are shared out
   * between the caller and the helper thread; each is one thread's over all of C (gemm()'s values).
   */
  function gemmEachInModule(
    transA: boolean, transB: boolean, m: number, n: number, kk: number, pa: number, aStep: number, pb: number, bStep: number,
    pc: number, count: number, accumulate: boolean,
  ): void {
    const cStep = m * n * 4;
    const w8 = workers !== null && m * n * kk * count >= WASM_GEMM_PARALLEL && workers.ready() ? workers : null;
    const parts = w8 ? w8.count + 1 : 1;
    const per = Math.ceil(count / parts);
    const flags = [transA ? 1 : 0, transB ? 1 : 0, accumulate ? 1 : 0] as const;
    for (let w = 1; w < parts; w++) {
      const i0 = Math.min(count, w * per);
      const i1 = Math.min(count, i0 + per);
      if (i0 >= i1) continue;
      w8!.post(w - 1, [flags[0], flags[1], m, n, kk, pa + i0 * aStep, pb + i0 * bStep, pc + i0 * cStep, flags[2], 0, m, 0, n, works[w]!], [i1 - i0, aStep, bStep, cStep]);
    }
    for (let i = 0; i < Math.min(count, per); i++) {
      wx.gemm(flags[0], flags[1], m, n, kk, pa + i * aStep, pb + i * bStep, pc + i * cStep, flags[2], 0, m, 0, n, works[0]!);
    }
    for (let w = 1; w < parts; w++) if (Math.min(count, w * per) < count) w8!.wait(w - 1);
  }

  /**
   * One group of a convolution with everything in the module's memory: the batch's im2col columns
   * (or their gradient) are made, multiplied and walked back there and never copied out. The same
   * kernels as im2col, gemmBatched and col2im through JavaScript, so the same values.
   */
  function conv(kind: 0 | 1 | 2, p: ConvArgs, a: FloatArray, b: FloatArray, bias: FloatArray | null, out: FloatArray, relu: boolean): boolean {
    if (!isF32(a) || !isF32(b) || !isF32(out) || (bias !== null && !isF32(bias))) return false;
    const { n, c, h, w, o } = p;
    const { kh, kw, sh, sw, ph, pw, dh, dw, oh, ow } = windowNumbers(h, w, p.window);
    const k = c * kh * kw;
    const l = oh * ow;
    if (oh < 1 || ow < 1 || n < 1) return false;
    const image = n * c * h * w;
    const cols = n * k * l;
    const outputs = n * o * l;
    // [A operand][B operand][columns][result], 16-byte aligned each.
    const [aLen, bLen, outLen] = kind === 0 ? [image, o * k, outputs] : kind === 1 ? [outputs, o * k, image] : [image, outputs, n * o * k];
    const pa = arena.reserve(aLen + bLen + cols + outLen + 16);
    if (pa < 0) return false;
    const pb = align16(pa + aLen * 4);
    const pcols = align16(pb + bLen * 4);
    const pout = align16(pcols + cols * 4);
    const f32 = arena.f32;
    f32.set(a.subarray(0, aLen), pa >> 2);
    f32.set(b.subarray(0, bLen), pb >> 2);
    const geometry = [kh, kw, sh, sw, ph, pw, dh, dw] as const;
    if (kind === 0) {
      // y[s] = [bias +] W·cols[s], then relu.
      wx.im2col(pa, n * c, h, w, ...geometry, 0, pcols);
      if (bias) for (let r = 0; r < n * o; r++) f32.fill(bias[r % o]!, (pout >> 2) + r * l, (pout >> 2) + (r + 1) * l);
      gemmEachInModule(false, false, o, l, k, pb, 0, pcols, k * l * 4, pout, n, bias !== null);
      if (relu) wx.unary(UNARY_CODES.relu!, pout, pout, outputs);
    } else if (kind === 1) {
      // dcols[s] = Wᵀ·gy[s], then summed back into the image.
      gemmEachInModule(true, false, k, l, o, pb, 0, pa, o * l * 4, pcols, n, false);
      wx.col2im(pcols, n * c, h, w, ...geometry, pout);
    } else {
      // per[s] = gy[s]·cols[s]ᵀ.
      wx.im2col(pa, n * c, h, w, ...geometry, 0, pcols);
      gemmEachInModule(false, true, o, k, l, pb, o * l * 4, pcols, k * l * 4, pout, n, false);
    }
    out.set(arena.f32.subarray(pout >> 2, (pout >> 2) + outLen));
    return true;
  }

  function unary(op: UnaryKernel, x: FloatArray, out: FloatArray): boolean | void {
    const code = UNARY_CODES[op];
    if (code === undefined || !isF32(x) || !isF32(out)) return false;
    const n = x.length;
    const p = arena.reserve(Math.min(n, CHUNK));
    const f32 = arena.f32;
    for (let s = 0; s < n; s += CHUNK) {
      const len = Math.min(CHUNK, n - s);
      f32.set(len === n ? x : x.subarray(s, s + len), p >> 2);
      wx.unary(code, p, p, len);
      out.set(f32.subarray(p >> 2, (p >> 2) + len), s);
    }
  }

  function binary(
    op: BinaryKernel, a: TypedArray, aStrides: readonly number[], b: TypedArray, bStrides: readonly number[],
    out: TypedArray, outShape: readonly number[],
  ): boolean | void {
    const code = BINARY_CODES[op];
    const n = out.length;
    if (code === undefined || !isF32(a) || !isF32(b) || !isF32(out)) return false;
    const plan = n === 0 ? null : rowBlocks(outShape, aStrides, bStrides);
    if (plan === null) return false;
    const { rows, cols, ra, sa, rb, sb } = plan;
    if (plan.c.shape.length === 1 && sa === 1 && sb === 1) {
      // Same shape: stream in chunks, a and b side by side.
      const pa = arena.reserve(2 * Math.min(n, CHUNK));
      const pb = pa + Math.min(n, CHUNK) * 4;
      const f32 = arena.f32;
      for (let s = 0; s < n; s += CHUNK) {
        const len = Math.min(CHUNK, n - s);
        f32.set(len === n ? a : a.subarray(s, s + len), pa >> 2);
        f32.set(len === n ? b : b.subarray(s, s + len), pb >> 2);
        wx.binary(code, pa, 0, 1, pb, 0, 1, pa, 1, len);
        out.set(f32.subarray(pa >> 2, (pa >> 2) + len), s);
      }
      return;
    }
    const pa = arena.reserve(a.length + b.length + n + 8);
    if (pa < 0) return false;
    const pb = align16(pa + a.length * 4);
    const po = align16(pb + b.length * 4);
    const f32 = arena.f32;
    f32.set(a, pa >> 2);
    f32.set(b, pb >> 2);
    forEachOuterBlock(plan.c, (ao, bo, oo) => {
      wx.binary(code, pa + ao * 4, ra, sa, pb + bo * 4, rb, sb, po + oo * 4, rows, cols);
    });
    out.set(f32.subarray(po >> 2, (po >> 2) + n));
  }

  function reduce(op: ReduceKernel, x: TypedArray, outer: number, size: number, inner: number, out: TypedArray): boolean | void {
    if ((op === 'max' || op === 'min') && size > 0) return reduceMinMax(op === 'max', x, outer, size, inner, out);
    if (op !== 'sum' || !isF32(x) || !isF32(out) || outer * inner === 0) return false;
    const total = outer * size * inner;
    const px = arena.reserve(total + outer * inner + 2 * inner + 16);
    if (px < 0) return false;
    const po = align16(px + total * 4);
    const pacc = align16(po + outer * inner * 4);
    const f32 = arena.f32;
    f32.set(x.length === total ? x : x.subarray(0, total), px >> 2);
    wx.reduceSum(px, outer, size, inner, po, pacc);
    out.set(f32.subarray(po >> 2, (po >> 2) + outer * inner));
  }

  function reduceMinMax(max: boolean, x: TypedArray, outer: number, size: number, inner: number, out: TypedArray): boolean | void {
    const total = outer * size * inner;
    const px = isF32(x) && isF32(out) && outer * inner > 0 ? arena.reserve(total + outer * inner + 8) : -1;
    if (px < 0) return false;
    const po = align16(px + total * 4);
    const f32 = arena.f32;
    f32.set(x.length === total ? x : x.subarray(0, total), px >> 2);
    wx.reduceMinMax(max ? 1 : 0, px, outer, size, inner, po);
    out.set(f32.subarray(po >> 2, (po >> 2) + outer * inner));
  }

  function compare(
    op: CompareKernel, a: TypedArray, aStrides: readonly number[], b: TypedArray, bStrides: readonly number[],
    out: Uint8Array, outShape: readonly number[],
  ): boolean | void {
    const n = out.length;
    const plan = isF32(a) && isF32(b) && n > 0 ? rowBlocks(outShape, aStrides, bStrides) : null;
    // a, b and the bytes out, one after another (the out region in floats, rounded up).
    const pa = plan === null ? -1 : arena.reserve(a.length + b.length + Math.ceil(n / 4) + 8);
    if (plan === null || pa < 0) return false;
    const pb = align16(pa + a.length * 4);
    const po = align16(pb + b.length * 4);
    arena.f32.set(a as Float32Array, pa >> 2);
    arena.f32.set(b as Float32Array, pb >> 2);
    const code = COMPARE_CODES[op];
    const { rows, cols, ra, sa, rb, sb } = plan;
    forEachOuterBlock(plan.c, (ao, bo, oo) => {
      wx.compare(code, pa + ao * 4, ra, sa, pb + bo * 4, rb, sb, po + oo, rows, cols);
    });
    out.set(new Uint8Array(arena.f32.buffer, po, n));
  }

  /** im2col (toCols) or col2im through the module: the window walk of ops/rules/conv.ts, one thread. */
  function windows(toCols: boolean, src: FloatArray, planes: number, h: number, w: number, g: WindowArgs, padValue: number, out: FloatArray): boolean {
    if (!isF32(src) || !isF32(out)) return false;
    const { kh, kw, sh, sw, ph, pw, dh, dw, oh, ow } = windowNumbers(h, w, g);
    const colLen = planes * kh * kw * oh * ow;
    const imgLen = planes * h * w;
    const srcLen = toCols ? imgLen : colLen;
    if (oh < 1 || ow < 1 || src.length < srcLen || out.length < (toCols ? colLen : imgLen)) return false;
    const ps = arena.reserve(imgLen + colLen + 8);
    if (ps < 0) return false;
    const pd = align16(ps + srcLen * 4);
    const f32 = arena.f32;
    f32.set(src.length === srcLen ? src : src.subarray(0, srcLen), ps >> 2);
    if (toCols) wx.im2col(ps, planes, h, w, kh, kw, sh, sw, ph, pw, dh, dw, padValue, pd);
    else wx.col2im(ps, planes, h, w, kh, kw, sh, sw, ph, pw, dh, dw, pd);
    const n = toCols ? colLen : imgLen;
    out.set(f32.subarray(pd >> 2, (pd >> 2) + n));
    return true;
  }

  /** Max pooling through the module (PyTorch's scan, see ops/rules/conv.ts), one thread. */
  function maxPool(x: FloatArray, planes: number, h: number, w: number, g: WindowArgs, out: FloatArray, picks: Int32Array): boolean {
    if (!isF32(x) || !isF32(out)) return false;
    const { kh, kw, sh, sw, ph, pw, dh, dw, oh, ow } = windowNumbers(h, w, g);
    const imgLen = planes * h * w;
    const outLen = planes * oh * ow;
    if (oh < 1 || ow < 1 || 2 * ph > kh || 2 * pw > kw || x.length < imgLen || out.length < outLen || picks.length < outLen) return false;
    const px = arena.reserve(imgLen + 2 * outLen + 8);
    if (px < 0) return false;
    const po = align16(px + imgLen * 4);
    const pk = align16(po + outLen * 4);
    arena.f32.set(x.subarray(0, imgLen), px >> 2);
    wx.maxPool(px, planes, h, w, kh, kw, sh, sw, ph, pw, dh, dw, po, pk);
    out.set(arena.f32.subarray(po >> 2, (po >> 2) + outLen));
    picks.set(new Int32Array(arena.f32.buffer, pk, outLen));
    return true;
  }

  /** Its backward: each plane zeroed, then every window's gradient added at its pick, in order. */
  function maxPoolBackward(grad: FloatArray, picks: Int32Array, planes: number, size: number, l: number, out: FloatArray): boolean {
    if (!isF32(grad) || !isF32(out)) return false;
    const n = planes * l;
    if (grad.length < n || picks.length < n || out.length < planes * size) return false;
    for (let i = 0; i < n; i++) if (!(picks[i]! >= 0 && picks[i]! < size)) return false; // the loops' bounds, not the module's
    const pg = arena.reserve(2 * n + planes * size + 8);
    if (pg < 0) return false;
    const pk = align16(pg + n * 4);
    const po = align16(pk + n * 4);
    arena.f32.set(grad.subarray(0, n), pg >> 2);
    new Int32Array(arena.f32.buffer, pk, n).set(picks.subarray(0, n));
    wx.maxPoolBackward(pg, pk, planes, size, l, po);
    out.set(arena.f32.subarray(po >> 2, (po >> 2) + planes * size));
    return true;
  }

  /** Adam without amsgrad, streamed through the module in cache-sized chunks (4 arrays in, 3 out). */
  function adamStep(s: AdamArgs): boolean {
    const { param: x, grad: g, expAvg: m, expAvgSq: v } = s;
    if (s.maxExpAvgSq || !isF32(x) || !isF32(g) || !isF32(m) || !isF32(v) ) return false;
    const n = x.length;
    const c = Math.min(n, CHUNK);
    const px = arena.reserve(4 * c);
    if (px < 0) return false;
    const f32 = arena.f32;
    const [ox, og, om, ov] = [px >> 2, (px >> 2) + c, (px >> 2) + 2 * c, (px >> 2) + 3 * c];
    const invBias2 = 1 / s.bias2Sqrt;
    for (let st = 0; st < n; st += CHUNK) {
      const len = Math.min(CHUNK, n - st);
      f32.set(x.subarray(st, st + len), ox);
      f32.set(g.subarray(st, st + len), og);
      f32.set(m.subarray(st, st + len), om);
      f32.set(v.subarray(st, st + len), ov);
      wx.adamStep(ox * 4, og * 4, om * 4, ov * 4, len, s.beta1, s.beta2, 1 - s.beta1, 1 - s.beta2, s.eps, s.negStepSize, invBias2, s.l2, s.shrink, s.sign);
      x.set(f32.subarray(ox, ox + len), st);
      m.set(f32.subarray(om, om + len), st);
      v.set(f32.subarray(ov, ov + len), st);
    }
    return true;
  }

  // The name counts the threads that can really take part: one where no helper could be started
  // (a browser page without cross-origin isolation has no shared memory).
  const name = unusedName(`wasm${k.relaxed ? '-relaxed' : ''}-${workers ? workers.count + 1 : 1}t`);
  const fns: { [K in KernelName]?: FastKernel<K> } = {
    gemm, gemmBatched, unary, binary, compare, reduce, adamStep, maxPool, maxPoolBackward,
    conv2dForward: (p, x, weight, bias, y, relu) => conv(0, p, x, weight, bias, y, relu),
    conv2dInputGrad: (p, gy, weight, gx) => conv(1, p, gy, weight, null, gx, false),
    conv2dWeightGrad: (p, x, gy, perSample) => conv(2, p, x, gy, null, perSample, false),
    im2col: (x, planes, h, w, g, padValue, out) => windows(true, x, planes, h, w, g, padValue, out),
    col2im: (cols, planes, h, w, g, out) => windows(false, cols, planes, h, w, g, 0, out),
  };
  registerKernels(name, 'float32', fns);
  return { ...backendTable(name), threadsReady };
}

/** Whether the products step evenly through A and through B (a broadcast operand: step 0). */
function evenlySpaced(aOffsets: Int32Array, bOffsets: Int32Array): boolean {
  const count = aOffsets.length;
  if (count < 2) return true;
  const sa = aOffsets[1]! - aOffsets[0]!;
  const sb = bOffsets[1]! - bOffsets[0]!;
  if (sa < 0 || sb < 0) return false;
  for (let i = 2; i < count; i++) if (aOffsets[i]! - aOffsets[i - 1]! !== sa || bOffsets[i]! - bOffsets[i - 1]! !== sb) return false;
  return true;
}
