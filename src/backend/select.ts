import { backendTable } from './dispatch.js';
import { env as processEnv, isNode, type BackendChoice, type BackendEnv } from './env.js';
import { createNativeBackend } from './native/index.js';
import { referenceBackend } from './reference.js';
import type { Backend } from './types.js';
import { createWasmBackend, createWasmBackendSync } from './wasm/index.js';

export type { BackendChoice } from './env.js';

/**
 * Picks the fastest backend this runtime has: native (Node addon, if built) > wasm (SIMD) >
 * reference. Each fast backend registers its kernels; the dispatcher runs the reference ones for
 * the rest. CHAINRULE_BACKEND forces one (an explicit choice other than 'auto' wins over it; a
 * forced backend that cannot load falls back down the same order), CHAINRULE_NATIVE=0 never
 * loads the addon (./env.ts reads both). The functions take the settings as an argument so a
 * test can pass its own.
 */

function resolveChoice(preferred: BackendChoice, env: BackendEnv): BackendChoice {
  return preferred !== 'auto' ? preferred : (env.backend ?? 'auto');
}

// Built once per process, so that every choice of it is the same registered backend (one name).
let nativeOnce: Backend | null | undefined;

function native(env: BackendEnv): Backend | null {
  if (!isNode || !env.native) return null;
  if (nativeOnce === undefined) {
    try {
      nativeOnce = createNativeBackend();
    } catch {
      nativeOnce = null; // addon missing or unloadable
    }
  }
  return nativeOnce;
}

// The wasm backend owns a memory and a worker thread: build it once per process, whichever way.
let wasmSync: Backend | null | undefined;
let wasmAsync: Promise<Backend> | undefined;

function wasmNow(): Backend | null {
  if (wasmSync === undefined) {
    try {
      wasmSync = createWasmBackendSync();
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
export function selectBackendSync(preferred: BackendChoice = 'auto', env: BackendEnv = processEnv): Backend {
  const choice = resolveChoice(preferred, env);
  if (choice === 'reference' || !isNode) return referenceBackend;
  if (choice !== 'wasm') {
    const n = native(env);
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
export async function initBackend(preferred: BackendChoice = 'auto', env: BackendEnv = processEnv): Promise<Backend> {
  const choice = resolveChoice(preferred, env);
  if (choice === 'reference') return referenceBackend;
  if (choice !== 'wasm') {
    const n = native(env);
    if (n) return n;
  }
  if (isNode) {
    const w = wasmNow();
    if (w) return w;
  }
  try {
    wasmAsync ??= createWasmBackend().then((b) => backendTable(b.name));
    return await wasmAsync;
  } catch {
    return referenceBackend;
  }
}
