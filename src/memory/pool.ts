import { ChainruleError } from '../errors.js';

/**
 * Buffers the library knows to be dead, kept for the next allocation of the same size.
 *
 * JavaScript frees a typed array only when the garbage collector runs, and between collections
 * every new array lands in memory that has not been touched for a while (tens of megabytes of
 * churn per collection: out of cache). Reusing a buffer that just died keeps the memory hot.
 * Only this module returns buffers here (ownership.ts: gradients the walk proved dead and .grad
 * buffers zeroGrad drops; scratch.ts: a rule's released temporaries). Takers get unspecified
 * contents.
 */
/** Smaller buffers are not worth pooling (zero-filling them costs next to nothing). */
export const POOL_MIN_BYTES = 16384;
const MAX_BYTES = 64 * 1024 * 1024;
const MAX_PER_SIZE = 8;

const free = new Map<number, ArrayBuffer[]>();
const inPool = new WeakSet<ArrayBuffer>();
let pooledBytes = 0;

/** A buffer was used against the pool's rules: read through a released Scratch, or written after it was given back. */
export class ReleasedBufferError extends ChainruleError {}

/**
 * CHAINRULE_DEBUG_POOL=1: every buffer given back is filled with a poison word, so code that
 * still reads it after giving it back computes NaN (floats) or 2146959360 (int32) and the tests
 * fail, instead of silently reading whatever the next owner wrote. The pool hands a buffer out
 * by size, whatever type it had, so the word 0x7FF80000 is a NaN both as a float32 (exponent
 * 0xFF) and, twice over, as a float64 (exponent 0x7FF); as an int32 it reads 2146959360.
 * Read once; off where there is no `process`.
 */
const DEBUG = typeof process !== 'undefined' && process.env?.CHAINRULE_DEBUG_POOL === '1';
const POISON = 0x7ff80000;

/** @internal Whether CHAINRULE_DEBUG_POOL was set when this module loaded. */
export function debugPoolEnabled(): boolean {
  return DEBUG;
}

function poison(b: ArrayBufferLike, offset: number, bytes: number): void {
  // Typed arrays of 4- and 8-byte elements are 4-byte aligned; an odd bool tail gets 0xFF bytes.
  const words = offset % 4 === 0 ? bytes >>> 2 : 0;
  new Uint32Array(b, offset, words).fill(POISON);
  new Uint8Array(b, offset + words * 4, bytes - words * 4).fill(0xff);
}

/** Debug mode: a pooled buffer must still hold nothing but poison when it is handed out again. */
function checkPoison(b: ArrayBuffer): void {
  const words = new Uint32Array(b, 0, b.byteLength >>> 2);
  for (let i = 0; i < words.length; i++) {
    if (words[i] !== POISON) {
      throw new ReleasedBufferError(
        `buffer pool: a ${b.byteLength}-byte buffer was written at byte ${i * 4} after it was given back (something still held it)`,
      );
    }
  }
}

/**
 * @internal Offer the whole buffer behind `a` for reuse. The caller guarantees nothing refers to
 * it. Called from src/memory/ only: everything else gives buffers back through a Scratch or
 * lets the walk's ownership tracker prove them dead.
 */
export function recycleBuffer(a: ArrayBufferView): void {
  // byteLength first: reading .buffer of a small on-heap typed array makes V8 materialise it.
  if (a.byteLength < POOL_MIN_BYTES) {
    // Never pooled, but still dead: poisoned (its own bytes only) so that a reader that kept it shows up too.
    if (DEBUG) poison(a.buffer, a.byteOffset, a.byteLength);
    return;
  }
  const b = a.buffer;
  if (!(b instanceof ArrayBuffer) || inPool.has(b)) return;
  if (DEBUG) poison(b, 0, b.byteLength);
  const bytes = b.byteLength;
  if (bytes < POOL_MIN_BYTES || pooledBytes + bytes > MAX_BYTES) return;
  let list = free.get(bytes);
  if (!list) free.set(bytes, (list = []));
  if (list.length >= MAX_PER_SIZE) return;
  list.push(b);
  inPool.add(b);
  pooledBytes += bytes;
}

/** @internal A dead buffer of exactly `bytes` bytes, or undefined. */
export function takeBuffer(bytes: number): ArrayBuffer | undefined {
  const list = free.get(bytes);
  const b = list?.pop();
  if (b === undefined) return undefined;
  inPool.delete(b);
  pooledBytes -= bytes;
  if (DEBUG) checkPoison(b);
  return b;
}

/** @internal For tests: how many bytes wait in the pool. */
export function pooledByteCount(): number {
  return pooledBytes;
}
