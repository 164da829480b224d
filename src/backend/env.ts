/**
 * The runtime the kernels find themselves in, read once when chainrule loads: whether this is
 * Node, and the environment variables that steer the backends. This is the only module that reads
 * `process`; it does so only where `process` exists, and Node built-ins come through
 * `process.getBuiltinModule` (no static `node:` import), so a browser bundle of the core stays clean.
 *
 * - CHAINRULE_BACKEND=reference|wasm|native: the backend to use (an explicit `ready(choice)` wins).
 * - CHAINRULE_NATIVE=0: never load the native addon (the install script reads it too).
 * - CHAINRULE_NATIVE_THREADS=n: the addon's threads per call, the caller included (default: all cores).
 * - CHAINRULE_KERNEL_THRESHOLDS=0: no size thresholds (./thresholds.ts), so even tiny inputs reach the
 *   fast kernels (the per-backend test runs use it).
 * - CHAINRULE_WASM_THREADS=n: the wasm GEMM's threads (default min(2, cores)); 1: no worker.
 * - CHAINRULE_WASM_SPIN=n: how long a wasm worker spins before it sleeps (default 50,000 polls).
 * - CHAINRULE_WASM_RELAXED=0: never switch on V8's relaxed-SIMD flag (Node 20).
 */

export type BackendChoice = 'auto' | 'reference' | 'wasm' | 'native';

export interface BackendEnv {
  backend: 'reference' | 'wasm' | 'native' | undefined;
  native: boolean;
  nativeThreads: number | undefined;
  thresholds: boolean;
  wasmThreads: number | undefined;
  wasmSpin: number;
  wasmRelaxed: boolean;
}

/** A positive integer, or undefined for anything else (unset, 0, garbage). */
function count(value: string | undefined): number | undefined {
  const n = Math.floor(Number(value));
  return n > 0 ? n : undefined;
}

/** The settings from a set of environment variables (pure: tests pass their own). */
export function parseEnv(vars: Readonly<Record<string, string | undefined>>): BackendEnv {
  const b = vars.CHAINRULE_BACKEND;
  const spin = Number(vars.CHAINRULE_WASM_SPIN ?? 50_000);
  return {
    backend: b === 'reference' || b === 'wasm' || b === 'native' ? b : undefined,
    native: vars.CHAINRULE_NATIVE !== '0',
    nativeThreads: count(vars.CHAINRULE_NATIVE_THREADS),
    thresholds: vars.CHAINRULE_KERNEL_THRESHOLDS !== '0',
    wasmThreads: count(vars.CHAINRULE_WASM_THREADS),
    wasmSpin: Number.isFinite(spin) && spin >= 0 ? spin : 50_000,
    wasmRelaxed: vars.CHAINRULE_WASM_RELAXED !== '0',
  };
}

export const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/** This process's settings, read once. */
export const env: BackendEnv = parseEnv(typeof process !== 'undefined' ? (process.env ?? {}) : {});

/** A Node built-in reached without a static import (Node ≥ 20.16), so bundles for browsers stay clean. */
export function nodeBuiltin<T>(name: string): T | null {
  if (!isNode) return null;
  try {
    const get = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
    return typeof get === 'function' ? ((get(name) as T | undefined) ?? null) : null;
  } catch {
    return null;
  }
}
