import type { FastKernel, KernelDType, KernelName } from './types.js';

/**
 * The kernel registry, keyed by kernel and backend as TensorFlow.js's: each backend registers the
 * kernels it has, under its name,
 *
 *     registerKernel({ kernel: 'gemm', backend: 'native-avx512-2t', dtype: 'float32', fn: gemm });
 *
 * and `fn` must have that kernel's signature (types.ts's `Kernels`; a mismatch is a compile error).
 * The reference backend registers every kernel and is the oracle the others are tested against
 * (test/backend iterates this registry). Which kernel runs a call is the dispatcher's business
 * (./dispatch.ts): the registry only holds them.
 */

export interface KernelRegistration<K extends KernelName> {
  kernel: K;
  /** The backend's name; its family, for the thresholds, is the part before the first '-'. */
  backend: string;
  /** The one dtype (of the main input) the kernel takes; other dtypes go to the reference kernel. Omitted: any. */
  dtype?: KernelDType;
  fn: FastKernel<K>;
}

/** One backend's registered kernels. */
export type KernelTable = { [K in KernelName]?: { fn: FastKernel<K>; dtype: KernelDType | undefined } };

const backends = new Map<string, KernelTable>();
const listeners: ((backend: string) => void)[] = [];

/** Registers (or replaces) one kernel of one backend. */
export function registerKernel<K extends KernelName>(r: KernelRegistration<K>): void {
  let table = backends.get(r.backend);
  if (!table) backends.set(r.backend, (table = {}));
  (table as Record<K, { fn: FastKernel<K>; dtype: KernelDType | undefined }>)[r.kernel] = { fn: r.fn, dtype: r.dtype };
  for (const l of listeners) l(r.backend);
}

/** Registers a set of kernels of one backend, all for the same dtype (a backend's usual case). */
export function registerKernels(backend: string, dtype: KernelDType | undefined, fns: { [K in KernelName]?: FastKernel<K> }): void {
  for (const kernel of Object.keys(fns) as KernelName[]) {
    registerKernel({ kernel, backend, dtype, fn: fns[kernel] as FastKernel<typeof kernel> });
  }
}

/** The kernel `backend` registered under `kernel`, if any. */
export function getKernel<K extends KernelName>(kernel: K, backend: string): { fn: FastKernel<K>; dtype: KernelDType | undefined } | undefined {
  return backends.get(backend)?.[kernel] as { fn: FastKernel<K>; dtype: KernelDType | undefined } | undefined;
}

/** The names of the kernels `backend` registered. */
export function registeredKernels(backend: string): KernelName[] {
  return Object.keys(backends.get(backend) ?? {}) as KernelName[];
}

/** Every backend with at least one kernel registered. */
export function registeredBackends(): string[] {
  return [...backends.keys()];
}

/** Called after every registration (the dispatcher rebuilds its table when the current backend changes). */
export function onRegister(listener: (backend: string) => void): void {
  listeners.push(listener);
}
