import { DTypeError, ShapeError, ValueError } from '../errors.js';
import type { TypedArray } from '../backend/types.js';
import { allocate, dtypeOfArray, isFloat, type DType } from './dtype.js';
import { defaultGenerator, type Generator } from './random.js';
import { MAX_ELEMENTS, checkElementCount, checkFinite, checkInt, checkShape, checkValuesFit, describe, fitsInt32, int32Message, optDtype } from './checks.js';
import { numel } from './shape.js';
import { Tensor, type NestedArray } from './tensor.js';
import { getDefaultDevice, type Device } from './device.js';
import { declareSignature, isPlainObject, signature, unknownOption, type Signature } from '../signature.js';

const TENSOR_KEYS = ['dtype', 'requiresGrad', 'device'];
const RANDOM_KEYS = [...TENSOR_KEYS, 'generator'];
const KEYS = { tensor: new Set(TENSOR_KEYS), random: new Set(RANDOM_KEYS), tensorShape: new Set([...TENSOR_KEYS, 'shape']) };
const sig = (name: string, spec: string, keys = TENSOR_KEYS): Signature => declareSignature(name, signature(name, spec, keys));
const SIGS = {
  tensor: sig('tensor', 'data:any', [...TENSOR_KEYS, 'shape']),
  full: sig('full', 'size:size fillValue:num|bool'),
  zerosLike: sig('zerosLike', 'input:tensor'),
  onesLike: sig('onesLike', 'input:tensor'),
  fullLike: sig('fullLike', 'input:tensor fillValue:num|bool'),
  arange: sig('arange', 'start:num end?:num step?:num'),
  linspace: sig('linspace', 'start:num end:num steps:int'),
  eye: sig('eye', 'n:int m?:int'),
  randint: sig('randint', 'low:int high:int size:size', RANDOM_KEYS),
  randperm: sig('randperm', 'n:int', RANDOM_KEYS),
  randLike: sig('randLike', 'input:tensor', RANDOM_KEYS),
  randnLike: sig('randnLike', 'input:tensor', RANDOM_KEYS),
  randintLike: sig('randintLike', 'input:tensor low:int high:int', RANDOM_KEYS),
};
// zeros, ones, empty, rand and randn take sizes (zeros(2, 3)) or one shape (zeros([2, 3])): sizeArgs.
for (const name of ['zeros', 'ones', 'empty']) sig(name, 'size:size');
for (const name of ['rand', 'randn']) sig(name, 'size:size', RANDOM_KEYS);

export interface TensorOptions {
  dtype?: DType;
  requiresGrad?: boolean;
  /** Where the tensor lives: 'cpu' or a device such as 'webgpu' (default: setDefaultDevice's, 'cpu' unless set). */
  device?: Device;
}

export interface RandomOptions extends TensorOptions {
  generator?: Generator;
}

/** The tensor built on the host, moved to its device, with requiresGrad set. */
function finish(t: Tensor, opts: TensorOptions): Tensor {
  const device = opts.device ?? getDefaultDevice();
  if (device !== 'cpu') t = t.to(device);
  if (opts.requiresGrad) t.requiresGrad_(true);
  return t;
}

/**
 * A tensor from nested arrays, a typed array (1-D, or with `shape`), or a number.
 * JavaScript has no separate integer literals, so numbers give float32 unless a dtype is
 * given; booleans give bool; an Int32Array gives int32 and a Float64Array float64.
 * A value that an int32 tensor cannot hold exactly (3e9, 1.5, NaN) is refused, not wrapped.
 */
export function tensor(data: NestedArray | TypedArray | readonly number[], opts: TensorOptions & { shape?: readonly number[] } = {}): Tensor {
  // eslint-disable-next-line prefer-rest-params
  if (arguments.length > 2 || (opts !== undefined && !isPlainObject(opts))) SIGS.tensor.parse([...arguments]); // throws, naming the argument
  checkOptions('tensor', opts, KEYS.tensorShape);
  if (ArrayBuffer.isView(data)) {
    const arr = data as TypedArray;
    if (!(arr instanceof Float32Array || arr instanceof Float64Array || arr instanceof Int32Array || arr instanceof Uint8Array)) {
      throw new DTypeError(`tensor: a ${(arr as { constructor: { name: string } }).constructor.name} has no chainrule dtype; pass a Float32Array, Float64Array, Int32Array or Uint8Array`);
    }
    const from = dtypeOfArray(arr);
    const dtype = optDtype('tensor', opts.dtype, from);
    const shape = opts.shape === undefined ? [arr.length] : checkShape('tensor', opts.shape, dtype);
    if (!isIntegerArray(arr)) checkValuesFit('tensor', arr, dtype);
    const copy = allocate(dtype, arr.length);
    copy.set(arr);
    return finish(new Tensor(copy, shape, dtype), opts);
  }
  const shape: number[] = [];
  let probe: unknown = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  const isBool = typeof probe === 'boolean';
  const dtype = optDtype('tensor', opts.dtype, isBool ? 'bool' : 'float32');
  const target = opts.shape === undefined ? shape : checkShape('tensor', opts.shape, dtype);
  checkElementCount('tensor', numel(shape), dtype);
  const out = allocate(dtype, numel(shape));
  const isInt = dtype === 'int32';
  let k = 0;
  const fill = (v: unknown, dim: number, path: number[]) => {
    if (dim === shape.length) {
      if (typeof v !== 'number' && typeof v !== 'boolean') {
        throw new ValueError(`tensor: expected a number at [${path.join('][')}], got ${Array.isArray(v) ? 'an array' : typeof v}`);
      }
      const x = typeof v === 'boolean' ? (v ? 1 : 0) : v;
      if (isInt && !fitsInt32(x)) throw new ValueError(int32Message('tensor', x, `at [${path.join('][')}]`));
      out[k++] = x;
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[dim]) {
      throw new ValueError(
        `tensor: ragged nested array: expected ${shape[dim]} elements at [${path.join('][')}] (dim ${dim}), got ${Array.isArray(v) ? v.length : typeof v}`,
      );
    }
    v.forEach((e, i) => fill(e, dim + 1, [...path, i]));
  };
  fill(data, 0, []);
  return finish(new Tensor(out, target, dtype), opts);
}

function isIntegerArray(a: TypedArray): boolean {
  return a instanceof Int32Array || a instanceof Uint8Array;
}

type ShapeArg = readonly number[];

/** A shape as one array or one size, then options; or sizes as separate numbers (PyTorch's zeros(2, 3)). */
export type SizeArgs<O> = [shape: ShapeArg | number, opts?: O] | number[] | [...sizes: number[], opts: O];

function sizeArgs<O extends object>(op: string, args: readonly unknown[], keys: ReadonlySet<string> = KEYS.tensor): [unknown, O] {
  if (args.length === 0) throw new ShapeError(`${op}: needs a shape, e.g. ${op}([2, 3])`);
  if (typeof args[0] !== 'number') {
    if (args.length > 2) throw new ValueError(`${op}: expected (shape, options), got ${args.length} arguments`);
    return [args[0], checkOptions<O>(op, args[1], keys)];
  }
  let n = 0;
  while (n < args.length && typeof args[n] === 'number') n++;
  if (n < args.length - 1) throw new ValueError(`${op}: expected sizes then one options object, got ${describe(args[n])} at argument ${n}`);
  return [args.slice(0, n), checkOptions<O>(op, args[n], keys)];
}

function checkOptions<O>(op: string, opts: unknown, keys: ReadonlySet<string> = KEYS.tensor): O {
  if (opts === undefined) return {} as O;
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) throw new ValueError(`${op}: options must be an object, got ${describe(opts)}`);
  // A misspelt or snake_case key (requires_grad) would otherwise be ignored.
  for (const k in opts) if (!keys.has(k)) throw unknownOption(op, k, [...keys]);
  return opts as O;
}

function fullOf(op: string, shapeArg: unknown, value: number, opts: TensorOptions): Tensor {
  opts = checkOptions<TensorOptions>(op, opts);
  const dtype = optDtype(op, opts.dtype, 'float32');
  const shape = checkShape(op, shapeArg, dtype);
  if (typeof value !== 'number' && typeof value !== 'boolean') throw new ValueError(`${op}: fill value must be a number, got ${describe(value)}`);
  checkValuesFit(op, [Number(value)], dtype);
  const data = allocate(dtype, numel(shape));
  if (value !== 0) data.fill(Number(value));
  return finish(new Tensor(data, shape, dtype), opts);
}

export function full(size: ShapeArg | number, fillValue: number, opts?: TensorOptions): Tensor;
export function full(...args: unknown[]): Tensor {
  const { size, fillValue, ...opts } = SIGS.full.parse<TensorOptions & { size: ShapeArg | number; fillValue: number }>(args);
  return fullOf('full', size, fillValue, opts);
}

export function zeros(...args: SizeArgs<TensorOptions>): Tensor {
  const [shape, opts] = sizeArgs<TensorOptions>('zeros', args);
  return fullOf('zeros', shape, 0, opts);
}
export function ones(...args: SizeArgs<TensorOptions>): Tensor {
  const [shape, opts] = sizeArgs<TensorOptions>('ones', args);
  return fullOf('ones', shape, 1, opts);
}
export function empty(...args: SizeArgs<TensorOptions>): Tensor {
  const [shape, opts] = sizeArgs<TensorOptions>('empty', args);
  return fullOf('empty', shape, 0, opts);
}

const like = (t: Tensor, opts: TensorOptions): TensorOptions => ({ dtype: t.dtype, device: t.device, ...opts });
type Like = TensorOptions & { input: Tensor };
export function zerosLike(input: Tensor, opts?: TensorOptions): Tensor;
export function zerosLike(...args: unknown[]): Tensor {
  const { input, ...o } = SIGS.zerosLike.parse<Like>(args);
  return fullOf('zerosLike', input.shape, 0, like(input, o));
}
export function onesLike(input: Tensor, opts?: TensorOptions): Tensor;
export function onesLike(...args: unknown[]): Tensor {
  const { input, ...o } = SIGS.onesLike.parse<Like>(args);
  return fullOf('onesLike', input.shape, 1, like(input, o));
}
export function fullLike(input: Tensor, fillValue: number, opts?: TensorOptions): Tensor;
export function fullLike(...args: unknown[]): Tensor {
  const { input, fillValue, ...o } = SIGS.fullLike.parse<Like & { fillValue: number }>(args);
  return fullOf('fullLike', input.shape, fillValue, like(input, o));
}

/** Values from start (inclusive) to end (exclusive) by step; arange(n) is 0..n-1. */
export function arange(start: number, end?: number, step?: number, opts?: TensorOptions): Tensor;
export function arange(end: number, opts: TensorOptions): Tensor;
export function arange(start: number, end: number, opts: TensorOptions): Tensor;
export function arange(...args: unknown[]): Tensor {
  const { start, end, step = 1, ...opts } = SIGS.arange.parse<TensorOptions & { start: number; end?: number; step?: number }>(args);
  const [lo, hi] = end === undefined ? [0, start] : [start, end];
  checkFinite('arange', 'start', lo);
  checkFinite('arange', 'end', hi);
  checkFinite('arange', 'step', step);
  if (step === 0) throw new ValueError('arange: step must be nonzero');
  const n = Math.max(0, Math.ceil((hi - lo) / step));
  const allInt = [lo, hi, step].every(Number.isInteger);
  const dtype = optDtype('arange', checkOptions<TensorOptions>('arange', opts).dtype, allInt ? 'int32' : 'float32');
  if (!(n <= MAX_ELEMENTS)) checkElementCount('arange', n, dtype, `a range from ${lo} to ${hi} by ${step}`);
  if (n > 0) checkValuesFit('arange', [lo, lo + (n - 1) * step], dtype);
  const data = allocate(dtype, n);
  for (let i = 0; i < n; i++) data[i] = lo + i * step;
  return finish(new Tensor(data, [n], dtype), opts);
}

export function linspace(start: number, end: number, steps: number, opts?: TensorOptions): Tensor;
export function linspace(...args: unknown[]): Tensor {
  const { start, end, steps, ...opts } = SIGS.linspace.parse<TensorOptions & { start: number; end: number; steps: number }>(args);
  checkFinite('linspace', 'start', start);
  checkFinite('linspace', 'end', end);
  checkInt('linspace', 'steps', steps, { min: 0 });
  const dtype = optDtype('linspace', checkOptions<TensorOptions>('linspace', opts).dtype, 'float32');
  if (!(steps <= MAX_ELEMENTS)) checkElementCount('linspace', steps, dtype, `a range of ${steps} steps`);
  const data = allocate(dtype, steps);
  const delta = steps > 1 ? (end - start) / (steps - 1) : 0;
  // Fill from both ends, as PyTorch does, so the last value is exactly `end`.
  const half = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) data[i] = i < half ? start + i * delta : end - (steps - 1 - i) * delta;
  return finish(new Tensor(data, [steps], dtype), opts);
}

export function eye(n: number, m?: number, opts?: TensorOptions): Tensor;
export function eye(n: number, opts: TensorOptions): Tensor;
export function eye(...args: unknown[]): Tensor {
  const { n, m = n, ...opts } = SIGS.eye.parse<TensorOptions & { n: number; m?: number }>(args);
  checkInt('eye', 'n', n, { min: 0 });
  checkInt('eye', 'm', m, { min: 0 });
  const t = fullOf('eye', [n, m], 0, { dtype: opts.dtype, device: 'cpu' });
  for (let i = 0; i < Math.min(n, m); i++) t.typedData[i * m + i] = 1;
  return finish(t, opts);
}

function floatDtype(op: string, opts: TensorOptions): DType {
  const dtype = optDtype(op, opts.dtype, 'float32');
  if (!isFloat(dtype)) throw new DTypeError(`${op}: needs a floating-point dtype, got ${dtype}`);
  return dtype;
}

/** Uniform on [0, 1). */
export function rand(...args: SizeArgs<RandomOptions>): Tensor {
  const [shapeArg, opts] = sizeArgs<RandomOptions>('rand', args, KEYS.random);
  const dtype = floatDtype('rand', opts);
  const shape = checkShape('rand', shapeArg, dtype);
  const gen = opts.generator ?? defaultGenerator;
  const data = allocate(dtype, numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = gen.random();
  return finish(new Tensor(data, shape, dtype), opts);
}

/** Standard normal. */
export function randn(...args: SizeArgs<RandomOptions>): Tensor {
  const [shapeArg, opts] = sizeArgs<RandomOptions>('randn', args, KEYS.random);
  const dtype = floatDtype('randn', opts);
  const shape = checkShape('randn', shapeArg, dtype);
  const gen = opts.generator ?? defaultGenerator;
  const data = allocate(dtype, numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = gen.normal();
  return finish(new Tensor(data, shape, dtype), opts);
}

/** Integers uniform in [low, high); int32 unless a dtype is given. */
export function randint(low: number, high: number, size: ShapeArg | number, opts?: RandomOptions): Tensor;
/** PyTorch's randint(high, size): low is 0. */
export function randint(high: number, size: ShapeArg, opts?: RandomOptions): Tensor;
export function randint(...args: unknown[]): Tensor {
  // randint(high, [sizes], opts?): PyTorch's form without low (its size is always a sequence).
  if (Array.isArray(args[1])) args = [0, ...args];
  const { low, high, size: shapeArg, ...opts } = SIGS.randint.parse<RandomOptions & { low: number; high: number; size: ShapeArg | number }>(args);
  const dtype = optDtype('randint', opts.dtype, 'int32');
  checkFinite('randint', 'low', low);
  checkFinite('randint', 'high', high);
  if (!Number.isInteger(low) || !Number.isInteger(high)) throw new ValueError(`randint: low and high must be integers, got ${low} and ${high}`);
  if (!(high > low)) throw new ValueError(`randint: high (${high}) must be greater than low (${low})`);
  checkValuesFit('randint', [low, high - 1], dtype);
  const shape = checkShape('randint', shapeArg, dtype);
  const gen = opts.generator ?? defaultGenerator;
  const data = allocate(dtype, numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = gen.integer(low, high);
  return finish(new Tensor(data, shape, dtype), opts);
}

export function randperm(n: number, opts?: RandomOptions): Tensor;
export function randperm(...args: unknown[]): Tensor {
  const { n, ...opts } = SIGS.randperm.parse<RandomOptions & { n: number }>(args);
  checkInt('randperm', 'n', n, { min: 0 });
  checkElementCount('randperm', n, 'int32', `a permutation`);
  const gen = opts.generator ?? defaultGenerator;
  return finish(new Tensor(gen.permutation(n), [n], 'int32'), opts);
}

type RandomLike = RandomOptions & { input: Tensor };
export function randLike(t: Tensor, opts?: RandomOptions): Tensor;
export function randLike(...args: unknown[]): Tensor {
  const { input: t, ...opts } = SIGS.randLike.parse<RandomLike>(args);
  return rand(t.shape, { dtype: t.dtype, device: t.device, ...opts });
}
export function randnLike(t: Tensor, opts?: RandomOptions): Tensor;
export function randnLike(...args: unknown[]): Tensor {
  const { input: t, ...opts } = SIGS.randnLike.parse<RandomLike>(args);
  return randn(t.shape, { dtype: t.dtype, device: t.device, ...opts });
}
export function randintLike(t: Tensor, low: number, high: number, opts?: RandomOptions): Tensor;
/** PyTorch's randint_like(input, high): low is 0. */
export function randintLike(t: Tensor, high: number, opts?: RandomOptions): Tensor;
export function randintLike(...args: unknown[]): Tensor {
  // randintLike(t, high, opts?): PyTorch's form without low.
  if (args.length === 2 || (args.length === 3 && typeof args[2] === 'object' && args[2] !== null && !Array.isArray(args[2]))) args = [args[0], 0, ...args.slice(1)];
  const { input: t, low, high, ...opts } = SIGS.randintLike.parse<RandomLike & { low: number; high: number }>(args);
  return randint(low, high, t.shape, { dtype: t.dtype, device: t.device, ...opts });
}

/** A 0-d tensor. */
export function scalar(value: number, opts: TensorOptions = {}): Tensor {
  return fullOf('scalar', [], value, opts);
}
