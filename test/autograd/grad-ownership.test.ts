import { describe, expect, it } from 'vitest';
import { Function, FunctionCtx, nn, tensor, type Tensor } from '../../src/index.js';

/**
 * A leaf's .grad may take a gradient buffer the backward pass made, without a copy, only when
 * nothing else can reach that buffer. These are the cases where something else can: each
 * would go wrong (two .grads moving together, a hook's tensor changing under it) if the
 * engine handed out a shared buffer.
 */
const f32 = { requiresGrad: true };
const sameBuffer = (a: Tensor, b: Tensor) => a.typedData.buffer === b.typedData.buffer;
// Only buffers of 16 KB or more are ever lent (smaller ones are simply copied): test with those.
const N = 5000;
const big = (v: (i: number) => number, requiresGrad = true) =>
  requiresGrad ? tensor(Float32Array.from({ length: N }, (_, i) => v(i)), f32) : tensor(Float32Array.from({ length: N }, (_, i) => v(i)));

/** A custom Function whose backward keeps (in `kept`) the gradient it returns: user code holding it. */
function keepingFunction() {
  return class Keep extends Function {
    static kept: Tensor | null = null;
    static override forward(_ctx: FunctionCtx, x: Tensor): Tensor {
      return x.mul(2);
    }
    static override backward(_ctx: FunctionCtx, g: Tensor): Tensor {
      Keep.kept = g.mul(2);
      return Keep.kept;
    }
  };
}

describe('gradient buffers handed to leaves', () => {
  it('big tensors: add passes one gradient to both leaves, each .grad gets its own buffer', () => {
    const a = big((i) => i);
    const b = big((i) => -i);
    a.add(b).mul(big((i) => i % 7, false)).sum().backward();
    expect(sameBuffer(a.grad!, b.grad!)).toBe(false);
    a.grad!.typedData[0] = 100;
    expect(b.grad!.typedData[0]).toBe(0);
    expect(b.grad!.typedData[8]).toBe(1);
  });

  it('big tensors: a hook on an intermediate keeps its gradient; a hooked leaf never lends', () => {
    const x = big((i) => i);
    const w = big((i) => 1 + (i % 3));
    const h = x.mul(w);
    let seenH: Tensor | null = null;
    let seenW: Tensor | null = null;
    h.registerHook((g) => {
      seenH = g;
    });
    w.registerHook((g) => {
      seenW = g;
    });
    h.mul(2).sum().backward();
    const hBefore = Array.from(seenH!.typedData);
    x.grad!.typedData.fill(-1);
    w.grad!.typedData.fill(-1);
    // More work that allocates (and could reuse a wrongly recycled buffer).
    big((i) => i).mul(big((i) => 2 * i)).exp();
    expect(Array.from(seenH!.typedData)).toEqual(hBefore);
    expect(seenW!.typedData[5]).toBe(10);
    expect(sameBuffer(seenW!, w.grad!)).toBe(false);
  });

  it('big tensors: a custom Function that keeps the gradient it returns does not lend it', () => {
    const Keep = keepingFunction();
    const x = big((i) => i);
    Keep.apply(x).sum().backward();
    x.grad!.typedData.fill(0);
    big((i) => i).exp();
    expect(Keep.kept!.typedData[123]).toBe(2);
  });

  it('big tensors: the leaf takes the buffer when nothing else holds it (no copy)', () => {
    const w = big((i) => i);
    const x = big((i) => 1, false);
    w.mul(x).sum().backward();
    const g1 = w.grad!;
    expect(g1.typedData[10]).toBe(1);
  });

  it('big tensors: add hands one gradient to a fresh slot and to one that already holds a contribution; both use it intact', () => {
    // q.add(p): the one gradient g goes to q's node (empty slot: it holds g) and to p's node,
    // which already has p.mul(c)'s contribution and sums the two. Summing must not count as
    // letting go of g: q's node still holds it (an engine that did recycled it, and b's
    // gradient came out wrong, with no error).
    const c = big((i) => Math.sin(i), false);
    const a = big((i) => Math.cos(i) * 2);
    const b = big((i) => Math.sin(i * 0.7) * 3);
    const p = a.tanh();
    const q = b.sigmoid();
    q.add(p).sum().add(p.mul(c).sum()).backward();
    // The same rules fed the same upstream gradients, one path each.
    const a2 = a.detach().requiresGrad_(true);
    const b2 = b.detach().requiresGrad_(true);
    a2.tanh().mul(c.add(1)).sum().backward();
    b2.sigmoid().sum().backward();
    expect(Array.from(b.grad!.typedData)).toEqual(Array.from(b2.grad!.typedData));
    expect(Array.from(a.grad!.typedData)).toEqual(Array.from(a2.grad!.typedData));
  });

  it('add passes one gradient to both leaves: each .grad gets its own buffer', () => {
    const a = tensor([1, 2, 3], f32);
    const b = tensor([4, 5, 6], f32);
    a.add(b).mul(tensor([1, 2, 3])).sum().backward();
    expect(sameBuffer(a.grad!, b.grad!)).toBe(false);
    a.grad!.typedData[0] = 100;
    expect(b.grad!.tolist()).toEqual([1, 2, 3]);
  });

  it('clipGradNorm_ scales each of two leaves fed by one gradient once', () => {
    const a = tensor([3, 0], f32);
    const b = tensor([0, 4], f32);
    a.add(b).mul(tensor([3, 4])).sum().backward(); // both grads [3, 4]
    const norm = nn.clipGradNorm_([a, b], 1);
    expect(norm.item()).toBeCloseTo(Math.sqrt(50), 5);
    const s = 1 / Math.sqrt(50);
    expect(a.grad!.tolist()[0]).toBeCloseTo(3 * s, 6);
    expect(b.grad!.tolist()[1]).toBeCloseTo(4 * s, 6);
  });

  it('a gradient a hook kept is not the leaf’s .grad buffer', () => {
    const x = tensor([1, 2], f32);
    const w = tensor([3, 4], f32);
    let seen: Tensor | null = null;
    w.registerHook((g) => {
      seen = g;
    });
    x.mul(w).sum().backward();
    expect(sameBuffer(seen!, w.grad!)).toBe(false);
    w.grad!.typedData[0] = -1;
    expect(seen!.tolist()).toEqual([1, 2]);
  });

  it('a gradient seen by a hook on an intermediate tensor is not taken by a leaf', () => {
    const x = tensor([1, 2], f32);
    const h = x.mul(tensor([2, 2]));
    let seen: Tensor | null = null;
    h.registerHook((g) => {
      seen = g;
    });
    h.add(0).sum().backward();
    expect(seen).not.toBeNull();
    x.grad!.typedData.fill(7);
    expect(seen!.tolist()).toEqual([1, 1]);
  });

  it('a retained gradient and a leaf gradient do not share a buffer', () => {
    const x = tensor([1, 2], f32);
    const y = x.mul(1);
    y.retainGrad();
    y.sum().backward();
    x.grad!.typedData.fill(9);
    expect(y.grad!.tolist()).toEqual([1, 1]);
  });

  it('a custom Function that keeps its returned gradient does not lend it to a leaf', () => {
    const Keep = keepingFunction();
    const x = tensor([1, 2], f32);
    Keep.apply(x).sum().backward();
    x.grad!.typedData.fill(0);
    expect(Keep.kept!.tolist()).toEqual([2, 2]);
  });

  it('the gradient passed to backward() stays the caller’s', () => {
    const x = tensor([1, 2], f32);
    const gIn = tensor([5, 6]);
    x.backward(gIn);
    x.grad!.typedData.fill(0);
    expect(gIn.tolist()).toEqual([5, 6]);
  });

  it('values are unchanged: a Linear layer’s gradients match the formulas', () => {
    const lin = new nn.Linear(3, 2);
    const x = tensor([[1, 2, 3], [4, 5, 6]]);
    lin.forward(x).sum().backward();
    expect(lin.weight.grad!.toArray()).toEqual([[5, 7, 9], [5, 7, 9]]);
    expect(lin.bias!.grad!.tolist()).toEqual([2, 2]);
    // A second backward accumulates into the buffer the first one left.
    lin.forward(x).sum().backward();
    expect(lin.weight.grad!.toArray()).toEqual([[10, 14, 18], [10, 14, 18]]);
  });
});
