import type { FloatArray, TypedArray } from '../backend/types.js';
import { POOL_MIN_BYTES, takeBuffer } from '../memory/pool.js';
import { noteBirth } from '../memory/ownership.js';
import { AllocationError } from '../errors.js';
import { MAX_ELEMENTS, checkDtype, checkElementCount, fmtBytes } from './checks.js';

/** Element types. `bool` is the result of comparisons and is stored one byte per element. */
export type DType = 'float32' | 'float64' | 'int32' | 'bool';

export const DTYPES: readonly DType[] = ['bool', 'int32', 'float32', 'float64'];

export type ArrayFor<D extends DType> = D extends 'float32'
  ? Float32Array
  : D extends 'float64'
    ? Float64Array
    : D extends 'int32'
      ? Int32Array
      : Uint8Array;

type UnsafeAlloc = (bytes: number) => { buffer: ArrayBuffer; byteOffset: number };
// Node's Buffer.allocUnsafeSlow: a fresh ArrayBuffer of its own (never a slice of a shared pool)
// whose memory is not zero-filled. Looked up at run time, so browsers simply do without it.
const allocUnsafeSlow: UnsafeAlloc | undefined = (globalThis as { Buffer?: { allocUnsafeSlow?: UnsafeAlloc } }).Buffer?.allocUnsafeSlow;
/** Below this many bytes zero-filling costs next to nothing. */
const UNINIT_MIN_BYTES = POOL_MIN_BYTES;

/**
 * A float array whose contents are unspecified: a recycled buffer (see memory/pool.ts) or, in Node, one
 * that is not zero-filled (for large outputs that cost shows up in every training step). Only for
 * outputs a kernel overwrites entirely.
 */
export function allocateUninit(dtype: 'float32' | 'float64', size: number): FloatArray {
  const bytes = size * (dtype === 'float32' ? 4 : 8);
  if (!(size <= MAX_ELEMENTS)) checkElementCount('allocate', size, dtype);
  if (bytes < UNINIT_MIN_BYTES) return allocate(dtype, size) as FloatArray;
  const pooled = takeBuffer(bytes);
  if (pooled === undefined && allocUnsafeSlow === undefined) return allocate(dtype, size) as FloatArray;
  let buffer: ArrayBuffer;
  let offset = 0;
  if (pooled !== undefined) buffer = pooled;
  else {
    let b: { buffer: ArrayBuffer; byteOffset: number };
    try {
      b = allocUnsafeSlow!(bytes);
    } catch (e) {
      throw outOfMemory(e, dtype, size);
    }
    buffer = b.buffer;
    offset = b.byteOffset;
  }
  const a = dtype === 'float32' ? new Float32Array(buffer, offset, size) : new Float64Array(buffer, offset, size);
  noteBirth(buffer); // while a backward pass runs, the engine learns which gradients it made itself
  return a;
}

export function allocate(dtype: DType, size: number): TypedArray {
  if (!(size <= MAX_ELEMENTS)) checkElementCount('allocate', size, dtype);
  let a: TypedArray;
  try {
    switch (dtype) {
      case 'float32':
        a = new Float32Array(size);
        break;
      case 'float64':
        a = new Float64Array(size);
        break;
      case 'int32':
        return new Int32Array(size);
      case 'bool':
        return new Uint8Array(size);
      default:
        return checkDtype('allocate', dtype) as never;
    }
  } catch (e) {
    throw outOfMemory(e, dtype, size);
  }
  if (a.byteLength >= POOL_MIN_BYTES) noteBirth(a.buffer);
  return a;
}

/** A typed array the engine could not get ("Array buffer allocation failed") as a chainrule error. */
function outOfMemory(e: unknown, dtype: DType, size: number): unknown {
  if (!(e instanceof RangeError)) return e;
  if (!Number.isInteger(size) || size < 0) return new AllocationError(`allocate: invalid element count ${size} for a ${dtype} tensor`);
  const bytes = size * (dtype === 'float64' ? 8 : dtype === 'bool' ? 1 : 4);
  return new AllocationError(`allocate: out of memory: a ${dtype} tensor of ${size.toLocaleString('en-US')} elements needs ${fmtBytes(bytes)} (${e.message})`);
}

export function dtypeOfArray(data: TypedArray): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  return 'bool';
}

export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64';
}

const RANK: Record<DType, number> = { bool: 0, int32: 1, float32: 2, float64: 3 };

/** PyTorch's promotion between two tensors' dtypes: bool < int32 < float32 < float64. */
export function promoteTypes(a: DType, b: DType): DType {
  return RANK[a] >= RANK[b] ? a : b;
}

/**
 * Promotion of a tensor with a JS number, as PyTorch does with Python scalars: the scalar
 * only lifts the category (an integer tensor meeting 1.5 becomes float32), never the width.
 */
export function promoteWithScalar(t: DType, scalar: number): DType {
  if (isFloat(t)) return t;
  if (!Number.isInteger(scalar)) return 'float32';
  return t === 'bool' ? 'int32' : t;
}

/** The dtype unary float functions (exp, log, sigmoid, ...) compute in. */
export function floatTypeFor(dtype: DType): DType {
  return isFloat(dtype) ? dtype : 'float32';
}

export function castArray(data: TypedArray, to: DType): TypedArray {
  const out = allocate(to, data.length);
  if (to === 'bool') {
    for (let i = 0; i < data.length; i++) out[i] = data[i] !== 0 ? 1 : 0;
  } else if (to === 'int32' && !(data instanceof Int32Array) && !(data instanceof Uint8Array)) {
    // Float to int truncates toward zero, as PyTorch does.
    for (let i = 0; i < data.length; i++) out[i] = Math.trunc(data[i]!);
  } else {
    out.set(data);
  }
  return out;
}
