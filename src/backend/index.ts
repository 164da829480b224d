import { referenceBackend } from './reference.js';
import type { Backend } from './types.js';

export type { Backend } from './types.js';

/**
 * The one place the kernels are chosen. Ops call `backend()` at each use, so swapping the
 * backend (for a faster one, or back to the reference for a test) needs no other change.
 */
let current: Backend = referenceBackend;

export function backend(): Backend {
  return current;
}

export function setBackend(b: Backend): Backend {
  const previous = current;
  current = b;
  return previous;
}

export { referenceBackend };
