import { describe, expect, it } from 'vitest';
import { Generator, autogradGrad, enableGrad, gradcheck, manualSeed, nn, randn, type Tensor } from '../../src/index.js';
import { linearRelu } from '../../src/nn/functional/basic.js';
import { conv2dRelu } from '../../src/nn/functional/conv.js';

/**
 * nn.Sequential runs a Linear followed by a ReLU as one fused op (ops/rules/fused.ts). It must
 * compute exactly what the two modules compute one after the other.
 */
function grads(model: nn.Module, x: Tensor, run: (x: Tensor) => Tensor): number[][] {
  model.zeroGrad();
  const y = run(x);
  y.square().sum().backward();
  return [Array.from(y.data), ...model.parameters().map((p) => Array.from(p.grad!.data))];
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

describe('Linear + ReLU fusion in Sequential', () => {
  it('gives bit-identical outputs and gradients to the modules run one by one', () => {
    manualSeed(0);
    const model = new nn.Sequential(new nn.Linear(20, 32), new nn.ReLU(), new nn.Linear(32, 16), new nn.ReLU(), new nn.Linear(16, 3));
    expectSameAsOneByOne(model, randn([64, 20]));
  });

  it('records one LinearRelu node per pair', () => {
    manualSeed(1);
    const model = new nn.Sequential(new nn.Linear(4, 5), new nn.ReLU(), new nn.Linear(5, 2));
    const y = model.forward(randn([3, 4]));
    expect(y.gradFn!.name).toBe('LinearBackward');
    expect(y.gradFn!.next[0]!.node.name).toBe('LinearReluBackward');
  });

  it('leaves a subclass or a replaced forward alone', () => {
    manualSeed(2);
    class Doubling extends nn.ReLU {
      override forward(x: Tensor): Tensor {
        return super.forward(x).mul(2);
      }
    }
    const a = new nn.Sequential(new nn.Linear(4, 5), new Doubling());
    const x = randn([3, 4]);
    expect(Array.from(a.forward(x).data)).toEqual(Array.from((a.at(0).call(x) as Tensor).relu().mul(2).data));
    const lin = new nn.Linear(4, 5);
    lin.forward = (v: Tensor) => v.matmul(lin.weight.t()); // no bias
    const b = new nn.Sequential(lin, new nn.ReLU());
    expect(Array.from(b.forward(x).data)).toEqual(Array.from(x.matmul(lin.weight.t()).relu().data));
  });

  it('gradcheck of the fused op, first and second order, in float64', () => {
    const gen = new Generator(7);
    const r = (...s: number[]) => randn(s, { dtype: 'float64', generator: gen }).requiresGrad_(true);
    expect(gradcheck((x, w, b) => linearRelu(x, w, b), [r(5, 3), r(4, 3), r(4)]).ok).toBe(true);
    const second = (...xs: Tensor[]) =>
      enableGrad(() => {
        const [x, w, b] = xs.map((t) => (t.requiresGrad ? t : t.detach().requiresGrad_(true))) as [Tensor, Tensor, Tensor];
        return autogradGrad(linearRelu(x, w, b).square().sum(), [x, w, b], { createGraph: true }) as Tensor[];
      });
    expect(gradcheck(second, [r(5, 3), r(4, 3), r(4)]).ok).toBe(true);
  });
});

describe('Conv2d + ReLU fusion in Sequential', () => {
  it('gives bit-identical outputs and gradients to the modules run one by one (groups 1 and 2, with and without bias)', () => {
    manualSeed(3);
    const model = new nn.Sequential(
      new nn.Conv2d(3, 8, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
      new nn.Conv2d(8, 6, [3, 2], { stride: [1, 2], groups: 2, bias: false }), new nn.ReLU(),
      new nn.Conv2d(6, 4, 1), new nn.ReLU(), new nn.Flatten(), new nn.Linear(4 * 4 * 2, 3),
    );
    expectSameAsOneByOne(model, randn([10, 3, 12, 10]));
  });

  it('records one Conv2dRelu node per pair', () => {
    manualSeed(4);
    const model = new nn.Sequential(new nn.Conv2d(1, 2, 3), new nn.ReLU(), new nn.Conv2d(2, 2, 3));
    const y = model.forward(randn([2, 1, 7, 7]));
    expect(y.gradFn!.name).toBe('Conv2dBackward');
    expect(y.gradFn!.next[0]!.node.name).toBe('Conv2dReluBackward');
  });

  it('gradcheck of the fused op, first and second order, in float64', () => {
    const gen = new Generator(9);
    const r = (...s: number[]) => randn(s, { dtype: 'float64', generator: gen }).requiresGrad_(true);
    const opts = { padding: 1, stride: 2 };
    expect(gradcheck((x, w, b) => conv2dRelu(x, w, b, opts), [r(2, 2, 5, 5), r(3, 2, 3, 3), r(3)]).ok).toBe(true);
    const second = (...xs: Tensor[]) =>
      enableGrad(() => {
        const [x, w, b] = xs.map((t) => (t.requiresGrad ? t : t.detach().requiresGrad_(true))) as [Tensor, Tensor, Tensor];
        return autogradGrad(conv2dRelu(x, w, b, opts).square().sum(), [x, w, b], { createGraph: true }) as Tensor[];
      });
    expect(gradcheck(second, [r(2, 2, 5, 5), r(3, 2, 3, 3), r(3)]).ok).toBe(true);
  });
});
