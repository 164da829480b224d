/**
 * The plain shape the file formats read and write: a dtype, a row-major shape and a
 * contiguous typed array. The io layer works on this rather than on Tensor so that it has
 * no dependency on autograd; a Tensor has the same three fields and can be passed as is.
 */

export type RawDType = 'float32' | 'float64' | 'int32' | 'uint8' | 'bool';

export type RawData = Float32Array | Float64Array | Int32Array | Uint8Array;

export interface RawTensor {
  dtype: RawDType;
  shape: number[];
  data: RawData;
}

/**
 * The fields the writers read: a RawTensor, or anything with the same fields read-only.
 * `data` must hold exactly the elements, in row-major order.
 */
export interface RawFields {
  readonly dtype: RawDType;
  readonly shape: readonly number[];
  readonly data: RawData;
}

/** A chainrule Tensor as the writers take it: its elements are its `typedData` (a contiguous tensor). */
export interface TypedDataLike {
  readonly dtype: RawDType;
  readonly shape: readonly number[];
  readonly typedData: RawData;
}

/**
 * What the writers accept: a RawTensor (or the same fields read-only), or a contiguous
 * chainrule Tensor as is. A strided view must be made contiguous first.
 */
export type RawTensorLike = RawFields | TypedDataLike;

/** The writers' view of either kind: a Tensor's `typedData` read once as `data`. */
export function rawFields(t: RawTensorLike): RawFields {
  return 'typedData' in t ? { dtype: t.dtype, shape: t.shape, data: t.typedData } : t;
}

/** Number of elements of a shape; 1 for a 0-d scalar. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** The typed-array constructor that stores each dtype (bool is one byte per element, 0 or 1). */
export function arrayTypeOf(dtype: RawDType): string {
  switch (dtype) {
    case 'float32': return 'Float32Array';
    case 'float64': return 'Float64Array';
    case 'int32': return 'Int32Array';
    case 'uint8':
    case 'bool': return 'Uint8Array';
  }
}

/**
 * Checks that a value really is a consistent RawTensor before it is written out: a
 * mismatch here would otherwise produce a file that every reader rejects later.
 * Throws TypeError naming `what` (e.g. `tensor "w"`).
 */
export function checkRawTensor(input: RawTensorLike, what: string): RawFields {
  const t = input !== null && typeof input === 'object' ? rawFields(input) : (input as RawFields);
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new TypeError(`${what}: shape must be an array of non-negative integers, got ${JSON.stringify(t.shape)}`);
  }
  const want = arrayTypeOf(t.dtype);
  if (want === undefined) throw new TypeError(`${what}: unknown dtype ${JSON.stringify(t.dtype)}`);
  // The toStringTag of a typed array is its internal kind, also for subclasses (Buffer)
  // and arrays from another realm (worker, vm), where instanceof would fail.
  const got = ArrayBuffer.isView(t.data) ? Object.prototype.toString.call(t.data).slice(8, -1) : typeof t.data;
  if (got !== want) throw new TypeError(`${what}: dtype ${t.dtype} needs a ${want}, got ${got}`);
  const n = numel(t.shape);
  if (t.data.length !== n) {
    throw new TypeError(`${what}: shape [${t.shape.join(',')}] has ${n} elements but data has ${t.data.length}`);
  }
  return t;
}
