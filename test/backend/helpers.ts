import { createNativeBackend, loadAddon } from '../../src/backend/native/index.js';
import { referenceBackend } from '../../src/backend/reference.js';
import type { Backend } from '../../src/backend/types.js';
import { createWasmBackend } from '../../src/backend/wasm/index.js';

export interface Candidate {
  label: string;
  backend: Backend;
}

/**
 * Every fast backend this machine can run: wasm on one and two threads and, where the addon is
 * built, native with each kernel family the CPU has. Size thresholds are off so even tiny
 * inputs reach the kernels; one entry per backend keeps the thresholds, to test delegation.
 */
export async function candidates(): Promise<Candidate[]> {
  const out: Candidate[] = [
    { label: 'wasm 1 thread', backend: await createWasmBackend(referenceBackend, { threads: 1, thresholds: false }) },
    { label: 'wasm 2 threads', backend: await createWasmBackend(referenceBackend, { threads: 2, thresholds: false }) },
    { label: 'wasm default', backend: await createWasmBackend(referenceBackend) },
  ];
  const addon = loadAddon();
  if (addon) {
    const best = addon.info().bestIsa;
    const isas = ['avx512', 'avx2', 'generic'].filter((isa, i, all) => i >= all.indexOf(best));
    for (const isa of isas) {
      const native = createNativeBackend(referenceBackend, { thresholds: false })!;
      // The kernel family is process-wide in the addon: select it before every call.
      out.push({ label: `native ${isa}`, backend: withIsa(native, () => addon.setIsa(isa)) });
    }
    const best2 = createNativeBackend(referenceBackend)!;
    out.push({ label: 'native default', backend: withIsa(best2, () => addon.setIsa(best)) });
  }
  return out;
}

function withIsa(b: Backend, select: () => void): Backend {
  return {
    name: b.name,
    gemm: (args) => (select(), b.gemm(args)),
    gemmBatched: b.gemmBatched && ((g, ao, bo) => (select(), b.gemmBatched!(g, ao, bo))),
    unary: (op, x, out) => (select(), b.unary(op, x, out)),
    binary: (op, a, as, bb, bs, out, shape) => (select(), b.binary(op, a, as, bb, bs, out, shape)),
    compare: (op, a, as, bb, bs, out, shape) => (select(), b.compare(op, a, as, bb, bs, out, shape)),
    reduce: (op, x, o, s, i, out) => (select(), b.reduce(op, x, o, s, i, out)),
    im2col: b.im2col && ((x, planes, h, w, g, pad, out) => (select(), b.im2col!(x, planes, h, w, g, pad, out))),
    col2im: b.col2im && ((cols, planes, h, w, g, out) => (select(), b.col2im!(cols, planes, h, w, g, out))),
    maxPool: b.maxPool && ((x, planes, h, w, g, out, picks) => (select(), b.maxPool!(x, planes, h, w, g, out, picks))),
    maxPoolBackward: b.maxPoolBackward && ((gr, picks, planes, size, l, out, pw) => (select(), b.maxPoolBackward!(gr, picks, planes, size, l, out, pw))),
    conv2dForward: b.conv2dForward && ((p, x, w, bias, y, relu) => (select(), b.conv2dForward!(p, x, w, bias, y, relu))),
    conv2dInputGrad: b.conv2dInputGrad && ((p, gy, w, gx) => (select(), b.conv2dInputGrad!(p, gy, w, gx))),
    conv2dWeightGrad: b.conv2dWeightGrad && ((p, x, gy, per) => (select(), b.conv2dWeightGrad!(p, x, gy, per))),
  };
}

/** Deterministic values in [-1, 1) (xorshift), so failures reproduce. */
export function randomArray(n: number, seed = 1, scale = 1): Float32Array {
  let s = (seed * 2654435761) >>> 0 || 1;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    a[i] = ((s >>> 0) / 4294967296 * 2 - 1) * scale;
  }
  return a;
}

/** Index of the first mismatch (NaN matches NaN, ±Infinity must match exactly), or -1. */
export function firstMismatch(got: ArrayLike<number>, want: ArrayLike<number>, rtol: number, atol: number): number {
  if (got.length !== want.length) return 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    if (Number.isNaN(w) ? !Number.isNaN(g) : !Number.isFinite(w) ? g !== w : !(Math.abs(g - w) <= atol + rtol * Math.abs(w))) {
      return i;
    }
  }
  return -1;
}

export function describeMismatch(got: ArrayLike<number>, want: ArrayLike<number>, i: number): string {
  return i < 0 ? 'ok' : `index ${i}: got ${got[i]}, want ${want[i]}`;
}
