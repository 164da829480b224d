import { backendTable } from '../../src/backend/dispatch.js';
import { createNativeBackend, loadAddon } from '../../src/backend/native/index.js';
import { getKernel } from '../../src/backend/registry.js';
import type { Backend, KernelName, Kernels } from '../../src/backend/types.js';
import { createWasmBackend } from '../../src/backend/wasm/index.js';

export interface Candidate {
  label: string;
  /** The name its kernels are registered under. */
  name: string;
  /** Every kernel: the backend's own where registered (the reference one where it declines), else the reference one. */
  backend: Backend;
  /** The backend's own kernel alone, true where it took the call; null where it registered none. */
  attempt<K extends KernelName>(kernel: K): ((...args: Parameters<Kernels[K]>) => boolean) | null;
}

/**
 * Every fast backend this machine can run, as registered: wasm on one and two threads and, where
 * the addon is built, native with each kernel family the CPU has. Calls go to the kernels directly
 * (no size thresholds: those are the dispatcher's, tested in registry.test.ts).
 */
export async function candidates(): Promise<Candidate[]> {
  const out: Candidate[] = [];
  for (const threads of [1, 2]) {
    const b = await createWasmBackend({ threads });
    out.push(candidate(`wasm ${threads} thread${threads > 1 ? 's' : ''}`, b.name, () => {}));
  }
  const addon = loadAddon();
  if (addon) {
    const best = addon.info().bestIsa;
    const isas = ['avx512', 'avx2', 'generic'].filter((isa, i, all) => i >= all.indexOf(best));
    const native = createNativeBackend()!;
    // The kernel family is process-wide in the addon: select it before every call.
    for (const isa of isas) out.push(candidate(`native ${isa}`, native.name, () => addon.setIsa(isa)));
    addon.setIsa(best);
  }
  return out;
}

function candidate(label: string, name: string, select: () => void): Candidate {
  const table = backendTable(name);
  const backend = { name } as Record<string, unknown>;
  for (const [k, v] of Object.entries(table)) {
    if (typeof v === 'function') backend[k] = (...args: unknown[]) => (select(), (v as (...a: unknown[]) => unknown)(...args));
  }
  return {
    label,
    name,
    backend: backend as unknown as Backend,
    attempt<K extends KernelName>(kernel: K) {
      const reg = getKernel(kernel, name);
      if (!reg) return null;
      const fn = reg.fn as unknown as (...a: unknown[]) => boolean | void;
      return ((...args: unknown[]) => (select(), fn(...args) !== false)) as (...args: Parameters<Kernels[K]>) => boolean;
    },
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
