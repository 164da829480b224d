import { describe, expect, it } from 'vitest';
import { F, Generator, autogradGrad, enableGrad, gradcheck, manualSeed, nn, randn, type Tensor } from '../../src/index.js';
import { fusedLinear } from '../../src/nn/functional/basic.js';
import { fusedConv2d } from '../../src/nn/functional/conv.js';
import { watchForward } from '../../src/inspect/layers.js';
import { currentBackend, useBackend } from '../../src/backend/dispatch.js';
import { referenceBackend } from '../../src/backend/reference.js';
import { registerKernel } from '../../src/backend/registry.js';
import { ACTIVATIONS as EVERY, type Activation } from '../../src/ops/rules/epilogue.js';

/**
 * nn.Sequential asks each module whether it fuses with the next (Module.fuseWith): a Linear or
 * Conv2d followed by ReLU, Tanh, Sigmoid or exact GELU runs as one linear / conv2d op with that
 * activation. It must compute exactly what the two modules compute one after the other.
 */
function grads(model: nn.Module, x: Tensor, run: (x: Tensor) => Tensor): number[][] {
  model.zeroGrad();
  const y = run(x);
  y.square().sum().backward();
  return [Array.from(y.typedData), ...model.parameters().map((p) => Array.from(p.grad!.typedData))];
}

/** The Sequential's forward (fused) and its modules called one by one give the same bits. */
function expectSameAsOneByOne(model: nn.Sequential, x: Tensor): void {
  const fused = grads(model, x, (v) => model.forward(v));
  const oneByOne = grads(model, x, (v) => {
    let y = v;
    for (const m of model) y = m.call(y) as Tensor;
    return y;
  });
  expect(fused).toEqual(oneByOne);
}

const ACTIVATIONS: [Exclude<Activation, 'none'>, () => nn.AnyModule][] = [
  ['relu', () => new nn.ReLU()],
  ['tanh', () => new nn.Tanh()],
  ['sigmoid', () => new nn.Sigmoid()],
  ['gelu', () => new nn.GELU()],
];

describe.each(ACTIVATIONS)('Linear + %s fusion in Sequential', (act, make) => {
  it('gives bit-identical outputs and gradients to the modules run one by one', () => {
    manualSeed(0);
    const model = new nn.Sequential(new nn.Linear(20, 32), make(), new nn.Linear(32, 16), make(), new nn.Linear(16, 3));
    expect(model.fusedPairs()).toEqual([0, 2]);
    expectSameAsOneByOne(model, randn([64, 20]));
  });

  it('records one Linear node per pair', () => {
    manualSeed(1);
    const model = new nn.Sequential(new nn.Linear(4, 5), make(), new nn.Linear(5, 2));
    const y = model.forward(randn([3, 4]));
    expect(y.gradFn!.name).toBe('LinearBackward');
    const fusedNode = y.gradFn!.next[0]!.node;
    expect(fusedNode.name).toBe('LinearBackward');
    expect(fusedNode.next.map((e) => e?.node.name ?? null)).toEqual([null, 'AccumulateGrad', 'AccumulateGrad']); // no activation node
  });

});

describe.each(ACTIVATIONS)('Conv2d + %s fusion in Sequential', (act, make) => {
  it('gives bit-identical outputs and gradients to the modules run one by one (groups 1 and 2, with and without bias)', () => {
    manualSeed(3);
    const model = new nn.Sequential(
      new nn.Conv2d(3, 8, 3, { padding: 1 }), make(), new nn.MaxPool2d(2),
      new nn.Conv2d(8, 6, [3, 2], { stride: [1, 2], groups: 2, bias: false }), make(),
      new nn.Conv2d(6, 4, 1), make(), new nn.Flatten(), new nn.Linear(4 * 4 * 2, 3),
    );
    expect(model.fusedPairs()).toEqual([0, 3, 5]);
    expectSameAsOneByOne(model, randn([10, 3, 12, 10]));
  });

  it('records one Conv2d node per pair', () => {
    manualSeed(4);
    const model = new nn.Sequential(new nn.Conv2d(1, 2, 3), make(), new nn.Conv2d(2, 2, 3));
    const y = model.forward(randn([2, 1, 7, 7]));
    expect(y.gradFn!.name).toBe('Conv2dBackward');
    expect(y.gradFn!.next[0]!.node.name).toBe('Conv2dBackward');
  });

});

describe('which modules fuse', () => {
  it('activations without a fused form run as their own ops', () => {
    manualSeed(5);
    const model = new nn.Sequential(new nn.Linear(4, 5), new nn.GELU('tanh'), new nn.Linear(5, 5), new nn.LeakyReLU(0.1), new nn.Linear(5, 2));
    expect(model.fusedPairs()).toEqual([]);
    expectSameAsOneByOne(model, randn([3, 4]));
  });

  it('a subclass that keeps the forward keeps fusion', () => {
    manualSeed(6);
    class NamedLinear extends nn.Linear {
      describe(): string {
        return `${this.inFeatures}→${this.outFeatures}`;
      }
    }
    class QuietReLU extends nn.ReLU {}
    const model = new nn.Sequential(new NamedLinear(4, 5), new QuietReLU(), new nn.Linear(5, 2));
    expect(model.fusedPairs()).toEqual([0]);
    expectSameAsOneByOne(model, randn([3, 4]));
  });

  it('a subclass that overrides forward, or a replaced forward, is run as written (not fused)', () => {
    manualSeed(2);
    class Doubling extends nn.ReLU {
      override forward(x: Tensor): Tensor {
        return super.forward(x).mul(2);
      }
    }
    const a = new nn.Sequential(new nn.Linear(4, 5), new Doubling());
    expect(a.fusedPairs()).toEqual([]);
    const x = randn([3, 4]);
    expect(Array.from(a.forward(x).typedData)).toEqual(Array.from((a.at(0).call(x) as Tensor).relu().mul(2).typedData));
    class Scaled extends nn.Linear {
      override forward(v: Tensor): Tensor {
        return super.forward(v).mul(3);
      }
    }
    const s = new nn.Sequential(new Scaled(4, 5), new nn.Tanh());
    expect(s.fusedPairs()).toEqual([]);
    expect(Array.from(s.forward(x).typedData)).toEqual(Array.from((s.at(0).call(x) as Tensor).tanh().typedData));
    const lin = new nn.Linear(4, 5);
    lin.forward = (v: Tensor) => v.matmul(lin.weight.t()); // no bias
    const b = new nn.Sequential(lin, new nn.ReLU());
    expect(b.fusedPairs()).toEqual([]);
    expect(Array.from(b.forward(x).typedData)).toEqual(Array.from(x.matmul(lin.weight.t()).relu().typedData));
  });

  it('a watched layer runs unfused while watched (the watcher sees its own output), and fuses again after', () => {
    manualSeed(8);
    const model = new nn.Sequential(new nn.Linear(4, 5), new nn.Sigmoid(), new nn.Linear(5, 2), new nn.Tanh());
    const x = randn([3, 4]);
    const before = Array.from(model.forward(x).typedData);
    const seen: Tensor[] = [];
    const unwatch = watchForward(model.at(0), (out) => void seen.push(out));
    expect(model.fusedPairs()).toEqual([2]);
    expect(Array.from(model.forward(x).typedData)).toEqual(before);
    expect(seen.length).toBe(1);
    const lin = model.at(0) as nn.Linear;
    expect(Array.from(seen[0]!.typedData)).toEqual(Array.from(fusedLinear(x, lin.weight, lin.bias, 'none').typedData)); // before the sigmoid
    unwatch();
    expect(model.fusedPairs()).toEqual([0, 2]);
  });
});

describe.each(EVERY)('the fused op with activation %s: gradcheck in float64, first and second order', (act) => {
  const gen = new Generator(7);
  const r = (...s: number[]) => randn(s, { dtype: 'float64', generator: gen }).requiresGrad_(true);
  /** The gradient of Σ f(xs)² in every input, itself recorded (createGraph): its gradcheck is f's second order. */
  const second = (f: (...xs: Tensor[]) => Tensor) => (...xs: Tensor[]) =>
    enableGrad(() => {
      const ins = xs.map((t) => (t.requiresGrad ? t : t.detach().requiresGrad_(true)));
      return autogradGrad(f(...ins).square().sum(), ins, { createGraph: true }) as Tensor[];
    });
  const tight = { atol: 1e-6, rtol: 1e-5 };

  it('linear, with and without a bias', () => {
    const withBias = (x: Tensor, w: Tensor, b: Tensor) => fusedLinear(x, w, b, act);
    const noBias = (x: Tensor, w: Tensor) => fusedLinear(x, w, null, act);
    expect(gradcheck((x, w, b) => withBias(x!, w!, b!), [r(5, 3), r(4, 3), r(4)]).ok).toBe(true);
    expect(gradcheck(second((x, w, b) => withBias(x!, w!, b!)), [r(5, 3), r(4, 3), r(4)], tight).ok).toBe(true);
    expect(gradcheck((x, w) => noBias(x!, w!), [r(5, 3), r(4, 3)]).ok).toBe(true);
    expect(gradcheck(second((x, w) => noBias(x!, w!)), [r(5, 3), r(4, 3)], tight).ok).toBe(true);
  });

  it('conv2d, with and without a bias', () => {
    const opts = { padding: 1, stride: 2 };
    const withBias = (x: Tensor, w: Tensor, b: Tensor) => fusedConv2d(x, w, b, act, opts);
    const noBias = (x: Tensor, w: Tensor) => fusedConv2d(x, w, null, act, opts);
    expect(gradcheck((x, w, b) => withBias(x!, w!, b!), [r(2, 2, 5, 5), r(3, 2, 3, 3), r(3)]).ok).toBe(true);
    expect(gradcheck(second((x, w, b) => withBias(x!, w!, b!)), [r(2, 2, 5, 5), r(3, 2, 3, 3), r(3)], tight).ok).toBe(true);
    expect(gradcheck(second((x, w) => noBias(x!, w!)), [r(2, 2, 4, 5), r(3, 2, 3, 3)], tight).ok).toBe(true);
  });
});

describe('fuseWith: what a layer takes, and what fusing keeps', () => {
  it('Linear and Conv2d answer for ReLU, Tanh, Sigmoid and exact GELU, and nothing else', () => {
    const takes = [new nn.ReLU(), new nn.Tanh(), new nn.Sigmoid(), new nn.GELU()];
    const refuses = [new nn.GELU('tanh'), new nn.LeakyReLU(0.1), new nn.Identity(), new nn.Linear(2, 2), new nn.Dropout(0.5)];
    for (const layer of [new nn.Linear(3, 2), new nn.Conv2d(1, 2, 3)]) {
      for (const m of takes) expect(typeof layer.fuseWith(m), `${layer.constructor.name} + ${m.constructor.name}`).toBe('function');
      for (const m of refuses) expect(layer.fuseWith(m), `${layer.constructor.name} + ${m.constructor.name}`).toBeNull();
    }
    expect(new nn.ReLU().fuseWith(new nn.Tanh())).toBeNull();
    expect(new nn.Identity().fuseWith(new nn.ReLU())).toBeNull();
  });

  it.each(EVERY.filter((a) => a !== 'none'))('%s: any leading dims and float64, bit for bit', (act) => {
    manualSeed(11);
    const make = () => ({ relu: new nn.ReLU(), tanh: new nn.Tanh(), sigmoid: new nn.Sigmoid(), gelu: new nn.GELU() })[act as 'relu'];
    const model = new nn.Sequential(new nn.Linear(6, 5), make(), new nn.Linear(5, 3), make());
    expect(model.fusedPairs()).toEqual([0, 2]);
    expectSameAsOneByOne(model, randn([2, 3, 6]));
    expectSameAsOneByOne(model, randn([6]));
    model.double();
    expectSameAsOneByOne(model, randn([4, 6], { dtype: 'float64' }));
  });

  it('watching the activation module: the watcher sees its output, and the numbers are those of the fused pair', () => {
    manualSeed(12);
    const model = new nn.Sequential(new nn.Linear(4, 5), new nn.GELU(), new nn.Linear(5, 2), new nn.ReLU());
    const x = randn([3, 4]);
    const fused = grads(model, x, (v) => model.forward(v));
    const seen: Tensor[] = [];
    const unwatch = watchForward(model.at(1), (out) => void seen.push(out));
    expect(model.fusedPairs()).toEqual([2]); // the watched GELU runs as its own module
    expect(grads(model, x, (v) => model.forward(v))).toEqual(fused);
    expect(seen.length).toBe(1);
    const lin = model.at(0) as nn.Linear;
    expect(Array.from(seen[0]!.typedData)).toEqual(Array.from(F.gelu(F.linear(x, lin.weight, lin.bias)).typedData));
    unwatch();
    expect(model.fusedPairs()).toEqual([0, 2]);
    expect(grads(model, x, (v) => model.forward(v))).toEqual(fused);
  });

  it('a Conv2d subclass keeps fusion; one that overrides forward runs it, unfused', () => {
    manualSeed(13);
    class Tagged extends nn.Conv2d {}
    class Shifted extends nn.Conv2d {
      override forward(x: Tensor): Tensor {
        return super.forward(x).add(1);
      }
    }
    const keeps = new nn.Sequential(new Tagged(1, 2, 3), new nn.Tanh(), new nn.Flatten(), new nn.Linear(2 * 3 * 3, 2));
    expect(keeps.fusedPairs()).toEqual([0]);
    expectSameAsOneByOne(keeps, randn([2, 1, 5, 5]));
    const runs = new nn.Sequential(new Shifted(1, 2, 3), new nn.ReLU());
    expect(runs.fusedPairs()).toEqual([]);
    const x = randn([2, 1, 5, 5]);
    const conv = runs.at(0) as nn.Conv2d;
    expect(Array.from(runs.forward(x).typedData)).toEqual(Array.from(F.conv2d(x, conv.weight, conv.bias).add(1).relu().typedData));
  });
});

describe('the relu of a fused Linear + ReLU is the gemm\'s epilogue', () => {
  it('the forward products ask the gemm for relu exactly where a ReLU follows', () => {
    // A backend whose gemm notes the epilogue it was asked for, then runs the reference gemm.
    const asked: boolean[] = [];
    registerKernel({ kernel: 'gemm', backend: 'native-fusionspy', dtype: 'float32', fn: (a) => void (asked.push(!!a.relu), referenceBackend.gemm(a)) });
    manualSeed(14);
    const model = new nn.Sequential(new nn.Linear(64, 48), new nn.ReLU(), new nn.Linear(48, 32), new nn.Tanh(), new nn.Linear(32, 40));
    const x = randn([16, 64]);
    const before = currentBackend();
    useBackend('native-fusionspy');
    let y: Tensor;
    let z = x;
    try {
      y = model.forward(x);
      expect(asked).toEqual([true, false, false]);
      asked.length = 0;
      for (const m of model) z = m.call(z) as Tensor; // one by one, same kernels
      expect(asked).toEqual([false, false, false]);
    } finally {
      useBackend(before);
    }
    expect(Array.from(y.typedData)).toEqual(Array.from(z.typedData));
  });
});
