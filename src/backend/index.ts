import { backendTable, currentBackend, useBackend } from './dispatch.js';
import { referenceBackend } from './reference.js';
import { registerKernels, registeredKernels } from './registry.js';
import { initBackend, selectBackendSync } from './select.js';
import type { BackendChoice } from './env.js';
import type { Backend, FastKernel, KernelName } from './types.js';

export type { Backend } from './types.js';
export type { BackendChoice } from './env.js';
export { kernel, fusedKernel } from './dispatch.js';

/**
 * The public face of the kernels: which backend is in use, and switching it. Ops ask the
 * dispatcher (./dispatch.ts) for each kernel; the backends register theirs (./registry.ts).
 *
 * The choice is made once, when this module loads, so a run never changes kernels midway
 * (a seeded run, or a resumed one, gives the same numbers): in Node the fastest backend that
 * loads synchronously (native addon > WebAssembly > reference, see ./select.ts); in browsers
 * the reference kernels until `await ready()`.
 */
try {
  useBackend(selectBackendSync('auto').name);
} catch {
  // the reference kernels stay in use
}

/** The backend in use as one object (each kernel its own where it has one, else the reference one). */
export function backend(): Backend {
  return backendTable(currentBackend());
}

/**
 * Makes `b` the backend in use and returns the previous one: a backend from `ready`/`initBackend`,
 * or a user's object of some kernels (registered under `b.name` the first time, for every dtype;
 * any it lacks, or declines by returning false, run on the reference kernels; its family for the
 * thresholds is `b.name` up to the first '-').
 */
export function setBackend(b: { readonly name: string } & { [K in KernelName]?: FastKernel<K> }): Backend {
  const previous = backend();
  if (registeredKernels(b.name).length === 0) {
    const fns = Object.fromEntries(Object.entries(b).filter(([k, v]) => k !== 'name' && typeof v === 'function')) as { [K in KernelName]?: FastKernel<K> };
    registerKernels(b.name, undefined, fns);
  }
  useBackend(b.name);
  return previous;
}

/** The name of the backend in use, e.g. 'native-avx512-2t', 'wasm-relaxed-2t', 'reference'. */
export function backendName(): string {
  return currentBackend();
}

/**
 * Makes the chosen backend current once it is loaded, and returns its name. In browsers call
 * it before the first op to get WebAssembly kernels; in Node the fastest one is already in use
 * and `ready()` returns its name. An explicit choice ('reference' | 'wasm' | 'native') switches
 * to that one (falling back native > wasm > reference where it cannot load).
 *
 * @example
 *   import { ready, tensor } from 'chainrule';
 *   await ready();            // 'wasm-relaxed-2t' in a cross-origin-isolated page (1t without), 'native-avx512-2t' in Node
 */
export async function ready(choice: BackendChoice = 'auto'): Promise<string> {
  if (choice === 'auto' && currentBackend() !== 'reference') return currentBackend();
  useBackend((await initBackend(choice)).name);
  return currentBackend();
}

export { referenceBackend };
