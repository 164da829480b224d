import { describe, expect, it } from 'vitest';
import { manualSeed, noGrad, tensor, type Tensor } from '../../src/index.js';
import { clipGradNorm_ } from '../../src/nn/clip.js';
import * as nn from '../../src/nn/index.js';
import * as optim from '../../src/optim/index.js';

const f64 = { dtype: 'float64' } as const;

describe("the seeds' worked example with nn.Linear + nn.Sigmoid and optim.SGD", () => {
  // 2-3-1 sigmoid network, x = (0.05, 0.10), y = 0.01, loss ½(a − y)².
  function network(): nn.Sequential {
    const net = new nn.Sequential(new nn.Linear(2, 3, f64), new nn.Sigmoid(), new nn.Linear(3, 1, f64), new nn.Sigmoid());
    const [w1, b1, w2, b2] = net.parameters();
    noGrad(() => {
      w1!.copy_(tensor([[0.15, 0.2], [0.25, 0.3], [0.35, 0.4]], f64));
      b1!.copy_(tensor([0.35, 0.35, 0.35], f64));
      w2!.copy_(tensor([[0.4, 0.45, 0.5]], f64));
      b2!.copy_(tensor([0.6], f64));
    });
    return net;
  }
  const x = tensor([[0.05, 0.1]], f64);
  const y = tensor([[0.01]], f64);
  const lossOf = (net: nn.Sequential): Tensor => net.call(x).sub(y).pow(2).mul(0.5).sum();
  const six = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThan(0.5e-6);

  it('loss 0.314550, and 0.297599 after one SGD step with lr 0.5', () => {
    const net = network();
    const opt = new optim.SGD(net.parameters(), { lr: 0.5 });
    opt.zeroGrad();
    const loss = lossOf(net);
    six(loss.item(), 0.31455);
    loss.backward();
    opt.step();
    six(lossOf(net).item(), 0.297599);
  });
});

describe('XOR', () => {
  // 2-4-1: Linear(2,4) → Tanh → Linear(4,1) → Sigmoid, float64, PyTorch's default init drawn
  // after manualSeed(0); full-batch mean squared error; plain SGD, lr 1, 1000 epochs.
  it('a 2-4-1 network learns all four outputs with plain SGD (seed 0, lr 1, 1000 epochs)', () => {
    manualSeed(0);
    const net = new nn.Sequential(new nn.Linear(2, 4, f64), new nn.Tanh(), new nn.Linear(4, 1, f64), new nn.Sigmoid());
    const x = tensor([[0, 0], [0, 1], [1, 0], [1, 1]], f64);
    const y = tensor([[0], [1], [1], [0]], f64);
    const opt = new optim.SGD(net.parameters(), { lr: 1 });
    let first = NaN;
    let last = NaN;
    for (let epoch = 0; epoch < 1000; epoch++) {
      opt.zeroGrad();
      const loss = net.call(x).sub(y).pow(2).mean();
      loss.backward();
      opt.step();
      if (epoch === 0) first = loss.item();
      last = loss.item();
    }
    expect(last).toBeLessThan(first / 100);
    const out = noGrad(() => net.call(x)).tolist();
    expect(out.map((v) => v > 0.5)).toEqual([false, true, true, false]);
    // With margin, not just on the right side of 0.5.
    out.forEach((v, i) => expect(Math.abs(v - y.typedData[i]!)).toBeLessThan(0.1));
  });

  it('Adam with gradient clipping and a cosine schedule trains it too', () => {
    manualSeed(1);
    const net = new nn.Sequential(new nn.Linear(2, 4, f64), new nn.Tanh(), new nn.Linear(4, 1, f64), new nn.Sigmoid());
    const x = tensor([[0, 0], [0, 1], [1, 0], [1, 1]], f64);
    const y = tensor([[0], [1], [1], [0]], f64);
    const opt = new optim.Adam(net.parameters(), { lr: 0.05 });
    const sched = new optim.CosineAnnealingLR(opt, 500, 0.005);
    for (let epoch = 0; epoch < 500; epoch++) {
      opt.zeroGrad();
      net.call(x).sub(y).pow(2).mean().backward();
      clipGradNorm_(net.parameters(), 1.0);
      opt.step();
      sched.step();
    }
    expect(noGrad(() => net.call(x)).tolist().map((v) => v > 0.5)).toEqual([false, true, true, false]);
  });
});
