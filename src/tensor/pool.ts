/**
 * Buffers the library knows to be dead, kept for the next allocation of the same size.
 *
 * JavaScript frees a typed array only when the garbage collector runs, and between collections
 * every new array lands in memory that has not been touched for a while (tens of megabytes of
 * churn per collection: out of cache). Reusing a buffer that just died keeps the memory hot.
 * Only code that can prove nothing else refers to a buffer returns it here: the autograd engine
 * (gradient buffers it made, used by its own rules and passed to no user code) and zeroGrad (a
 * .grad buffer the engine made and nobody read since). Takers get unspecified contents.
 */
/** Smaller buffers are not worth pooling (zero-filling them costs next to nothing). */
export const POOL_MIN_BYTES = 16384;
const MAX_BYTES = 64 * 1024 * 1024;
const MAX_PER_SIZE = 8;

const free = new Map<number, ArrayBuffer[]>();
const inPool = new WeakSet<ArrayBuffer>();
let pooledBytes = 0;

/** Offer the whole buffer behind `a` for reuse. The caller guarantees nothing refers to it. */
export function recycleBuffer(a: ArrayBufferView): void {
  // byteLength first: reading .buffer of a small on-heap typed array makes V8 materialise it.
  if (a.byteLength < POOL_MIN_BYTES) return;
  const b = a.buffer;
  if (!(b instanceof ArrayBuffer) || inPool.has(b)) return;
  const bytes = b.byteLength;
  if (bytes < POOL_MIN_BYTES || pooledBytes + bytes > MAX_BYTES) return;
  let list = free.get(bytes);
  if (!list) free.set(bytes, (list = []));
  if (list.length >= MAX_PER_SIZE) return;
  list.push(b);
  inPool.add(b);
  pooledBytes += bytes;
}

/** A dead buffer of exactly `bytes` bytes, or undefined. */
export function takeBuffer(bytes: number): ArrayBuffer | undefined {
  const list = free.get(bytes);
  const b = list?.pop();
  if (b === undefined) return undefined;
  inPool.delete(b);
  pooledBytes -= bytes;
  return b;
}

/** @internal For tests: how many bytes wait in the pool. */
export function pooledByteCount(): number {
  return pooledBytes;
}
