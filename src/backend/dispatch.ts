import { env } from './env.js';
import { referenceBackend } from './reference.js';
import { getKernel, onRegister, registerKernels, registeredKernels } from './registry.js';
import { minWork } from './thresholds.js';
import type { Backend, FastKernel, KernelDType, KernelName, Kernels } from './types.js';
import type { MovementKernels } from './types-movement.js';
import type { RowKernels } from './types-rows.js';

/**
 * The dispatcher: the one place that decides which kernel runs a call. An op asks for a kernel by
 * name, with the work it is about to do and the dtype of its main input,
 *
 *     kernel('unary', out.length, x.dtype)(op, x.typedData, out);
 *
 * and gets the current backend's kernel where that backend registered one for this dtype and the
 * work reaches its threshold (./thresholds.ts), else the reference kernel. A fast kernel may still
 * decline a call (return false: a layout or size it does not take); the kernel handed out then runs
 * the reference one itself, so no op ever carries a fallback of its own.
 */

type Fn = (...args: unknown[]) => boolean | void;

/**
 * One kernel's choice for the current backend. There is one slot per kernel for the whole
 * process, mutated (never replaced) when the backend changes, so every slot keeps one shape and
 * `kernel()` costs a few compares over calling the reference kernel directly.
 */
interface Slot<K extends KernelName> {
  /** Least work for the fast kernel; Infinity where the backend has none. */
  min: number;
  /** The dtype it takes; null: any. */
  dtype: KernelDType | null;
  /** The fast kernel, with the reference one run where it declines. */
  run: Kernels[K];
  /** The fast kernel alone, true where it took the call; null where there is none. */
  attempt: ((...args: Parameters<Kernels[K]>) => boolean) | null;
  readonly reference: Kernels[K];
}

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

type Slots = { [K in KernelName]: Slot<K> };

const slots = Object.fromEntries(
  KERNELS.map((k) => [k, { min: Infinity, dtype: null, run: referenceBackend[k], attempt: null, reference: referenceBackend[k] }]),
) as unknown as Slots;

/** Points every slot at backend `name`'s kernels (the reference ones where it has none). */
function fill(target: Slots, name: string, thresholds: boolean): void {
  const family = name.split('-')[0]!;
  for (const k of KERNELS) {
    const slot = target[k] as Slot<KernelName>;
    const reg = name === 'reference' ? undefined : getKernel(k, name);
    if (!reg) {
      Object.assign(slot, { min: Infinity, dtype: null, run: slot.reference, attempt: null });
      continue;
    }
    const f = reg.fn as unknown as Fn;
    slot.min = minWork(k, family, thresholds);
    slot.dtype = reg.dtype ?? null;
    slot.run = guarded(reg.fn, slot.reference);
    slot.attempt = ((...args: unknown[]) => f(...args) !== false) as Slot<KernelName>['attempt'];
  }
}

let currentName = 'reference';

// A kernel registered for the backend in use (a user's, or one replaced) takes effect at once.
onRegister((name) => {
  if (name === currentName) fill(slots, name, env.thresholds);
});

/**
 * The slot of kernel `name`. A switch rather than `slots[name]`: the keyed load would share one
 * inline cache among all call sites and every kernel name (megamorphic, ~10 ns a call, 2-3% of
 * an XOR step), while each case's named load stays monomorphic and folds away where `kernel()` is
 * inlined with a constant name. One switch per kernel family, chained through their defaults,
 * so that each stays small enough for V8 to inline (one switch of all kernels is not inlined:
 * ~2 ns more a call, ~6 ns for the late cases). The `never` default makes
 * a kernel missing from both a compile error.
 */
function slotOf<K extends KernelName>(name: K): Slot<K> {
  const n: KernelName = name;
  switch (n) {
    case 'gemm': return slots.gemm as unknown as Slot<K>;
    case 'gemmBatched': return slots.gemmBatched as unknown as Slot<K>;
    case 'unary': return slots.unary as unknown as Slot<K>;
    case 'binary': return slots.binary as unknown as Slot<K>;
    case 'compare': return slots.compare as unknown as Slot<K>;
    case 'reduce': return slots.reduce as unknown as Slot<K>;
    case 'adamStep': return slots.adamStep as unknown as Slot<K>;
    case 'sgdStep': return slots.sgdStep as unknown as Slot<K>;
    case 'adagradStep': return slots.adagradStep as unknown as Slot<K>;
    case 'rmspropStep': return slots.rmspropStep as unknown as Slot<K>;
    case 'gatherRowsU8': return slots.gatherRowsU8 as unknown as Slot<K>;
    case 'gatherRowsF32': return slots.gatherRowsF32 as unknown as Slot<K>;
    case 'im2col': return slots.im2col as unknown as Slot<K>;
    case 'col2im': return slots.col2im as unknown as Slot<K>;
    case 'maxPool': return slots.maxPool as unknown as Slot<K>;
    case 'maxPoolBackward': return slots.maxPoolBackward as unknown as Slot<K>;
    case 'conv2dForward': return slots.conv2dForward as unknown as Slot<K>;
    case 'conv2dInputGrad': return slots.conv2dInputGrad as unknown as Slot<K>;
    case 'conv2dWeightGrad': return slots.conv2dWeightGrad as unknown as Slot<K>;
    default:
      return moreSlotOf(n) as unknown as Slot<K>;
  }
}

function moreSlotOf<K extends keyof MovementKernels | keyof RowKernels>(name: K): Slot<K> {
  const n: keyof MovementKernels | keyof RowKernels = name;
  switch (n) {
    case 'stridedCopy': return slots.stridedCopy as unknown as Slot<K>;
    case 'stridedWrite': return slots.stridedWrite as unknown as Slot<K>;
    case 'where': return slots.where as unknown as Slot<K>;
    case 'gather': return slots.gather as unknown as Slot<K>;
    case 'scatterAdd': return slots.scatterAdd as unknown as Slot<K>;
    case 'indexSelect': return slots.indexSelect as unknown as Slot<K>;
    case 'indexAdd': return slots.indexAdd as unknown as Slot<K>;
    case 'cat': return slots.cat as unknown as Slot<K>;
    case 'fill': return slots.fill as unknown as Slot<K>;
    default:
      return rowSlotOf(n) as unknown as Slot<K>;
  }
}

function rowSlotOf<K extends keyof RowKernels>(name: K): Slot<K> {
  const n: keyof RowKernels = name;
  switch (n) {
    case 'cumsum': return slots.cumsum as unknown as Slot<K>;
    case 'argReduce': return slots.argReduce as unknown as Slot<K>;
    case 'rowMaxShift': return slots.rowMaxShift as unknown as Slot<K>;
    case 'crossEntropyLoss': return slots.crossEntropyLoss as unknown as Slot<K>;
    case 'crossEntropyGrad': return slots.crossEntropyGrad as unknown as Slot<K>;
    case 'classWeights': return slots.classWeights as unknown as Slot<K>;
    case 'oneHot': return slots.oneHot as unknown as Slot<K>;
    case 'dropoutMask': return slots.dropoutMask as unknown as Slot<K>;
    case 'scale': return slots.scale as unknown as Slot<K>;
    case 'powGrad': return slots.powGrad as unknown as Slot<K>;
    case 'clamp': return slots.clamp as unknown as Slot<K>;
    case 'norm': return slots.norm as unknown as Slot<K>;
    case 'sumF64': return slots.sumF64 as unknown as Slot<K>;
    default: {
      const missing: never = n;
      throw new Error(`chainrule: unknown kernel '${String(missing)}'`);
    }
  }
}

/** The kernel to run `work` (elements, or multiply-adds for products) of dtype `dtype`. */
export function kernel<K extends KernelName>(name: K, work: number, dtype: KernelDType): Kernels[K] {
  const s = slotOf(name);
  return work >= s.min && (s.dtype === dtype || s.dtype === null) ? s.run : s.reference;
}

/**
 * For the composite kernels (the sample-by-sample convolutions): the current backend's own kernel,
 * returning whether it took the call, or null where it has none for this work. The op then runs the
 * composition itself, each step dispatched (a fast im2col and gemm beat the reference whole).
 */
export function fusedKernel<K extends KernelName>(name: K, work: number, dtype: KernelDType): ((...args: Parameters<Kernels[K]>) => boolean) | null {
  const s = slotOf(name);
  return work >= s.min && (s.dtype === dtype || s.dtype === null) ? s.attempt : null;
}

/** Makes the backend registered as `name` the current one. */
export function useBackend(name: string): void {
  if (name !== 'reference' && registeredKernels(name).length === 0) throw new Error(`chainrule: no kernels are registered for backend '${name}'`);
  currentName = name;
  fill(slots, name, env.thresholds);
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
    const own = Object.fromEntries(KERNELS.map((k) => [k, { reference: referenceBackend[k] }])) as unknown as Slots;
    fill(own, name, false);
    const table: Record<string, unknown> = { name };
    for (const k of KERNELS) table[k] = own[k].run;
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
