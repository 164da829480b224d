import { DTypeError, ValueError } from '../errors.js';
import type { TypedArray } from '../backend/types.js';
import { allocate, dtypeOfArray, isFloat, type DType } from './dtype.js';
import { defaultGenerator, type Generator } from './random.js';
import { numel } from './shape.js';
import { Tensor, type NestedArray } from './tensor.js';
import { getDefaultDevice, type Device } from './device.js';

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
 */
export function tensor(data: NestedArray | TypedArray | readonly number[], opts: TensorOptions & { shape?: readonly number[] } = {}): Tensor {
  if (ArrayBuffer.isView(data)) {
    const arr = data as TypedArray;
    const from = dtypeOfArray(arr);
    const dtype = opts.dtype ?? from;
    const shape = opts.shape ?? [arr.length];
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
  const dtype = opts.dtype ?? (isBool ? 'bool' : 'float32');
  const out = allocate(dtype, numel(shape));
  let k = 0;
  const fill = (v: unknown, dim: number, path: number[]) => {
    if (dim === shape.length) {
      if (typeof v !== 'number' && typeof v !== 'boolean') {
        throw new ValueError(`tensor: expected a number at [${path.join('][')}], got ${Array.isArray(v) ? 'an array' : typeof v}`);
      }
      out[k++] = typeof v === 'boolean' ? (v ? 1 : 0) : v;
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
  if (opts.shape) return finish(new Tensor(out, opts.shape, dtype), opts);
  return finish(new Tensor(out, shape, dtype), opts);
}

type ShapeArg = readonly number[];

function checkShape(op: string, shape: ShapeArg): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ValueError(`${op}: sizes must be non-negative integers, got [${shape.join(',')}]`);
  }
}

export function full(shape: ShapeArg, value: number, opts: TensorOptions = {}): Tensor {
  checkShape('full', shape);
  const dtype = opts.dtype ?? 'float32';
  const data = allocate(dtype, numel(shape));
  if (value !== 0) data.fill(value);
  return finish(new Tensor(data, shape, dtype), opts);
}

export const zeros = (shape: ShapeArg, opts: TensorOptions = {}): Tensor => full(shape, 0, opts);
export const ones = (shape: ShapeArg, opts: TensorOptions = {}): Tensor => full(shape, 1, opts);
export const empty = (shape: ShapeArg, opts: TensorOptions = {}): Tensor => full(shape, 0, opts);

const like = (t: Tensor, opts: TensorOptions): TensorOptions => ({ dtype: t.dtype, device: t.device, ...opts });
export const zerosLike = (t: Tensor, opts: TensorOptions = {}): Tensor => zeros(t.shape, like(t, opts));
export const onesLike = (t: Tensor, opts: TensorOptions = {}): Tensor => ones(t.shape, like(t, opts));
export const fullLike = (t: Tensor, value: number, opts: TensorOptions = {}): Tensor => full(t.shape, value, like(t, opts));

/** Values from start (inclusive) to end (exclusive) by step; arange(n) is 0..n-1. */
export function arange(start: number, end?: number, step = 1, opts: TensorOptions = {}): Tensor {
  const [lo, hi] = end === undefined ? [0, start] : [start, end];
  if (step === 0) throw new ValueError('arange: step must be nonzero');
  const n = Math.max(0, Math.ceil((hi - lo) / step));
  const allInt = [lo, hi, step].every(Number.isInteger);
  const dtype = opts.dtype ?? (allInt ? 'int32' : 'float32');
  const data = allocate(dtype, n);
  for (let i = 0; i < n; i++) data[i] = lo + i * step;
  return finish(new Tensor(data, [n], dtype), opts);
}

export function linspace(start: number, end: number, steps: number, opts: TensorOptions = {}): Tensor {
  if (!Number.isInteger(steps) || steps < 0) throw new ValueError(`linspace: steps must be a non-negative integer, got ${steps}`);
  const dtype = opts.dtype ?? 'float32';
  const data = allocate(dtype, steps);
  const delta = steps > 1 ? (end - start) / (steps - 1) : 0;
  // Fill from both ends, as PyTorch does, so the last value is exactly `end`.
  const half = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) data[i] = i < half ? start + i * delta : end - (steps - 1 - i) * delta;
  return finish(new Tensor(data, [steps], dtype), opts);
}

export function eye(n: number, m = n, opts: TensorOptions = {}): Tensor {
  const t = zeros([n, m], { dtype: opts.dtype, device: 'cpu' });
  for (let i = 0; i < Math.min(n, m); i++) t.data[i * m + i] = 1;
  return finish(t, opts);
}

function floatDtype(op: string, opts: TensorOptions): DType {
  const dtype = opts.dtype ?? 'float32';
  if (!isFloat(dtype)) throw new DTypeError(`${op}: needs a floating-point dtype, got ${dtype}`);
  return dtype;
}

/** Uniform on [0, 1). */
export function rand(shape: ShapeArg, opts: RandomOptions = {}): Tensor {
  checkShape('rand', shape);
  const gen = opts.generator ?? defaultGenerator;
  const data = allocate(floatDtype('rand', opts), numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = gen.random();
  return finish(new Tensor(data, shape, floatDtype('rand', opts)), opts);
}

/** Standard normal. */
export function randn(shape: ShapeArg, opts: RandomOptions = {}): Tensor {
  checkShape('randn', shape);
  const gen = opts.generator ?? defaultGenerator;
  const data = allocate(floatDtype('randn', opts), numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = gen.normal();
  return finish(new Tensor(data, shape, floatDtype('randn', opts)), opts);
}

/** Integers uniform in [low, high); int32 unless a dtype is given. */
export function randint(low: number, high: number, shape: ShapeArg, opts: RandomOptions = {}): Tensor {
  checkShape('randint', shape);
  if (!(high > low)) throw new ValueError(`randint: high (${high}) must be greater than low (${low})`);
  const gen = opts.generator ?? defaultGenerator;
  const dtype = opts.dtype ?? 'int32';
  const data = allocate(dtype, numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = gen.integer(low, high);
  return finish(new Tensor(data, shape, dtype), opts);
}

export function randperm(n: number, opts: RandomOptions = {}): Tensor {
  const gen = opts.generator ?? defaultGenerator;
  return finish(new Tensor(gen.permutation(n), [n], 'int32'), opts);
}

export const randLike = (t: Tensor, opts: RandomOptions = {}): Tensor => rand(t.shape, { dtype: t.dtype, device: t.device, ...opts });
export const randnLike = (t: Tensor, opts: RandomOptions = {}): Tensor => randn(t.shape, { dtype: t.dtype, device: t.device, ...opts });
export const randintLike = (t: Tensor, low: number, high: number, opts: RandomOptions = {}): Tensor =>
  randint(low, high, t.shape, { dtype: t.dtype, device: t.device, ...opts });

/** A 0-d tensor. */
export function scalar(value: number, opts: TensorOptions = {}): Tensor {
  return full([], value, opts);
}
