import type { Tensor } from '../tensor/tensor.js';
import { POOL_MIN_BYTES, recycleBuffer } from './pool.js';

/**
 * Who may reuse a gradient's memory during a backward pass, and when it is dead.
 *
 * Every question is asked of what bufferOf(t) returns: the array behind the tensor's storage.
 */

/**
 * The whole array behind a tensor's storage: the key of every ownership question. A view (a cat
 * backward's narrowed pieces, a transposed gradient) shares it with its base, so ownership is
 * decided for the array, never for the view's part of it.
 */
/** Stands in for a device storage's array: too small to be tracked, never recycled. */
const NO_HOST = new Uint8Array(0);

function wholeArray(t: Tensor): ArrayBufferView {
  return t.deviceResident === false ? t.wholeHostArray()! : NO_HOST;
}

/** The memory a tensor's data lives in: the key of every ownership question. */
export function bufferOf(t: Tensor): ArrayBufferLike {
  return wholeArray(t).buffer;
}

/**
 * Only tensors whose storage holds POOL_MIN_BYTES or more are tracked; smaller ones are copied
 * and never recycled. Views are judged by their whole storage: a small narrowed piece of a big
 * gradient is tracked with (and as) the big buffer, so its sibling pieces are never taken for
 * exclusive while it lives.
 */
function tracked(t: Tensor): boolean {
  return wholeArray(t).byteLength >= POOL_MIN_BYTES;
}

/** Give t's whole buffer to the pool: the caller proved nothing else can reach it. */
function recycle(t: Tensor): void {
  if (t.deviceResident) return;
  recycleBuffer(wholeArray(t));
}

/**
 * Which gradient buffers a leaf may take into .grad without copying, which a rule may
 * overwrite, and which are dead. A buffer qualifies when it was allocated during this walk,
 * only built-in rules have touched it (no hook, custom Function, retainGrad or capture saw it:
 * user code could keep a reference), and no other slot holds it. Pass-through rules (add's
 * backward returns g itself) are fine: the node that received g is done with it once its rule
 * has run.
 */
export class WalkOwnership {
  // Created on first use: graphs of small tensors (where copying costs nothing) never pay for them.
  private born: WeakSet<ArrayBufferLike> | null = null;
  private live: Map<ArrayBufferLike, number> | null = null;
  private exposed: WeakSet<ArrayBufferLike> | null = null;
  /** Gradients that may have died while a node handed out its results: checked once it is done. */
  private retired: Tensor[] = [];
  /** Forget everything: one instance serves every outermost walk. */
  reset(): this {
    this.born = null;
    this.live = null;
    this.exposed = null;
    this.retired.length = 0;
    return this;
  }
  /** A buffer allocated while this walk runs (see noteBirth). */
  birth(b: ArrayBufferLike): void {
    (this.born ??= new WeakSet()).add(b);
  }
  /** A slot of the walk now holds g. */
  hold(g: Tensor): void {
    if (!tracked(g)) return;
    const b = bufferOf(g);
    const live = (this.live ??= new Map());
    live.set(b, (live.get(b) ?? 0) + 1);
  }
  /** A slot let go of g. */
  drop(g: Tensor): void {
    if (this.live === null || !tracked(g)) return;
    const b = bufferOf(g);
    const n = this.live.get(b);
    if (n === undefined) return;
    if (n <= 1) this.live.delete(b);
    else this.live.set(b, n - 1);
  }
  /** User code (a hook, a custom Function) saw g, or a leaf keeps it: its whole buffer is off limits, whatever its size. */
  expose(g: Tensor | null | undefined): void {
    if (g) (this.exposed ??= new WeakSet()).add(bufferOf(g));
  }
  private mine(b: ArrayBufferLike): boolean {
    return this.born !== null && this.born.has(b) && !(this.exposed?.has(b) ?? false);
  }
  /** Nothing but the one slot holding g can reach its buffer. */
  owns(g: Tensor): boolean {
    if (this.born === null || !tracked(g)) return false;
    const b = bufferOf(g);
    return this.live?.get(b) === 1 && this.mine(b);
  }
  /**
   * g may be dead, but the node now handing out its results may still pass it to another
   * edge (add's backward gives one gradient to both operands; a sum's parts are read by the
   * next edge): decide at recycleRetired, once every edge has been served.
   */
  retire(g: Tensor): void {
    if (this.born !== null && tracked(g)) this.retired.push(g);
  }
  /** The running node is done: recycle what it retired and no slot took. */
  recycleRetired(): void {
    const r = this.retired;
    if (r.length === 0) return;
    for (let i = 0; i < r.length; i++) this.recycleIfDead(r[i]!);
    r.length = 0;
  }
  /** After g's holder is done with it: a buffer no slot holds any more is dead, so reuse it. */
  recycleIfDead(g: Tensor): void {
    if (this.born === null || !tracked(g)) return;
    const b = bufferOf(g);
    if (!(this.live?.has(b) ?? false) && this.mine(b)) {
      (this.exposed ??= new WeakSet()).add(b); // never twice
      recycle(g);
    }
  }
}

/** Only outermost walks track ownership, so one tracker, reset per walk, serves them all. */
const shared = new WalkOwnership();
/** The running walk's tracker: null outside walks, and in nested or recorded ones (no rule writes in place there). */
let active: WalkOwnership | null = null;

/**
 * @internal The engine starts a walk: a tracker when it may reuse memory (`track`: an outermost,
 * first-order walk), else null. Returns what endWalk must restore.
 */
export function beginWalk(track: boolean): { own: WalkOwnership | null; outer: WalkOwnership | null } {
  const outer = active;
  active = track ? shared.reset() : null;
  return { own: active, outer };
}

/** @internal The walk begun with beginWalk ended (normally or not). */
export function endWalk(w: { own: WalkOwnership | null; outer: WalkOwnership | null }): void {
  w.own?.reset(); // let go of the buffers it noted
  active = w.outer;
}

let observer: ((b: ArrayBufferLike) => void) | null = null;

/** @internal dtype.ts's allocators report each new buffer of POOL_MIN_BYTES or more here. */
export function noteBirth(b: ArrayBufferLike): void {
  if (active !== null) active.birth(b);
  if (observer !== null) observer(b);
}

/** @internal For tests: see every buffer of POOL_MIN_BYTES or more allocated from now on (null stops); returns the previous observer. */
export function observeAllocations(f: ((b: ArrayBufferLike) => void) | null): ((b: ArrayBufferLike) => void) | null {
  const prev = observer;
  observer = f;
  return prev;
}

/**
 * For backward rules: true when the gradient a rule was handed is held by nothing but the node
 * now running (made during this walk by built-in rules, seen by no user code, in no other
 * slot), so the rule may overwrite it in place instead of allocating its result.
 */
export function gradIsExclusive(g: Tensor): boolean {
  return active !== null && active.owns(g);
}

/**
 * zeroGrad's set-to-none for one parameter: drops .grad, and gives its buffer to the pool when
 * nothing outside the library can hold it (the engine made it for this leaf alone and no code
 * outside the library's internals has read or set .grad since: see Tensor.gradRecyclable).
 */
export function releaseGrad(t: Tensor): void {
  const g = t.peekGrad();
  if (g !== null && t.gradRecyclable) recycle(g);
  t.grad = null;
}
