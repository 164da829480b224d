import { referenceBackend } from './reference.js';
import { initBackend, selectBackendSync, type BackendChoice } from './select.js';
import type { Backend } from './types.js';

export type { Backend } from './types.js';
export type { BackendChoice } from './select.js';

/**
 * The one place the kernels are chosen. Ops call `backend()` at each use, so swapping the
 * backend (for a faster one, or back to the reference for a test) needs no other change.
 *
 * The choice is made once, when this module loads, so a run never changes kernels midway
 * (a seeded run, or a resumed one, gives the same numbers): in Node the fastest backend that
 * loads synchronously (native addon > WebAssembly > reference, see ./select.ts); in browsers
 * the reference kernels until `await ready()`.
 */
let current: Backend = initial();

function initial(): Backend {
  try {
    return selectBackendSync('auto');
  } catch {
    return referenceBackend;
  }
}

export function backend(): Backend {
  return current;
}

/**
 * Tiny tensors go straight to the reference kernels: a JS loop over a few dozen numbers beats
 * any call into WebAssembly or native code, and skipping the fast backend's own size check
 * keeps per-op overhead low for small graphs. CHAINRULE_KERNEL_THRESHOLDS=0 turns this off
 * (the per-backend test runs use it so that even tiny tensors exercise the fast kernels).
 */
const TINY = 256;
const routeTiny = typeof process === 'undefined' || process.env?.CHAINRULE_KERNEL_THRESHOLDS !== '0';

/** The backend for a kernel touching about `size` elements (multiply-adds for gemm). */
export function backendFor(size: number): Backend {
  return routeTiny && size < TINY ? referenceBackend : current;
}

export function setBackend(b: Backend): Backend {
  const previous = current;
  current = b;
  return previous;
}

/** The name of the backend in use, e.g. 'native-avx512-2t', 'wasm-relaxed-2t', 'reference'. */
export function backendName(): string {
  return current.name;
}

/**
 * Makes the chosen backend current once it is loaded, and returns its name. In browsers call
 * it before the first op to get WebAssembly kernels; in Node the fastest one is already in use
 * and `ready()` returns its name. An explicit choice ('reference' | 'wasm' | 'native') switches
 * to that one (falling back native > wasm > reference where it cannot load).
 *
 * @example
 *   import { ready, tensor } from 'chainrule';
 *   await ready();            // 'wasm-relaxed-1t' in a browser, 'native-avx512-2t' in Node
 */
export async function ready(choice: BackendChoice = 'auto'): Promise<string> {
  if (choice === 'auto' && current !== referenceBackend) return current.name;
  current = await initBackend(choice);
  return current.name;
}

export { referenceBackend };
