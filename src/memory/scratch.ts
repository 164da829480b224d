import type { FloatArray } from '../backend/types.js';
import { allocateUninit } from '../tensor/dtype.js';
import { recycleBuffer, ReleasedBufferError } from './pool.js';

/**
 * A rule's temporary buffer: taken, used, and either released (its memory goes back to the pool)
 * or kept (it becomes the data of a tensor the rule returns, and is no longer scratch). Reading
 * .array after either throws, so a rule cannot use a buffer it gave back through this handle;
 * a raw array it copied out of the handle and used later is what CHAINRULE_DEBUG_POOL catches.
 */
export class Scratch<A extends FloatArray = FloatArray> {
  private a: A | null;
  private ended: 'released' | 'kept' | null = null;
  /** `label` names the rule and the buffer in errors, e.g. 'conv2d backward: columns'. */
  constructor(
    a: A,
    private readonly label: string,
  ) {
    this.a = a;
  }
  /** The buffer, contents unspecified until the rule writes them. */
  get array(): A {
    if (this.a === null) throw this.misuse('read');
    return this.a;
  }
  /** Give the buffer back: nothing may use it after this. */
  release(): void {
    if (this.a === null) throw this.misuse('released again');
    const a = this.a;
    this.a = null;
    this.ended = 'released';
    recycleBuffer(a);
  }
  /** The buffer becomes a result's data: it leaves the scratch's care (the walk's tracker takes over). */
  keep(): A {
    if (this.a === null) throw this.misuse('kept');
    const a = this.a;
    this.a = null;
    this.ended = 'kept';
    return a;
  }
  private misuse(what: string): ReleasedBufferError {
    return new ReleasedBufferError(`${this.label}: scratch buffer ${what} after it was ${this.ended}`);
  }
}

/** A scratch float buffer of n elements, contents unspecified. */
export function takeScratch(dtype: 'float32' | 'float64', n: number, label: string): Scratch {
  return new Scratch(allocateUninit(dtype, n), label);
}

/** fn with a scratch buffer that is released when fn returns or throws; fn must not let the array escape. */
export function withScratch<R>(dtype: 'float32' | 'float64', n: number, label: string, fn: (a: FloatArray) => R): R {
  const s = takeScratch(dtype, n, label);
  try {
    return fn(s.array);
  } finally {
    s.release();
  }
}
