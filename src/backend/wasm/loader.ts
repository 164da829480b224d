import { env, isNode, nodeBuiltin } from '../env.js';
import * as kernels from './kernels.generated.js';

/**
 * Picks and compiles the kernel module for this runtime. No Node built-ins are imported
 * statically: the bytes are embedded as base64, and `node:v8` is only reached through
 * `process.getBuiltinModule` when `process.versions.node` says we are in Node.
 */

export interface WasmExports {
  gemm(
    transA: number, transB: number, m: number, n: number, k: number,
    a: number, b: number, c: number, accumulate: number,
    i0: number, i1: number, j0: number, j1: number, work: number,
  ): void;
  gemmWorkBytes(): number;
  heapBase(): number;
  unary(op: number, x: number, out: number, n: number): void;
  binary(op: number, a: number, ra: number, sa: number, b: number, rb: number, sb: number, out: number, rows: number, cols: number): void;
  reduceSum(x: number, outer: number, size: number, inner: number, out: number, acc: number): void;
  compare(op: number, a: number, ra: number, sa: number, b: number, rb: number, sb: number, out: number, rows: number, cols: number): void;
  reduceMinMax(isMax: number, x: number, outer: number, size: number, inner: number, out: number): void;
  im2col(x: number, planes: number, h: number, w: number, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number,
    dh: number, dw: number, padValue: number, out: number): void;
  col2im(cols: number, planes: number, h: number, w: number, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number,
    dh: number, dw: number, out: number): void;
  maxPool(x: number, planes: number, h: number, w: number, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number,
    dh: number, dw: number, out: number, picks: number): void;
  maxPoolBackward(grad: number, picks: number, planes: number, size: number, l: number, out: number): void;
  adamStep(
    x: number, g: number, m: number, v: number, n: number,
    b1: number, b2: number, k1: number, k2: number, eps: number, step: number, invBias2: number, l2: number, shrink: number, sign: number,
  ): void;
}

export interface LoadedKernels {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  exports: WasmExports;
  shared: boolean;
  relaxed: boolean;
}

/** 64 KiB wasm pages; the shared memory reserves address space up to this many (2 GiB). */
const MAX_PAGES = 32768;

function decode(base64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(base64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

/**
 * Relaxed SIMD (fused multiply-add in the GEMM tile) is standard from V8 11.4; Node 20 has it
 * behind a flag that may still be switched on before compiling.
 */
function relaxedSimdAvailable(bytes: Uint8Array<ArrayBuffer>): boolean {
  if (WebAssembly.validate(bytes)) return true;
  if (!isNode || !env.wasmRelaxed) return false;
  const v8 = nodeBuiltin<{ setFlagsFromString(flags: string): void }>('node:v8');
  if (!v8) return false;
  try {
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    return false;
  }
  return WebAssembly.validate(bytes);
}

function makeMemory(shared: boolean): WebAssembly.Memory | null {
  try {
    return new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES, shared });
  } catch {
    return null;
  }
}

interface Prepared {
  memory: WebAssembly.Memory;
  bytes: Uint8Array<ArrayBuffer>;
  shared: boolean;
  relaxed: boolean;
}

/**
 * Shared memory is used when the runtime allows it (Node; cross-origin-isolated pages), so a
 * worker can run part of a GEMM on the same buffers; otherwise plain memory and one thread.
 */
function prepare(wantShared: boolean): Prepared | null {
  if (typeof WebAssembly !== 'object') return null;
  let memory = wantShared && typeof SharedArrayBuffer === 'function' ? makeMemory(true) : null;
  const shared = memory !== null;
  memory ??= makeMemory(false);
  if (!memory) return null;
  const relaxedBytes = decode(shared ? kernels.sharedRelaxed : kernels.plainRelaxed);
  const relaxed = relaxedSimdAvailable(relaxedBytes);
  const bytes = relaxed ? relaxedBytes : decode(shared ? kernels.shared : kernels.plain);
  if (!WebAssembly.validate(bytes)) return null; // no SIMD support
  return { memory, bytes, shared, relaxed };
}

function finish(p: Prepared, module: WebAssembly.Module, instance: WebAssembly.Instance): LoadedKernels {
  return { module, memory: p.memory, exports: instance.exports as unknown as WasmExports, shared: p.shared, relaxed: p.relaxed };
}

/** Compiles asynchronously (browsers refuse large synchronous compiles on the main thread). */
export async function loadKernels(wantShared: boolean): Promise<LoadedKernels | null> {
  const p = prepare(wantShared);
  if (!p) return null;
  const module = await WebAssembly.compile(p.bytes);
  return finish(p, module, await WebAssembly.instantiate(module, { env: { memory: p.memory, abort: () => {} } }));
}

/** Compiles synchronously: fine in Node, where the module (a few KB) compiles in about a millisecond. */
export function loadKernelsSync(wantShared: boolean): LoadedKernels | null {
  const p = prepare(wantShared);
  if (!p) return null;
  const module = new WebAssembly.Module(p.bytes);
  return finish(p, module, new WebAssembly.Instance(module, { env: { memory: p.memory, abort: () => {} } }));
}
