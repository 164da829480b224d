import { describe, expect, it } from 'vitest';
import {
  AutogradError, Function, FunctionCtx, autogradGrad, enableGrad, grad, hvp, isGradEnabled, jacobian, manualSeed, noGrad,
  randn, tensor, vjp, type Tensor,
} from '../../src/index.js';

const f64 = { dtype: 'float64' as const, requiresGrad: true };

describe('leaves and accumulation', () => {
  it('.grad accumulates across backward calls until zeroed', () => {
    const x = tensor([1, 2, 3], f64);
    x.mul(2).sum().backward();
    x.mul(3).sum().backward();
    expect(x.grad!.tolist()).toEqual([5, 5, 5]);
    x.grad = null;
    x.mul(4).sum().backward();
    expect(x.grad!.tolist()).toEqual([4, 4, 4]);
  });

  it('sums gradients where a value feeds several paths', () => {
    const x = tensor(3, f64);
    const y = x.mul(x).add(x.exp()).add(x); // y = x² + eˣ + x
    y.backward();
    expect(x.grad!.item()).toBeCloseTo(2 * 3 + Math.exp(3) + 1, 12);
  });

  it('a reused intermediate (diamond) gets the sum of both branches before it propagates', () => {
    const x = tensor(2, f64);
    const h = x.mul(x); // h = x²
    const y = h.sin().add(h.mul(h)); // y = sin(h) + h²
    y.backward();
    const hv = 4;
    expect(x.grad!.item()).toBeCloseTo((Math.cos(hv) + 2 * hv) * 2 * 2, 12);
  });

  it('leaves own their .grad: updating one in place does not change another', () => {
    const a = tensor([1, 2], f64);
    const b = tensor([3, 4], f64);
    a.add(b).sum().backward(); // both get the same upstream tensor
    noGrad(() => a.grad!.mul_(10));
    expect(b.grad!.tolist()).toEqual([1, 1]);
  });

  it('non-leaves have no .grad unless retainGrad()', () => {
    const x = tensor([1, 2], f64);
    const h = x.mul(2);
    const k = x.mul(3).retainGrad();
    h.add(k).sum().backward();
    expect(h.grad).toBeNull();
    expect(k.grad!.tolist()).toEqual([1, 1]);
    expect(h.isLeaf).toBe(false);
    expect(x.isLeaf).toBe(true);
  });
});

describe('backward errors', () => {
  it('a non-scalar output needs an explicit gradient', () => {
    const x = tensor([1, 2], f64);
    expect(() => x.mul(2).backward()).toThrow(/implicitly created only for scalar outputs.*\[2\]/);
    const y = x.mul(2);
    y.backward(tensor([1, 10], { dtype: 'float64' }));
    expect(x.grad!.tolist()).toEqual([2, 20]);
  });

  it('a second backward through a freed graph throws, unless retainGraph', () => {
    const x = tensor([1, 2], f64);
    const y = x.exp().sum();
    y.backward();
    expect(() => y.backward()).toThrow(/backward through the graph a second time.*retainGraph: true/);

    const z = x.exp().sum();
    x.grad = null;
    z.backward(undefined, { retainGraph: true });
    z.backward();
    expect(x.grad!.typedData[0]).toBeCloseTo(2 * Math.E, 12);
  });

  it('saved tensors are released after backward', () => {
    const x = tensor([1, 2], f64);
    const y = x.exp();
    expect(y.gradFn!.savedTensors().length).toBe(1);
    y.sum().backward();
    expect(y.gradFn!.savedTensors().length).toBe(0);
  });

  it('backward on a tensor without grad says so', () => {
    expect(() => tensor([1]).sum().backward()).toThrow(AutogradError);
  });

  it('modifying a saved tensor in place before backward is caught', () => {
    const x = tensor([1, 2], f64);
    const h = noGrad(() => tensor([3, 4], { dtype: 'float64' }));
    const y = x.mul(h).sum();
    noGrad(() => h.add_(1));
    expect(() => y.backward()).toThrow(/modified in place/);
  });

  it('in-place ops on a leaf that requires grad are refused outside noGrad', () => {
    const x = tensor([1, 2], f64);
    expect(() => x.add_(1)).toThrow(/leaf tensor that requires grad.*in-place/);
    noGrad(() => x.add_(1));
    expect(x.tolist()).toEqual([2, 3]);
  });
});

describe('grad modes', () => {
  it('noGrad records nothing; enableGrad inside it records again', () => {
    const x = tensor([1, 2], f64);
    const y = noGrad(() => x.mul(2));
    expect(y.requiresGrad).toBe(false);
    expect(y.gradFn).toBeNull();
    const z = noGrad(() => enableGrad(() => x.mul(2)));
    expect(z.requiresGrad).toBe(true);
    expect(isGradEnabled()).toBe(true);
  });

  it('noGrad restores the mode after a throw', () => {
    expect(() =>
      noGrad(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(isGradEnabled()).toBe(true);
  });

  it('detach cuts the graph', () => {
    const x = tensor([1, 2], f64);
    const y = x.mul(2).detach();
    expect(y.requiresGrad).toBe(false);
    const z = x.mul(y).sum();
    z.backward();
    expect(x.grad!.tolist()).toEqual([2, 4]);
  });
});

describe('hooks', () => {
  it('a hook sees and can replace the gradient of a leaf and of a non-leaf', () => {
    const x = tensor([1, 2], f64);
    const seen: number[][] = [];
    x.registerHook((g) => {
      seen.push(g.tolist());
    });
    const h = x.mul(3);
    h.registerHook((g) => g.mul(10));
    h.sum().backward();
    expect(seen).toEqual([[30, 30]]);
    expect(x.grad!.tolist()).toEqual([30, 30]);
  });

  it('a hook may run its own backward pass over a shared graph without disturbing the outer one', () => {
    const x = tensor([1, 2], f64);
    const shared = x.mul(x); // x² feeds both the outer loss and the hook's own graph
    let inner: number[] = [];
    const h = shared.mul(3);
    h.registerHook((g) => {
      // hooks run in the backward pass's grad mode (off here), so record explicitly
      inner = enableGrad(() => autogradGrad(shared.sum().mul(5), [x], { retainGraph: true }))[0]!.tolist();
      return g;
    });
    h.add(shared).sum().backward();
    expect(inner).toEqual([10, 20]);
    expect(x.grad!.tolist()).toEqual([8, 16]); // d/dx (3x² + x²) = 8x
  });

  it('a removed hook no longer runs', () => {
    const x = tensor([1], f64);
    const handle = x.registerHook((g) => g.mul(0));
    handle.remove();
    x.mul(2).sum().backward();
    expect(x.grad!.item()).toBe(2);
  });
});

describe('higher order', () => {
  it('d²/dx² of x³ at x = 2 is 12 (createGraph)', () => {
    const x = tensor(2, f64);
    const y = x.pow(3);
    const [dy] = autogradGrad(y, x, { createGraph: true });
    expect(dy!.item()).toBeCloseTo(12, 12);
    const [d2y] = autogradGrad(dy!, x);
    expect(d2y!.item()).toBeCloseTo(12, 12);
  });

  it('grad(grad(f)) nests, and backward with createGraph gives a differentiable .grad', () => {
    const d2 = grad((x) => grad((y) => y.pow(3))(x)[0]!)(tensor(2, { dtype: 'float64' }));
    expect(d2[0]!.item()).toBeCloseTo(12, 12);

    const x = tensor(2, f64);
    x.pow(3).backward(undefined, { createGraph: true });
    const g = x.grad!;
    x.grad = null;
    g.backward();
    expect(x.grad!.item()).toBeCloseTo(12, 12);
  });

  it('a Hessian-vector product of a small MLP loss matches finite differences', () => {
    manualSeed(7);
    const W1 = randn([4, 3], { dtype: 'float64' });
    const W2 = randn([1, 4], { dtype: 'float64' });
    const X = randn([5, 3], { dtype: 'float64' });
    const Y = randn([5, 1], { dtype: 'float64' });
    const loss = (w1: Tensor, w2: Tensor) => X.matmul(w1.t()).tanh().matmul(w2.t()).sub(Y).pow(2).mean();
    const v1 = randn([4, 3], { dtype: 'float64' });
    const v2 = randn([1, 4], { dtype: 'float64' });
    const { hvp: [h1, h2] } = hvp(loss, [W1, W2], [v1, v2]);
    // (∇f(w + εv) − ∇f(w − εv)) / 2ε ≈ H v
    const eps = 1e-5;
    const g = grad(loss);
    const [p1, p2] = g(W1.add(v1.mul(eps)), W2.add(v2.mul(eps)));
    const [m1, m2] = g(W1.sub(v1.mul(eps)), W2.sub(v2.mul(eps)));
    const fd1 = p1!.sub(m1!).div(2 * eps);
    const fd2 = p2!.sub(m2!).div(2 * eps);
    const err = Math.max(h1!.sub(fd1).abs().max().item(), h2!.sub(fd2).abs().max().item());
    const scale = Math.max(fd1.abs().max().item(), fd2.abs().max().item());
    expect(err / scale).toBeLessThan(1e-7);
  });
});

describe('functional transforms', () => {
  it('vjp gives the value and vᵀJ', () => {
    const x = tensor([1, 2, 3], { dtype: 'float64' });
    const v = tensor([1, 0, 2], { dtype: 'float64' });
    const { output, grads } = vjp((t) => t.pow(2), x, v);
    expect(output.tolist()).toEqual([1, 4, 9]);
    expect(grads[0]!.tolist()).toEqual([2, 0, 12]);
  });

  it('jacobian of a linear map is its matrix', () => {
    const A = tensor([[1, 2], [3, 4], [5, 6]], { dtype: 'float64' });
    const J = jacobian((x) => A.matmul(x), tensor([0.5, -1], { dtype: 'float64' }));
    expect(J.shape).toEqual([3, 2]);
    expect(J.toArray()).toEqual(A.toArray());
  });

  it('autogradGrad does not touch .grad and reports unused inputs', () => {
    const x = tensor([1, 2], f64);
    const u = tensor([1], f64);
    const [g] = autogradGrad(x.pow(2).sum(), [x]);
    expect(g!.tolist()).toEqual([2, 4]);
    expect(x.grad).toBeNull();
    expect(() => autogradGrad(x.sum(), [u])).toThrow(/not used/);
    expect(autogradGrad(x.sum(), [u], { allowUnused: true })[0]).toBeNull();
  });
});

describe('custom Function', () => {
  class Cube extends Function {
    static override forward(ctx: FunctionCtx, x: Tensor): Tensor {
      ctx.saveForBackward(x);
      return x.pow(3);
    }
    static override backward(ctx: FunctionCtx, g: Tensor): Tensor {
      const [x] = ctx.savedTensors;
      return g.mul(x!.square().mul(3));
    }
  }

  class ScaleBy extends Function {
    static override forward(ctx: FunctionCtx, x: Tensor, k: number): Tensor[] {
      ctx.k = k;
      return [x.mul(k), x.mul(-k)];
    }
    static override backward(ctx: FunctionCtx, g1: Tensor, g2: Tensor): (Tensor | null)[] {
      const k = ctx.k as number;
      return [g1.mul(k).sub(g2.mul(k)), null];
    }
  }

  it('runs forward, records one node, and uses its backward', () => {
    const x = tensor([1, 2], f64);
    const y = Cube.apply(x);
    expect(y.gradFn!.name).toBe('CubeBackward');
    y.sum().backward();
    expect(x.grad!.tolist()).toEqual([3, 12]);
  });

  it('a backward written with tensor ops is differentiable again', () => {
    const x = tensor(2, f64);
    const [g] = autogradGrad(Cube.apply(x), x, { createGraph: true });
    const [g2] = autogradGrad(g!, x);
    expect(g2!.item()).toBeCloseTo(12, 12);
  });

  it('multiple outputs and non-tensor arguments', () => {
    const x = tensor([1, 2], f64);
    const [a, b] = ScaleBy.apply<Tensor[]>(x, 3);
    a!.sum().add(b!.sum().mul(2)).backward();
    expect(x.grad!.tolist()).toEqual([3 - 6, 3 - 6]);
  });

  it('a backward returning a gradient of the wrong shape is named in the error', () => {
    class Bad extends Function {
      static override forward(_ctx: FunctionCtx, x: Tensor): Tensor {
        return x.mul(2);
      }
      static override backward(_ctx: FunctionCtx, g: Tensor): Tensor {
        return g.sum();
      }
    }
    const x = tensor([1, 2], f64);
    expect(() => Bad.apply(x).sum().backward()).toThrow(/BadBackward returned a gradient of shape \[\] for input 0, whose shape is \[2\]/);
  });

  it('only one output used: the other gets zeros', () => {
    const x = tensor([1, 2], f64);
    const [a] = ScaleBy.apply<Tensor[]>(x, 3);
    a!.sum().backward();
    expect(x.grad!.tolist()).toEqual([3, 3]);
  });
});

describe('deep graphs', () => {
  it('a chain of 100,000 ops backpropagates without overflowing the stack', () => {
    const x = tensor(1, f64);
    let y = x;
    for (let i = 0; i < 100_000; i++) y = y.mul(1.00001);
    y.backward();
    expect(x.grad!.item()).toBeCloseTo(1.00001 ** 100_000, 8);
    expect(() => y.backward()).toThrow(/second time/);
  });
});
