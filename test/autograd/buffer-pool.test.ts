import { describe, expect, it } from 'vitest';
import { F, manualSeed, nn, optim, randn, type Tensor } from '../../src/index.js';
import { pooledByteCount } from '../../src/memory/index.js';

/**
 * Dead buffers are reused (src/memory/): gradient buffers the engine made and that no
 * user code saw, and .grad buffers dropped by zeroGrad that nobody read. Reuse must never
 * change a value anyone can still reach; these tests train with and without every chance of
 * reuse and demand identical numbers.
 */
function mlp(): nn.Sequential {
  // Activations of 64×128 floats (32 KB): large enough for the pool.
  return new nn.Sequential(new nn.Linear(96, 128), new nn.ReLU(), new nn.Linear(128, 128), new nn.Tanh(), new nn.Linear(128, 10));
}

function train(steps: number, peek: (model: nn.Sequential) => void): Tensor[] {
  manualSeed(3);
  const model = mlp();
  const opt = new optim.Adam(model.parameters(), { lr: 1e-2 });
  const x = randn([64, 96]);
  const y = randn([64, 10]);
  for (let s = 0; s < steps; s++) {
    opt.zeroGrad();
    F.mseLoss(model.forward(x), y).backward();
    peek(model);
    opt.step();
  }
  return model.parameters().map((p) => p.detach().clone());
}

describe('buffer reuse', () => {
  it('a training step recycles: dead gradient buffers reach the pool', () => {
    manualSeed(0);
    const model = mlp();
    const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
    const x = randn([64, 96]);
    F.mseLoss(model.forward(x), randn([64, 10])).backward();
    opt.step();
    const before = pooledByteCount();
    opt.zeroGrad(); // the weight gradients nobody read go back
    expect(pooledByteCount()).toBeGreaterThan(before);
  });

  it('training gives bit-identical weights whether or not buffers are reused', () => {
    const reused = train(12, () => {});
    // Reading every .grad each step makes them ineligible for reuse.
    const kept: Tensor[] = [];
    const plain = train(12, (m) => {
      for (const p of m.parameters()) kept.push(p.grad!);
    });
    reused.forEach((p, i) => expect(Array.from(p.typedData)).toEqual(Array.from(plain[i]!.typedData)));
  });

  it('a .grad read before zeroGrad keeps its values through later steps', () => {
    manualSeed(1);
    const model = mlp();
    const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
    const x = randn([64, 96]);
    const y = randn([64, 10]);
    F.mseLoss(model.forward(x), y).backward();
    const w0 = model.parameters()[2]!; // 128×128 weight
    const g = w0.grad!;
    const snapshot = Array.from(g.typedData);
    for (let s = 0; s < 3; s++) {
      opt.step();
      opt.zeroGrad();
      F.mseLoss(model.forward(x), y).backward();
    }
    expect(Array.from(g.typedData)).toEqual(snapshot);
  });

  it('a gradient a hook kept on an activation keeps its values through later steps', () => {
    manualSeed(2);
    const model = mlp();
    const x = randn([64, 96]);
    const y = randn([64, 10]);
    let kept: Tensor | null = null;
    const h = (model.at(0) as nn.Linear).forward(x);
    h.registerHook((g) => {
      kept = g;
    });
    const rest = new nn.Sequential(model.at(1), model.at(2), model.at(3), model.at(4));
    F.mseLoss(rest.forward(h), y).backward();
    const snapshot = Array.from(kept!.typedData);
    for (let s = 0; s < 3; s++) {
      model.zeroGrad();
      F.mseLoss(model.forward(x), y).backward();
    }
    expect(Array.from(kept!.typedData)).toEqual(snapshot);
  });

  it('activation gradients written in place equal the out-of-place ones', () => {
    manualSeed(4);
    const x = randn([64, 128]).requiresGrad_(true); // 32 KB activations: big enough to be tracked
    const w = randn([128, 128]).mul(0.1).requiresGrad_(true);
    const run = (watch: boolean) => {
      x.grad = null;
      w.grad = null;
      const h = x.matmul(w).tanh();
      const r = h.relu();
      const s = r.sigmoid();
      // A hook shows the gradient to user code, so the engine may no longer overwrite it.
      if (watch) for (const t of [h, r, s]) t.registerHook(() => {});
      s.square().sum().backward();
      return [Array.from(x.grad!.typedData), Array.from(w.grad!.typedData)];
    };
    expect(run(false)).toEqual(run(true));
  });
});
