import { describe, expect, it } from 'vitest';
import { AutogradError, DTypeError, ValueError, manualSeed, randn, tensor, zeros, type Tensor } from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import * as F from '../../src/nn/functional.js';
import * as optim from '../../src/optim/index.js';

/**
 * `x.data` as PyTorch means it (issue 17 point 5): a tensor on x's storage without history, so
 * that the hand-written optimizer idiom `p.data.add_(g, { alpha: -lr })` updates p. The typed
 * array it used to be is `x.typedData`.
 */
describe('Tensor.data', () => {
  it('is a tensor on the same storage, shape, strides and offset, with no history and requiresGrad false', () => {
    const p = new nn.Parameter(tensor([[1, 2, 3], [4, 5, 6]]));
    const d = p.data;
    expect(d).not.toBe(p);
    expect(d.storage).toBe(p.storage);
    expect(d.shape).toEqual([2, 3]);
    expect(d.stride()).toEqual(p.stride());
    expect(d.requiresGrad).toBe(false);
    expect(d.gradFn).toBeNull();
    expect(d.isLeaf).toBe(true);

    // A non-leaf's .data is cut from the graph too.
    const y = p.mul(2);
    expect(y.gradFn).not.toBeNull();
    expect(y.data.gradFn).toBeNull();
    expect(y.data.requiresGrad).toBe(false);
    expect(y.data.toArray()).toEqual([[2, 4, 6], [8, 10, 12]]);

    // A strided view's .data keeps its strides and offset.
    const v = p.t().select(0, 1); // column 1: [2, 5]
    expect(v.data.stride()).toEqual(v.stride());
    expect(v.data.storageOffset()).toBe(v.storageOffset());
    expect(v.data.toArray()).toEqual([2, 5]);
  });

  it('computing with .data records nothing: no gradient reaches p through it', () => {
    const p = new nn.Parameter(tensor([1, 2, 3]));
    const loss = p.data.mul(p.data).sum();
    expect(loss.requiresGrad).toBe(false);
    expect(loss.gradFn).toBeNull();
    const q = p.mul(p.data).sum(); // d/dp of p·c with c = p's values held constant
    q.backward();
    expect(p.grad!.toArray()).toEqual([1, 2, 3]);
  });

  it('add_(g, { alpha }), mul_, zero_ and copy_ on p.data change p (and bump its version)', () => {
    const p = new nn.Parameter(tensor([1, 2, 3, 4]));
    const g = tensor([10, 20, 30, 40]);
    const v0 = p.version;
    p.data.add_(g, { alpha: -0.5 });
    expect(p.toArray()).toEqual([-4, -8, -12, -16]);
    p.data.add_(g, 0.25);
    expect(p.toArray()).toEqual([-1.5, -3, -4.5, -6]);
    p.data.sub_(g, { alpha: 0.05 });
    expect(p.toArray()).toEqual([-2, -4, -6, -8]);
    p.data.mul_(0.5);
    expect(p.toArray()).toEqual([-1, -2, -3, -4]);
    p.data.copy_(tensor([7, 8, 9, 10]));
    expect(p.toArray()).toEqual([7, 8, 9, 10]);
    p.data.zero_();
    expect(p.toArray()).toEqual([0, 0, 0, 0]);
    expect(p.version).toBe(v0 + 6);
    expect(p.requiresGrad).toBe(true);
    expect(p.isLeaf).toBe(true);
    // Through a view of p: only the viewed elements change.
    const w = new nn.Parameter(tensor([[1, 2], [3, 4]]));
    w.t().data.select(0, 0).mul_(10); // column 0
    expect(w.toArray()).toEqual([[10, 2], [30, 4]]);
  });

  it('a bad alpha is a clear error naming the op', () => {
    const p = tensor([1, 2]);
    expect(() => p.add_(tensor([1, 1]), { alpah: 2 } as never)).toThrow(ValueError);
    expect(() => p.add_(tensor([1, 1]), { alpah: 2 } as never)).toThrow("add_: unknown option 'alpah' (only alpha)");
    expect(() => p.sub_(tensor([1, 1]), '2' as never)).toThrow('sub_: alpha must be a number, got string');
    expect(() => p.add_(tensor([1, 1]), { alpha: '2' } as never)).toThrow('add_: alpha must be a number, got string');
    expect(p.toArray()).toEqual([1, 2]);
  });

  it('a manual SGD loop with momentum through p.data follows optim.SGD step for step (float32 and float64)', () => {
    for (const dtype of ['float64', 'float32'] as const) {
      const build = (): nn.Sequential => {
        manualSeed(3);
        const m = new nn.Sequential(new nn.Linear(4, 8), new nn.Tanh(), new nn.Linear(8, 2));
        return dtype === 'float64' ? m.to('float64' as never) : m;
      };
      manualSeed(11);
      const x = randn([16, 4], { dtype });
      const y = randn([16, 2], { dtype });
      const lr = 0.1;
      const momentum = 0.9;

      const a = build();
      const opt = new optim.SGD(a.parameters(), { lr, momentum });
      const b = build();
      const bufs = new Map<Tensor, Tensor>();
      for (let step = 0; step < 5; step++) {
        opt.zeroGrad();
        F.mseLoss(a.call(x) as Tensor, y).backward();
        opt.step();

        for (const p of b.parameters()) p.grad = null;
        F.mseLoss(b.call(x) as Tensor, y).backward();
        for (const p of b.parameters()) {
          // PyTorch's SGD as written by hand: v ← g, then v ← μv + g; θ ← θ − lr·v. The sgdStep
          // kernel rounds μv + g once (g.add(v, μ)), where mul_ then add_ would round twice.
          let v = bufs.get(p);
          if (v === undefined) bufs.set(p, (v = p.grad!.clone()));
          else v.copy_(p.grad!.add(v, momentum));
          p.data.add_(v, { alpha: -lr });
        }
      }
      const pa = a.parameters();
      const pb = b.parameters();
      expect(pb.length).toBe(pa.length);
      pa.forEach((p, i) => {
        expect(pb[i]!.dtype).toBe(dtype);
        if (dtype === 'float64') expect(pb[i]!.toArray()).toEqual(p.toArray());
        else {
          // float32: sgdStep computes θ − lr·v in double and rounds once; add_ on a float32
          // backend (wasm, native) rounds lr·v first, so the two may part by an ulp a step.
          const d = pb[i]!.sub(p).abs().max().item();
          expect(d).toBeLessThan(4 * 2 ** -24);
        }
      });
    }
  });

  it('an in-place write through .data to a tensor saved for backward raises the version error (PyTorch would use the new values silently)', () => {
    const p = new nn.Parameter(tensor([1, 2, 3]));
    const loss = p.mul(p).sum();
    p.data.mul_(2);
    expect(() => loss.backward()).toThrow(AutogradError);
    expect(() => p.mul(p).sum().backward()).not.toThrow(); // a fresh graph is fine
  });

  it('p.data = t makes p a view of t, keeping p itself, requiresGrad and its grad', () => {
    const p = new nn.Parameter(tensor([1, 2, 3]));
    p.mul(p).sum().backward();
    const t = tensor([5, 6, 7]);
    p.data = t;
    expect(p.requiresGrad).toBe(true);
    expect(p.isLeaf).toBe(true);
    expect(p.grad!.toArray()).toEqual([2, 4, 6]);
    expect(p.toArray()).toEqual([5, 6, 7]);
    expect(p.storage).toBe(t.storage);
    t.add_(1); // weight tying, as `b.weight.data = a.weight.data`
    expect(p.toArray()).toEqual([6, 7, 8]);
    expect(Array.from(p.typedData)).toEqual([6, 7, 8]);
    // A strided tensor assigned: p takes its strides.
    const m = new nn.Parameter(zeros([2, 2]));
    const src = tensor([[1, 2], [3, 4]]);
    m.data = src.t();
    expect(m.isContiguous()).toBe(false);
    expect(m.toArray()).toEqual([[1, 3], [2, 4]]);
    // Gradients flow to the re-pointed parameter as before.
    m.grad = null;
    m.mul(tensor([[1, 10], [100, 1000]])).sum().backward();
    expect(m.grad!.toArray()).toEqual([[1, 10], [100, 1000]]);
  });

  it('p.data = t with another shape, dtype or a non-tensor is a clear error and leaves p as it was', () => {
    const p = new nn.Parameter(tensor([1, 2, 3]));
    expect(() => (p.data = zeros([5]))).toThrow('data: cannot assign a tensor of shape [5] to one of shape [3]');
    expect(() => (p.data = zeros([3], { dtype: 'float64' }))).toThrow(DTypeError);
    expect(() => (p.data = zeros([3], { dtype: 'float64' }))).toThrow("data: cannot assign a float64 tensor to a float32 one; use t.to('float32')");
    expect(() => (p.data = [1, 2, 3] as never)).toThrow('data: the assigned value must be a Tensor, got object');
    expect(p.toArray()).toEqual([1, 2, 3]);
  });

  it('typedData is the typed array that .data used to be: the tensor\'s own memory', () => {
    const x = tensor([1, 2, 3]);
    const arr = x.typedData;
    expect(arr).toBeInstanceOf(Float32Array);
    arr[0] = 9;
    expect(x.toArray()).toEqual([9, 2, 3]);
    expect(() => tensor([[1, 2], [3, 4]]).t().typedData).toThrow(/typedData: this tensor of shape \[2,2\] is a strided view/);
  });
});
