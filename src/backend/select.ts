import type { Backend } from './types.js';

export type BackendChoice = 'auto' | 'reference' | 'wasm' | 'native';

/**
 * Picks the fastest backend this runtime has: native (Node addon, if built) > wasm (SIMD) >
 * reference. Each fast backend delegates what it lacks to the reference backend.
 *
 * Environment (read only where `process` exists):
 * - CHAINRULE_BACKEND=reference|wasm|native forces one (an explicit `preferred` other than
 *   'auto' wins over it); a forced backend that cannot load falls back down the same order.
 * - CHAINRULE_NATIVE=0 never loads the addon.
 *
 * The fast backends are imported lazily, so a browser bundle never pulls in the Node addon
 * loader unless asked.
 *
 * @example
 *   const backend = await initBackend();          // 'native-avx512-2t' on a built checkout
 *   const wasmOnly = await initBackend('wasm');   // 'wasm-relaxed-2t'
 */
export async function initBackend(preferred: BackendChoice = 'auto'): Promise<Backend> {
  return pick(preferred);
}

// The wasm backend owns a memory and a worker thread: build it once per process.
let wasmBackend: Promise<Backend> | undefined;

async function pick(preferred: BackendChoice): Promise<Backend> {
  const { referenceBackend } = await import('./reference.js');
  const env = typeof process !== 'undefined' ? process.env : undefined;
  let choice: BackendChoice = preferred;
  if (choice === 'auto') {
    const forced = env?.CHAINRULE_BACKEND;
    if (forced === 'reference' || forced === 'wasm' || forced === 'native') choice = forced;
  }
  if (choice === 'reference') return referenceBackend;

  const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
  if (choice !== 'wasm' && isNode && env?.CHAINRULE_NATIVE !== '0') {
    try {
      const { createNativeBackend } = await import('./native/index.js');
      const native = createNativeBackend(referenceBackend);
      if (native) return native;
    } catch {
      // addon missing or unloadable: try the next one
    }
  }
  try {
    wasmBackend ??= import('./wasm/index.js').then(({ createWasmBackend }) => createWasmBackend(referenceBackend));
    return await wasmBackend;
  } catch {
    return referenceBackend;
  }
}
