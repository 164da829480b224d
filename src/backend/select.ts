import { createNativeBackend } from './native/index.js';
import { referenceBackend } from './reference.js';
import type { Backend } from './types.js';
import { createWasmBackend, createWasmBackendSync, type WasmBackend } from './wasm/index.js';

export type BackendChoice = 'auto' | 'reference' | 'wasm' | 'native';

/**
 * Picks the fastest backend this runtime has: native (Node addon, if built) > wasm (SIMD) >
 * reference. Each fast backend delegates what it lacks to the reference backend.
 *
 * Environment (read only where `process` exists):
 * - CHAINRULE_BACKEND=reference|wasm|native forces one (an explicit choice other than 'auto'
 *   wins over it); a forced backend that cannot load falls back down the same order.
 * - CHAINRULE_NATIVE=0 never loads the addon.
 *
 * No Node built-in is imported statically (they come through `process.getBuiltinModule`), so
 * a browser bundle of the core stays clean.
 */

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

function resolveChoice(preferred: BackendChoice): BackendChoice {
  if (preferred !== 'auto') return preferred;
  const forced = typeof process !== 'undefined' ? process.env?.CHAINRULE_BACKEND : undefined;
  return forced === 'reference' || forced === 'wasm' || forced === 'native' ? forced : 'auto';
}

function native(): Backend | null {
  if (!isNode || process.env?.CHAINRULE_NATIVE === '0') return null;
  try {
    return createNativeBackend(referenceBackend);
  } catch {
    return null; // addon missing or unloadable
  }
}

// The wasm backend owns a memory and a worker thread: build it once per process, whichever way.
let wasmSync: WasmBackend | null | undefined;
let wasmAsync: Promise<Backend> | undefined;

function wasmNow(): Backend | null {
  if (wasmSync === undefined) {
    try {
      wasmSync = createWasmBackendSync(referenceBackend);
    } catch {
      wasmSync = null;
    }
  }
  return wasmSync;
}

/**
 * The backend to use from the first op on, chosen synchronously. In Node: the addon if it
 * loads, else wasm compiled on the spot (its helper thread joins later, which cannot change
 * any result), else reference. Elsewhere (browsers) reference: a fast backend there needs an
 * asynchronous compile, which `ready()` performs.
 */
export function selectBackendSync(preferred: BackendChoice = 'auto'): Backend {
  const choice = resolveChoice(preferred);
  if (choice === 'reference' || !isNode) return referenceBackend;
  if (choice !== 'wasm') {
    const n = native();
    if (n) return n;
  }
  return wasmNow() ?? referenceBackend;
}

/**
 * The same choice, asynchronously: where synchronous compiling is not allowed (browsers) it
 * compiles the wasm module and starts its threads first.
 *
 * @example
 *   const backend = await initBackend();          // 'native-avx512-2t' on a built checkout
 *   const wasmOnly = await initBackend('wasm');   // 'wasm-relaxed-2t'
 */
export async function initBackend(preferred: BackendChoice = 'auto'): Promise<Backend> {
  const choice = resolveChoice(preferred);
  if (choice === 'reference') return referenceBackend;
  if (choice !== 'wasm') {
    const n = native();
    if (n) return n;
  }
  if (isNode) {
    const w = wasmNow();
    if (w) return w;
  }
  try {
    wasmAsync ??= createWasmBackend(referenceBackend);
    return await wasmAsync;
  } catch {
    return referenceBackend;
  }
}
