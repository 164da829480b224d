import type { TypedArray } from '../backend/types.js';

/**
 * Where a tensor's elements live. A tensor is a view onto a storage: shape, strides and an
 * offset say which of the storage's elements it reads, so transpose, expand, narrow, select
 * and the like share one storage instead of copying (PyTorch's model).
 *
 * A storage belongs to a device. Host storage (every backend chainrule has today: reference,
 * wasm, native) is a typed array, readable at once; a device whose memory the host cannot read
 * directly (a GPU buffer) answers `read()` asynchronously and has no `readSync()`.
 *
 * The version counter lives here, not on the tensor: an in-place op through any view, or
 * through a `detach()` alias, bumps the one counter that every saved tensor of that storage
 * checks in backward (PyTorch shares it the same way).
 */
export interface Storage {
  /** 'cpu' for host memory. */
  readonly device: string;
  /** How many elements of the tensor's dtype the storage holds. */
  readonly length: number;
  /** Bumped by every in-place write through any tensor on this storage. */
  version: number;
  /** The elements, whenever they can be had (a GPU read waits for the queue). */
  read(): Promise<TypedArray>;
  /** The elements now, or null where the device cannot give them synchronously. */
  readSync(): TypedArray | null;
}

/** A typed array in host memory: what the reference, wasm and native backends compute on. */
export class HostStorage implements Storage {
  get device(): 'cpu' {
    return 'cpu';
  }
  private own = 0;
  constructor(
    readonly array: TypedArray,
    /**
     * A storage whose version this one reports instead of its own: a contiguous copy that stands
     * in for a view of `versionOf` (see Tensor.rowMajorTensor) must notice writes to the original.
     */
    private readonly versionOf: Storage | null = null,
  ) {}

  get version(): number {
    return this.versionOf === null ? this.own : this.versionOf.version;
  }
  set version(v: number) {
    if (this.versionOf === null) this.own = v;
    else this.versionOf.version = v;
  }

  get length(): number {
    return this.array.length;
  }

  read(): Promise<TypedArray> {
    return Promise.resolve(this.array);
  }

  readSync(): TypedArray {
    return this.array;
  }
}
