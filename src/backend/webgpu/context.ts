/// <reference types="@webgpu/types" />
import type { TypedArray } from '../types.js';
import { DTypeError, DeviceError } from '../../errors.js';
import type { DType } from '../../tensor/dtype.js';
import type { Storage } from '../../tensor/storage.js';

/**
 * The WebGPU device, its buffers and its pipelines. Every tensor on 'webgpu' is a GpuStorage:
 * one GPUBuffer of 4-byte elements (f32 for float32, i32 for int32 and for bool, 0/1). float64
 * has no WGSL type, so it is refused (PyTorch's MPS refuses it too).
 *
 * Memory is automatic: a storage's buffer goes back to a pool when the storage is collected
 * (FinalizationRegistry), and new storages take pooled buffers of their size class first. The
 * queue runs in submission order, so a buffer handed out again is only written after the work
 * already submitted has read it.
 */

// The WebGPU enums by value, so that no global (GPUBufferUsage, ...) has to exist in Node.
export const USAGE = { MAP_READ: 1, COPY_SRC: 4, COPY_DST: 8, UNIFORM: 0x40, STORAGE: 0x80 } as const;
const MAP_READ_MODE = 1;

/** The WGSL element type a dtype is stored as. */
export function wgslType(dtype: DType): 'f32' | 'i32' {
  if (dtype === 'float32') return 'f32';
  if (dtype === 'int32' || dtype === 'bool') return 'i32';
  throw new DTypeError(`webgpu: dtype ${dtype} is not supported on the GPU (WGSL has no 64-bit floats); convert with .float() first`);
}

/** Buffers are handed out in size classes (powers of two from 256 bytes) so that they can be reused. */
function sizeClass(bytes: number): number {
  let s = 256;
  while (s < bytes) s *= 2;
  return s;
}

export interface MemoryStats {
  /** Bytes in buffers that tensors hold now. */
  liveBytes: number;
  /** Bytes in pooled buffers waiting to be reused. */
  pooledBytes: number;
  /** Buffers created so far (a flat count in a long run means the pool serves every step). */
  created: number;
}

export class GpuContext {
  private readonly pool = new Map<number, GPUBuffer[]>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  readonly stats: MemoryStats = { liveBytes: 0, pooledBytes: 0, created: 0 };
  /** Most bytes kept in the pool; buffers beyond are destroyed. */
  poolLimit = 512 * 1024 * 1024;
  private readonly finalizer = new FinalizationRegistry<{ buffer: GPUBuffer; bytes: number }>((h) => this.release(h.buffer, h.bytes));
  lost = false;

  constructor(
    readonly device: GPUDevice,
    readonly adapterName: string,
  ) {
    void device.lost?.then(() => {
      this.lost = true;
    });
  }

  /** A storage buffer of at least `bytes` (pooled, contents unspecified). */
  acquire(bytes: number): GPUBuffer {
    if (this.lost) throw new DeviceError('webgpu: the GPU device was lost; call initWebGPU() again');
    const size = sizeClass(Math.max(4, bytes));
    const free = this.pool.get(size);
    this.stats.liveBytes += size;
    if (free !== undefined && free.length > 0) {
      this.stats.pooledBytes -= size;
      return free.pop()!;
    }
    this.stats.created++;
    return this.device.createBuffer({ size, usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST });
  }

  /** Gives a buffer back (to the pool, or destroyed past the pool's limit). */
  release(buffer: GPUBuffer, bytes: number): void {
    const size = sizeClass(Math.max(4, bytes));
    this.stats.liveBytes -= size;
    if (this.stats.pooledBytes + size > this.poolLimit) {
      buffer.destroy();
      return;
    }
    let free = this.pool.get(size);
    if (free === undefined) this.pool.set(size, (free = []));
    free.push(buffer);
    this.stats.pooledBytes += size;
  }

  /** Destroys every pooled buffer. */
  trim(): void {
    for (const list of this.pool.values()) for (const b of list) b.destroy();
    this.pool.clear();
    this.stats.pooledBytes = 0;
  }

  /** A new storage of `length` elements whose buffer returns to the pool once the storage is collected. */
  storage(length: number, dtype: DType, host: TypedArray | null = null): GpuStorage {
    const bytes = length * 4;
    const buffer = this.acquire(bytes);
    const s = new GpuStorage(this, buffer, length, dtype, host);
    this.finalizer.register(s, { buffer, bytes });
    return s;
  }

  /** A storage holding a copy of `array` (the host copy is kept until the storage is written). */
  upload(array: TypedArray, dtype: DType): GpuStorage {
    wgslType(dtype);
    const s = this.storage(array.length, dtype, array.slice());
    if (array.length > 0) this.device.queue.writeBuffer(s.buffer, 0, toDeviceArray(array, dtype) as unknown as BufferSource);
    return s;
  }

  /** A buffer the kernels read their sizes from (pooled like the others). */
  metaBuffer(meta: Int32Array): { buffer: GPUBuffer; bytes: number } {
    const bytes = meta.byteLength;
    const buffer = this.acquire(bytes);
    this.device.queue.writeBuffer(buffer, 0, meta as unknown as BufferSource);
    return { buffer, bytes };
  }

  pipeline(key: string, code: () => string): GPUComputePipeline {
    let p = this.pipelines.get(key);
    if (p === undefined) {
      const module = this.device.createShaderModule({ code: code() });
      p = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
      this.pipelines.set(key, p);
    }
    return p;
  }

  /**
   * One compute dispatch: `buffers` bound at 0, 1, ... in order, `groups` workgroups (spread over
   * x and y when more than the per-dimension limit), submitted at once.
   */
  dispatch(pipeline: GPUComputePipeline, buffers: readonly GPUBuffer[], groups: number | [number, number]): void {
    if (this.lost) throw new DeviceError('webgpu: the GPU device was lost; call initWebGPU() again');
    const entries = buffers.map((buffer, binding) => ({ binding, resource: { buffer } }));
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    const encoder = this.device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    if (typeof groups === 'number') {
      if (groups > 0) {
        const x = Math.min(groups, 65535);
        pass.dispatchWorkgroups(x, Math.ceil(groups / x));
      }
    } else pass.dispatchWorkgroups(groups[0], groups[1]);
    pass.end();
    this.device.queue.submit([encoder.finish()]);
  }

  /** Copies `bytes` from one buffer to another, in queue order. */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    if (bytes === 0) return;
    const encoder = this.device.createCommandEncoder();
    encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    this.device.queue.submit([encoder.finish()]);
  }

  /**
   * `length` elements of a buffer from element `offset`, copied now (in queue order) into a
   * buffer of their own; `values()` maps it once the work before is done.
   */
  snapshot(buffer: GPUBuffer, offset: number, length: number, dtype: DType): { values(): Promise<TypedArray> } {
    const bytes = length * 4;
    if (bytes === 0) return { values: async () => fromDeviceArray(new Int32Array(0).buffer, 0, dtype) };
    const staging = this.device.createBuffer({ size: bytes, usage: USAGE.MAP_READ | USAGE.COPY_DST });
    const encoder = this.device.createCommandEncoder();
    encoder.copyBufferToBuffer(buffer, offset * 4, staging, 0, bytes);
    this.device.queue.submit([encoder.finish()]);
    return {
      values: async () => {
        await staging.mapAsync(MAP_READ_MODE);
        const out = fromDeviceArray(staging.getMappedRange().slice(0), length, dtype);
        staging.unmap();
        staging.destroy();
        return out;
      },
    };
  }

  /** The first `length` elements of a buffer, once the work submitted before is done. */
  async read(buffer: GPUBuffer, length: number, dtype: DType): Promise<TypedArray> {
    if (length === 0) return fromDeviceArray(new Int32Array(0).buffer, 0, dtype);
    const bytes = length * 4;
    const staging = this.device.createBuffer({ size: bytes, usage: USAGE.MAP_READ | USAGE.COPY_DST });
    const encoder = this.device.createCommandEncoder();
    encoder.copyBufferToBuffer(buffer, 0, staging, 0, bytes);
    this.device.queue.submit([encoder.finish()]);
    await staging.mapAsync(MAP_READ_MODE);
    const out = fromDeviceArray(staging.getMappedRange().slice(0), length, dtype);
    staging.unmap();
    staging.destroy();
    return out;
  }
}

/** The host array as the GPU stores it (bools widen to i32). */
function toDeviceArray(a: TypedArray, dtype: DType): Float32Array | Int32Array {
  if (dtype === 'float32') return a as Float32Array;
  if (dtype === 'int32') return a as Int32Array;
  return Int32Array.from(a as Uint8Array);
}

function fromDeviceArray(bytes: ArrayBuffer, length: number, dtype: DType): TypedArray {
  if (dtype === 'float32') return new Float32Array(bytes, 0, length);
  const ints = new Int32Array(bytes, 0, length);
  if (dtype === 'int32') return ints;
  return Uint8Array.from(ints, (v) => (v !== 0 ? 1 : 0));
}

/**
 * A tensor's elements in a GPU buffer. `read()` copies them back once the queue is done with
 * the work before it; `readSync()` cannot exist for GPU memory and throws an error naming the
 * asynchronous read. While the host still has the values it uploaded (nothing wrote the storage
 * since), `host` holds them: ops without a GPU kernel run on it, synchronously.
 */
export class GpuStorage implements Storage {
  readonly device = 'webgpu';
  version = 0;
  constructor(
    readonly ctx: GpuContext,
    readonly buffer: GPUBuffer,
    readonly length: number,
    readonly dtype: DType,
    public host: TypedArray | null,
  ) {}

  read(): Promise<TypedArray> {
    return this.ctx.read(this.buffer, this.length, this.dtype);
  }

  readSync(): never {
    throw new DeviceError('webgpu: GPU memory cannot be read synchronously; use await x.dataAsync(), x.toArrayAsync() or x.itemAsync()');
  }
}
