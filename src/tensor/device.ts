import type { TypedArray } from '../backend/types.js';
import { DeviceError } from '../errors.js';
import type { DType } from './dtype.js';
import type { Storage } from './storage.js';
import type { Tensor } from './tensor.js';

/**
 * Devices: where a tensor's storage lives. 'cpu' is host memory (the reference, wasm and native
 * backends); any other device is registered by its backend module (chainrule/webgpu registers
 * 'webgpu' in `initWebGPU()`), so the core never imports a device's code.
 *
 * An op runs on the device of its inputs (ops/registry.ts apply()); inputs on two devices are an
 * error naming both, except 0-d host tensors (Python-number scalars the ops make), which any
 * device takes as a constant, as PyTorch takes CPU scalars with CUDA tensors.
 */
export type Device = 'cpu' | 'webgpu' | (string & {});

/** What a device module gives the core. */
export interface DeviceImpl {
  readonly name: string;
  /** A storage on this device holding a copy of `array` (row-major, of `dtype`). */
  upload(array: TypedArray, dtype: DType): Storage;
  /**
   * The elements of a tensor on this device, row-major, when the host has them now (the device
   * keeps a host copy of what it was given until the storage is written), else null.
   */
  hostCopy(t: Tensor): TypedArray | null;
  /**
   * The forward of primitive `op` on this device, saving into `ctx` what the op's CPU rule saves,
   * or null where the device has no kernel for it (apply() then computes it through the host).
   */
  forward(op: string, ctx: { save(...t: Tensor[]): void }, inputs: readonly Tensor[], attrs: unknown): Tensor | null;
  /** A contiguous tensor on this device with t's elements (t itself when contiguous and !fresh). */
  contiguous(t: Tensor, fresh: boolean): Tensor;
  /** Writes src's elements (same shape, same device, contiguous) into dst's, through dst's strides. */
  write(op: string, dst: Tensor, src: Tensor): void;
  /**
   * One of the untracked kernels the rules and comparisons call directly (ops/kernels.ts's
   * unaryK, binaryK, compareK, reduceK, whereK, asDType), with the same arguments, or null where
   * the device has none for them (deviceKernel then runs the host one).
   */
  kernel(name: DeviceKernel, args: readonly unknown[]): Tensor | null;
  /** Records that `op` ran through the host (the fallbacks list). */
  noteFallback(op: string): void;
  /**
   * Set in a device's checking mode only (chainrule/webgpu's `initWebGPU({ check: true })`): each
   * op the device computed is computed on the host too, from its inputs' host copies, and handed
   * here (`host`, the CPU result; `out`, the device's) to be compared and kept as out's host copy.
   */
  checkAgainstHost?(what: string, out: Tensor, host: Tensor): void;
}

export type DeviceKernel = 'unary' | 'binary' | 'compare' | 'reduce' | 'where' | 'cast';

/**
 * An untracked kernel call with an operand on a device: the device's kernel, else the host one
 * on the operands' host copies (counted as a fallback), its result moved to the device. The
 * operands must share one device (0-d host tensors excepted), as an op's inputs.
 */
export function deviceKernel(name: DeviceKernel, what: string, args: readonly unknown[], host: (...args: any[]) => Tensor): Tensor {
  let device = '';
  for (const a of args) if (isTensor(a) && a.deviceResident) (device ||= a.storage.device);
  for (const a of args) {
    if (!isTensor(a)) continue;
    const d = a.storage.device;
    if ((d === 'cpu' && a.ndim > 0) || (d !== 'cpu' && d !== device)) {
      throw new DeviceError(`${what}: expected all tensors to be on the same device, but found tensors on ${device} and on ${d} (shape [${a.shape.join(', ')}])`);
    }
  }
  const impl = deviceImpl(device);
  const out = impl.kernel(name, args);
  if (out !== null) {
    if (impl.checkAgainstHost !== undefined) {
      const hostArgs = args.map((a) => (isTensor(a) && a.deviceResident ? impl.hostCopy(a) : a));
      if (!hostArgs.includes(null)) {
        impl.checkAgainstHost(what, out, host(...hostArgs.map((a, i) => (a === args[i] ? a : new TensorClass!(a as TypedArray, (args[i] as Tensor).shape, (args[i] as Tensor).dtype)))));
      }
    }
    return out;
  }
  const hostArgs = args.map((a) => {
    if (!isTensor(a) || a.deviceResident === false) return a;
    const copy = impl.hostCopy(a);
    if (copy === null) {
      throw new DeviceError(
        `${what}: has no ${device} kernel for this call, and its input (shape [${a.shape.join(', ')}]) exists only in ${device} memory, ` +
          'which cannot be read synchronously; read it with await x.cpuAsync() first',
      );
    }
    return new TensorClass!(copy, a.shape, a.dtype);
  });
  const r = host(...hostArgs);
  impl.noteFallback(what);
  return new TensorClass!(impl.upload(r.rowMajor(false), r.dtype), r.shape, r.dtype);
}

// The Tensor class, given by tensor.ts when it loads (this module cannot import it: tensor.ts imports this one).
let TensorClass: (new (data: TypedArray | Storage, shape: readonly number[], dtype: DType) => Tensor) | null = null;
let isTensorFn: (x: unknown) => x is Tensor = (_x): _x is Tensor => false;

/** @internal Called once by tensor.ts. */
export function bindDeviceTensor(cls: new (data: TypedArray | Storage, shape: readonly number[], dtype: DType) => Tensor): void {
  TensorClass = cls;
  isTensorFn = (x): x is Tensor => x instanceof cls;
}

function isTensor(x: unknown): x is Tensor {
  return isTensorFn(x);
}

const devices = new Map<string, DeviceImpl>();
let defaultName: Device = 'cpu';

/** Registers (or replaces) a device's implementation. */
export function registerDevice(impl: DeviceImpl): void {
  devices.set(impl.name, impl);
}

/** The implementation of a registered device, or an error saying how to get it. */
export function deviceImpl(name: string): DeviceImpl {
  const d = devices.get(name);
  if (d !== undefined) return d;
  if (name === 'webgpu') {
    throw new DeviceError("device 'webgpu' is not initialised: call `await initWebGPU()` from 'chainrule/webgpu' first");
  }
  throw new DeviceError(`unknown device '${name}'; the devices are 'cpu'${[...devices.keys()].map((d) => `, '${d}'`).join('')}`);
}

/** Whether `name` names a device ('cpu' or a registered or known one) rather than a dtype. */
export function isDeviceName(name: string): boolean {
  return name === 'cpu' || name === 'webgpu' || devices.has(name);
}

/**
 * Sets the device creation functions (tensor, zeros, randn, ...) put new tensors on when no
 * `{ device }` is given, and returns the previous one. Ops follow their inputs, not this.
 */
export function setDefaultDevice(device: Device): Device {
  if (device !== 'cpu') deviceImpl(device);
  const previous = defaultName;
  defaultName = device;
  return previous;
}

/** The device creation functions use when none is given ('cpu' unless set). */
export function getDefaultDevice(): Device {
  return defaultName;
}
