import { AllocationError, DTypeError, IndexError, ShapeError, ValueError, fmtShape } from '../errors.js';
import { DTYPES, type DType } from './dtype.js';

/**
 * Argument checks shared by every public entry point that takes a shape, a dtype, a count, an
 * index or a numeric option. Each check costs a few comparisons per call (never one per element
 * on a kernel), and each failure names the op and the value, so that a bad argument gives one
 * clear chainrule error instead of a JavaScript TypeError / RangeError or a silently wrong result.
 */

/**
 * The most elements one tensor may hold: 2^31 - 1, so that every element index fits an int32
 * (the wasm and native kernels index with 32-bit integers, and JS typed arrays cap near here).
 */
export const MAX_ELEMENTS = 2 ** 31 - 1;

const BYTES: Record<DType, number> = { bool: 1, int32: 4, float32: 4, float64: 8 };

/** A value as a message shows it: strings quoted, objects by kind. */
export function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'function') return 'a function';
  return String(v);
}

/** Bytes with a readable unit: "4,000,000,000,000 bytes (4.0 TB)". */
export function fmtBytes(bytes: number): string {
  const units = ['KB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  let v = bytes;
  let unit = '';
  for (const u of units) {
    if (v < 1000) break;
    v /= 1000;
    unit = u;
  }
  const exact = Number.isSafeInteger(bytes) ? bytes.toLocaleString('en-US') : bytes.toExponential(2);
  return unit === '' ? `${exact} bytes` : `${exact} bytes (${v.toFixed(1)} ${unit})`;
}

/** Throws unless `dtype` is one of chainrule's dtypes; the message lists them. */
export function checkDtype(op: string, dtype: unknown): DType {
  if (typeof dtype === 'string' && (DTYPES as readonly string[]).includes(dtype)) return dtype as DType;
  throw new DTypeError(`${op}: unknown dtype ${describe(dtype)}; the dtypes are ${DTYPES.join(', ')}`);
}

/** The dtype of an options object (its default when absent), checked. */
export function optDtype(op: string, dtype: unknown, fallback: DType): DType {
  return dtype === undefined ? fallback : checkDtype(op, dtype);
}

/**
 * Throws unless a tensor of `count` elements of `dtype` can be allocated: at most MAX_ELEMENTS,
 * with the bytes it would need in the message.
 */
export function checkElementCount(op: string, count: number, dtype: DType, what = 'the tensor'): void {
  if (count <= MAX_ELEMENTS) return;
  throw new AllocationError(
    `${op}: ${what} has ${Number.isFinite(count) ? count.toLocaleString('en-US') : count} elements and would need ` +
      `${fmtBytes(count * BYTES[dtype])} as ${dtype}; a tensor holds at most ${MAX_ELEMENTS.toLocaleString('en-US')} elements`,
  );
}

/**
 * A shape argument, checked and copied: an array of non-negative integer sizes, or one size
 * (`zeros(3)` is `zeros([3])`, as in PyTorch). Refuses negative, fractional, NaN and infinite
 * sizes, and sizes whose product is more than a tensor can hold (naming the bytes it would need).
 */
export function checkShape(op: string, shape: unknown, dtype: DType = 'float32', what = 'shape'): number[] {
  if (typeof shape === 'number') shape = [shape];
  if (!Array.isArray(shape)) {
    throw new ShapeError(`${op}: the shape must be an array of sizes (or one size), got ${describe(shape)}`);
  }
  const out = new Array<number>(shape.length);
  let n = 1;
  for (let i = 0; i < shape.length; i++) {
    const d: unknown = shape[i];
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      throw new ShapeError(`${op}: size ${describe(d)} at dim ${i} of shape ${fmtList(shape)} is not a non-negative integer`);
    }
    out[i] = d;
    n *= d;
  }
  // (The message is only built when the check fails: this runs on every expand and creation.)
  if (!(n <= MAX_ELEMENTS)) checkElementCount(op, n, dtype, `${what} ${fmtShape(out)}`);
  return out;
}

/** [a,b,c] for any array, whatever its entries are. */
function fmtList(list: readonly unknown[]): string {
  return `[${list.map((v) => (typeof v === 'number' ? String(v) : describe(v))).join(',')}]`;
}

/** Throws unless `value` is an integer (a count, a size, a start, an index); returns it. */
export function checkInt(op: string, name: string, value: unknown, opts: { min?: number; max?: number; index?: boolean } = {}): number {
  const { min, max, index = false } = opts;
  const Err = index ? IndexError : ValueError;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new Err(`${op}: ${name} must be an integer, got ${describe(value)}`);
  }
  if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
    const range = max === undefined ? `>= ${min}` : min === undefined ? `<= ${max}` : `in ${min} to ${max}`;
    throw new Err(`${op}: ${name} ${value} is out of range (must be ${range})`);
  }
  return value;
}

/** Throws unless `value` is a finite number (and within the bounds given); returns it. */
export function checkFinite(
  op: string,
  name: string,
  value: unknown,
  opts: { min?: number; max?: number; minExclusive?: boolean; maxExclusive?: boolean } = {},
): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new ValueError(`${op}: ${name} must be a finite number, got ${describe(value)}`);
  }
  const { min, max, minExclusive = false, maxExclusive = false } = opts;
  const belowMin = min !== undefined && (minExclusive ? value <= min : value < min);
  const aboveMax = max !== undefined && (maxExclusive ? value >= max : value > max);
  if (belowMin || aboveMax) {
    const lo = min === undefined ? '' : minExclusive ? `> ${min}` : `>= ${min}`;
    const hi = max === undefined ? '' : maxExclusive ? `< ${max}` : `<= ${max}`;
    throw new ValueError(`${op}: invalid ${name} ${value} (must be ${[lo, hi].filter((s) => s !== '').join(' and ')})`);
  }
  return value;
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/**
 * Throws when a value cannot be stored in an integer dtype: int32 would wrap 3e9 and turn NaN
 * into 0. A finite fraction truncates toward zero, as PyTorch's conversion does. Float and bool
 * dtypes take any number. One pass at creation, never in a kernel.
 */
export function checkValuesFit(op: string, values: ArrayLike<number>, dtype: DType): void {
  if (dtype !== 'int32') return;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!fitsInt32(v)) throw new ValueError(int32Message(op, v, `element ${i}`));
  }
}

/** Whether v converts to int32 (truncated toward zero) without overflow; false for NaN and ±Infinity. */
export function fitsInt32(v: number): boolean {
  return v > INT32_MIN - 1 && v < INT32_MAX + 1;
}

export function int32Message(op: string, v: number, where: string): string {
  return `${op}: value ${v} (${where}) does not fit dtype int32 (integers from ${INT32_MIN} to ${INT32_MAX}); use a float dtype`;
}

/**
 * A layer's size arguments (features, channels, embeddings: non-negative integers) and the shape
 * of the weight they make, checked before anything is allocated: `new nn.Linear(1e6, 1e6)` says
 * how many bytes its weight would need instead of failing inside the typed array constructor.
 */
export function checkLayerSizes(op: string, sizes: Record<string, unknown>, weightShape: readonly number[], dtype: unknown): DType {
  for (const [name, v] of Object.entries(sizes)) checkInt(op, name, v, { min: 0 });
  const d = optDtype(op, dtype, 'float32');
  checkShape(op, weightShape, d, 'a weight of shape');
  return d;
}
