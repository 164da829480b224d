/**
 * Memory reuse, all of it: the pool of dead buffers (pool.ts), the backward walk's ownership
 * tracker and the "may write in place over this gradient" query (ownership.ts), a rule's
 * temporary buffers (scratch.ts), and zeroGrad's release of .grad. Nothing outside this folder
 * gives a buffer back to the pool; the rules are in each file's header.
 *
 * CHAINRULE_DEBUG_POOL=1 poisons every buffer given back (NaN for floats), so any code that
 * reads memory after giving it back fails the tests instead of computing wrong numbers.
 */
export { POOL_MIN_BYTES, ReleasedBufferError, debugPoolEnabled, pooledByteCount } from './pool.js';
export { WalkOwnership, beginWalk, bufferOf, endWalk, gradIsExclusive, noteBirth, releaseGrad } from './ownership.js';
export { Scratch, takeScratch, withScratch } from './scratch.js';
