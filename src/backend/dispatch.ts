import { env } from './env.js';
import { referenceBackend } from './reference.js';
import { getKernel, onRegister, registerKernels, registeredKernels } from './registry.js';
import { minWork } from './thresholds.js';
import type { Backend, FastKernel, KernelDType, KernelName, Kernels } from './types.js';

/**
 * The dispatcher: the one place that decides which kernel runs a call. An op asks for a kernel by
 * name, with the work it is about to do and the dtype of its main input,
 *
 *     kernel('unary', out.length, x.dtype)(op, x.data, out);
 *
 * and gets the current backend's kernel where that backend registered one for this dtype and the
 * work reaches its threshold (./thresholds.ts), else the reference kernel. A fast kernel may still
 * decline a call (return false: a layout or size it does not take); the kernel handed out then runs
 * the reference one itself, so no op ever carries a fallback of its own.
 */

type Fn = (...args: unknown[]) => boolean | void;

interface Entry<K extends KernelName> {
  /** The fast kernel, with the reference one run where it declines. */
  run: Kernels[K];
  /** The fast kernel alone, true where it took the call. */
  attempt: (...args: Parameters<Kernels[K]>) => boolean;
  min: number;
  dtype: KernelDType | undefined;
}

type Entries = { [K in KernelName]: Entry<K> | null };

const KERNELS = Object.keys(referenceBackend).filter((k) => k !== 'name') as KernelName[];

// The reference backend registers every kernel: the oracle the registry's tests check the others against.
registerKernels('reference', undefined, Object.fromEntries(KERNELS.map((k) => [k, referenceBackend[k]])));

function guarded<K extends KernelName>(fast: FastKernel<K>, reference: Kernels[K]): Kernels[K] {
  const f = fast as unknown as Fn;
  const r = reference as unknown as Fn;
  return ((...args: unknown[]) => {
    if (f(...args) === false) r(...args);
  }) as unknown as Kernels[K];
}

function entriesFor(name: string, thresholds: boolean): Entries {
  const family = name.split('-')[0]!;
  const out = {} as Record<KernelName, Entry<KernelName> | null>;
  for (const k of KERNELS) {
    const reg = name === 'reference' ? undefined : getKernel(k, name);
    if (!reg) {
      out[k] = null;
      continue;
    }
    const f = reg.fn as unknown as Fn;
    out[k] = {
      run: guarded(reg.fn, referenceBackend[k]),
      attempt: ((...args: unknown[]) => f(...args) !== false) as Entry<KernelName>['attempt'],
      min: minWork(k, family, thresholds),
      dtype: reg.dtype,
    };
  }
  return out as Entries;
}

let currentName = 'reference';
let entries: Entries = entriesFor('reference', env.thresholds);

// A kernel registered for the backend in use (a user's, or one replaced) takes effect at once.
onRegister((name) => {
  if (name === currentName) entries = entriesFor(name, env.thresholds);
});

/** The kernel to run `work` (elements, or multiply-adds for products) of dtype `dtype`. */
export function kernel<K extends KernelName>(name: K, work: number, dtype: KernelDType): Kernels[K] {
  const e = entries[name];
  return e !== null && work >= e.min && (e.dtype === undefined || e.dtype === dtype) ? e.run : referenceBackend[name];
}

/**
 * For the composite kernels (the sample-by-sample convolutions): the current backend's own kernel,
 * returning whether it took the call, or null where it has none for this work. The op then runs the
 * composition itself, each step dispatched (a fast im2col and gemm beat the reference whole).
 */
export function fusedKernel<K extends KernelName>(name: K, work: number, dtype: KernelDType): ((...args: Parameters<Kernels[K]>) => boolean) | null {
  const e = entries[name];
  return e !== null && work >= e.min && (e.dtype === undefined || e.dtype === dtype) ? e.attempt : null;
}

/** Makes the backend registered as `name` the current one. */
export function useBackend(name: string): void {
  if (name !== 'reference' && registeredKernels(name).length === 0) throw new Error(`chainrule: no kernels are registered for backend '${name}'`);
  currentName = name;
  entries = entriesFor(name, env.thresholds);
}

export function currentBackend(): string {
  return currentName;
}

const tables = new Map<string, Backend>();

/**
 * The backend `name` as one object: each kernel its own where registered (the reference one where
 * it declines), else the reference kernel; no thresholds. Tests call kernels through it, and
 * `backend()` returns it.
 */
export function backendTable(name: string): Backend {
  if (name === 'reference') return referenceBackend;
  let t = tables.get(name);
  if (!t) {
    const e = entriesFor(name, false);
    const table: Record<string, unknown> = { name };
    for (const k of KERNELS) table[k] = e[k]?.run ?? referenceBackend[k];
    t = table as unknown as Backend;
    tables.set(name, t);
  }
  return t;
}

onRegister((name) => tables.delete(name));

/** A name not yet registered: `base`, else `base#2`, `base#3`, … (two instances of one backend). */
export function unusedName(base: string): string {
  if (registeredKernels(base).length === 0) return base;
  for (let i = 2; ; i++) if (registeredKernels(`${base}#${i}`).length === 0) return `${base}#${i}`;
}
