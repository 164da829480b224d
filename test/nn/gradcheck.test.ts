import { describe, expect, it } from 'vitest';
import { Generator, autogradGrad, enableGrad, gradcheck, randn, tensor, type Tensor } from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import * as F from '../../src/nn/functional.js';

// Every layer's gradient against centered finite differences in float64, with respect to the
// input and every parameter. Layers with parameters are checked through the functional form
// they call, with the parameters as gradcheck inputs (the fixtures check the modules themselves).

const gen = new Generator(42);
const r = (...shape: number[]) => randn(shape, { dtype: 'float64', generator: gen });
/** Random values at least 0.1 away from 0, so kinks (relu, leaky relu, elu) are not straddled. */
const away = (...shape: number[]) => {
  const t = r(...shape);
  for (let i = 0; i < t.typedData.length; i++) t.typedData[i]! += Math.sign(t.typedData[i]!) * 0.1;
  return t;
};
const grad = (t: Tensor) => t.requiresGrad_(true);
const ok = (fn: (...xs: Tensor[]) => Tensor | Tensor[], inputs: Tensor[]) => expect(gradcheck(fn, inputs).ok).toBe(true);

describe('gradcheck: layers', () => {
  it('Linear (input, weight, bias; 3-D input)', () => {
    ok((x, w, b) => F.linear(x, w, b), [grad(r(2, 3, 4)), grad(r(5, 4)), grad(r(5))]);
    ok((x, w) => F.linear(x, w), [grad(r(4)), grad(r(2, 4))]);
  });

  const activations: [string, nn.AnyModule][] = [
    ['ReLU', new nn.ReLU()], ['LeakyReLU', new nn.LeakyReLU(0.2)], ['Sigmoid', new nn.Sigmoid()], ['Tanh', new nn.Tanh()],
    ['GELU', new nn.GELU()], ['GELU tanh', new nn.GELU('tanh')], ['ELU', new nn.ELU(0.7)], ['Softplus', new nn.Softplus(2, 3)],
    ['Softmax', new nn.Softmax(1)], ['LogSoftmax', new nn.LogSoftmax(-1)], ['Identity', new nn.Identity()], ['Flatten', new nn.Flatten()],
  ];
  for (const [name, m] of activations) {
    it(name, () => ok((x) => m.call(x) as Tensor, [grad(away(3, 4, 2))]));
  }

  it('Dropout in training mode (a fixed mask per call)', () => {
    ok((x) => F.dropout(x, 0.3, true, new Generator(5)), [grad(r(4, 5))]);
  });

  it('BatchNorm1d in training mode, [N,C] and [N,C,L]', () => {
    const fn = (x: Tensor, w: Tensor, b: Tensor) => F.batchNorm(x, { weight: w, bias: b, training: true });
    ok(fn, [grad(r(5, 3)), grad(r(3)), grad(r(3))]);
    ok(fn, [grad(r(3, 3, 4)), grad(r(3)), grad(r(3))]);
  });

  it('BatchNorm2d in training mode (with running stats being updated)', () => {
    const rm = tensor(new Float64Array(3));
    const rv = tensor(new Float64Array(3).fill(1));
    const fn = (x: Tensor, w: Tensor, b: Tensor) => F.batchNorm(x, { weight: w, bias: b, training: true, runningMean: rm, runningVar: rv });
    ok(fn, [grad(r(2, 3, 3, 3)), grad(r(3)), grad(r(3))]);
  });

  it('LayerNorm over one and two trailing dims', () => {
    ok((x, w, b) => F.layerNorm(x, [4], { weight: w, bias: b }), [grad(r(3, 4)), grad(r(4)), grad(r(4))]);
    ok((x, w, b) => F.layerNorm(x, [3, 4], { weight: w, bias: b }), [grad(r(2, 3, 4)), grad(r(3, 4)), grad(r(3, 4))]);
  });

  it('Conv2d with stride 2, padding 1, dilation 2 (input, weight, bias)', () => {
    const opts = { stride: 2, padding: 1, dilation: 2 };
    ok((x, w, b) => F.conv2d(x, w, b, opts), [grad(r(2, 3, 7, 7)), grad(r(4, 3, 3, 3)), grad(r(4))]);
  });

  it('Conv2d with a rectangular kernel, groups and an unbatched input', () => {
    ok((x, w) => F.conv2d(x, w, null, { stride: [1, 2], padding: [1, 0], groups: 2 }), [grad(r(4, 5, 6)), grad(r(4, 2, 2, 3))]);
  });

  it('Conv2d second derivatives (im2col and col2im are each other’s VJP)', () => {
    // gradcheck also calls fn under noGrad on plain tensors; the inner gradient needs a graph anyway.
    const fn = (...xs: Tensor[]) =>
      enableGrad(() => {
        const [x, w, b] = xs.map((t) => (t.requiresGrad ? t : t.detach().requiresGrad_(true))) as [Tensor, Tensor, Tensor];
        const y = F.conv2d(x, w, b, { padding: 1, stride: 2 });
        return autogradGrad(y.square().sum(), [x, w, b], { createGraph: true }) as Tensor[];
      });
    ok(fn, [grad(r(2, 2, 5, 5)), grad(r(3, 2, 3, 3)), grad(r(3))]);
  });

  it('Conv2d: the recorded backward (createGraph) gives the plain backward’s gradients', () => {
    // gradcheck above checks the recorded path's derivatives, not its values: compare those here.
    const x = r(2, 3, 6, 5);
    const w = r(4, 3, 3, 2);
    const b = r(4);
    const opts = { stride: [2, 1], padding: [1, 0], dilation: [1, 2] };
    const grads = (createGraph: boolean) =>
      enableGrad(() => {
        const [xi, wi, bi] = [x, w, b].map((t) => t.detach().requiresGrad_(true)) as [Tensor, Tensor, Tensor];
        const y = F.conv2d(xi, wi, bi, opts);
        return autogradGrad(y.square().sum(), [xi, wi, bi], { createGraph }) as Tensor[];
      });
    const plain = grads(false);
    const recorded = grads(true);
    for (let i = 0; i < 3; i++) {
      expect(recorded[i]!.shape, `gradient ${i}`).toEqual(plain[i]!.shape);
      const d = Array.from(recorded[i]!.typedData).map((v, j) => Math.abs(v - plain[i]!.typedData[j]!));
      expect(Math.max(...d), `gradient ${i}`).toBeLessThan(1e-12);
    }
  });

  it('unfold and fold', () => {
    ok((x) => F.unfold(x, [2, 3], { dilation: [2, 1], padding: 1, stride: [2, 1] }), [grad(r(2, 2, 5, 5))]);
    ok((c) => F.fold(c, [5, 5], [2, 3], { dilation: [2, 1], padding: 1, stride: [2, 1] }), [grad(r(2, 12, 15))]);
  });

  it('MaxPool2d (kernel 3, stride 2, padding 1) and default stride', () => {
    ok((x) => new nn.MaxPool2d(3, { stride: 2, padding: 1 }).call(x), [grad(r(2, 2, 6, 6))]);
    ok((x) => new nn.MaxPool2d(2).call(x), [grad(r(1, 2, 4, 6))]);
  });

  it('MaxPool2d second derivatives (overlapping, dilated windows)', () => {
    const fn = (...xs: Tensor[]) =>
      enableGrad(() => {
        const x = xs[0]!.requiresGrad ? xs[0]! : xs[0]!.detach().requiresGrad_(true);
        const y = F.maxPool2d(x, 3, { stride: 1, padding: 1, dilation: [1, 2] });
        return autogradGrad(y.square().sum(), [x], { createGraph: true }) as Tensor[];
      });
    ok(fn, [grad(r(1, 2, 5, 6))]);
  });

  it('AvgPool2d, with and without padding in the count', () => {
    ok((x) => new nn.AvgPool2d(3, { stride: 2, padding: 1 }).call(x), [grad(r(2, 2, 6, 6))]);
    ok((x) => new nn.AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false }).call(x), [grad(r(1, 2, 5, 5))]);
  });

  it('Embedding (weight gradient, repeated indices)', () => {
    const idx = tensor(Int32Array.from([1, 3, 3, 0, 4, 1]), { shape: [2, 3] });
    ok((w) => F.embedding(idx, w), [grad(r(5, 3))]);
  });

  it('Embedding paddingIdx: the padding row gets no gradient, the others the full one', () => {
    const idx = tensor(Int32Array.from([1, 3, 3, 0]));
    const w = grad(r(5, 2));
    F.embedding(idx, w, 3).sum().backward();
    expect(w.grad!.toArray()).toEqual([[1, 1], [1, 1], [0, 0], [0, 0], [0, 0]]);
  });
});

describe('gradcheck: fused linear', () => {
  it('first order in x, W and b; leading dims; no bias', () => {
    ok((x, w, b) => F.linear(x, w, b), [grad(r(4, 3)), grad(r(2, 3)), grad(r(2))]);
    ok((x, w, b) => F.linear(x, w, b), [grad(r(2, 3, 3)), grad(r(2, 3)), grad(r(2))]);
    ok((x, w) => F.linear(x, w), [grad(r(3)), grad(r(2, 3))]);
  });
  it('second order: the gradient of a gradient through linear + tanh', () => {
    // gradcheck also calls fn under noGrad on plain tensors; the inner gradient needs a graph anyway.
    const fn = (...xs: Tensor[]) =>
      enableGrad(() => {
        const [x, w, b] = xs.map((t) => (t.requiresGrad ? t : t.detach().requiresGrad_(true))) as [Tensor, Tensor, Tensor];
        return autogradGrad(F.linear(x, w, b).tanh().sum(), [x, w, b], { createGraph: true }) as Tensor[];
      });
    ok(fn, [grad(r(4, 3)), grad(r(2, 3)), grad(r(2))]);
  });
});

describe('gradcheck: losses', () => {
  const t = tensor(Int32Array.from([0, 2, 1, -100]));
  const cw = tensor(Float64Array.from([0.5, 1.5, 1]));
  const y = () => r(4, 3);
  const cases: [string, (x: Tensor) => Tensor][] = [
    ['mseLoss', (x) => F.mseLoss(x, y0)],
    ['l1Loss', (x) => F.l1Loss(x, y0)],
    ['huberLoss', (x) => F.huberLoss(x, y0, { delta: 0.7 })],
    ['smoothL1Loss', (x) => F.smoothL1Loss(x, y0, { beta: 0.7 })],
    ['binaryCrossEntropy', (x) => F.binaryCrossEntropy(x.sigmoid(), p0, { weight: cw })],
    ['binaryCrossEntropyWithLogits', (x) => F.binaryCrossEntropyWithLogits(x, p0, { posWeight: cw, reduction: 'sum' })],
    ['crossEntropy', (x) => F.crossEntropy(x, t, { weight: cw, labelSmoothing: 0.1 })],
    ['crossEntropy, probability targets', (x) => F.crossEntropy(x, p0.softmax(1), { weight: cw, labelSmoothing: 0.2 })],
    ['nllLoss', (x) => F.nllLoss(x.logSoftmax(1), t, { weight: cw, reduction: 'sum' })],
    // Without label smoothing, class-index cross-entropy is one fused op (ops/rules/fused.ts).
    ['crossEntropy fused, weight + ignoreIndex', (x) => F.crossEntropy(x, t, { weight: cw })],
    ['crossEntropy fused, sum', (x) => F.crossEntropy(x, t, { reduction: 'sum' })],
    ['crossEntropy fused, none', (x) => F.crossEntropy(x, t, { reduction: 'none', weight: cw })],
    ['crossEntropy fused, unbatched', (x) => F.crossEntropy(x.reshape([12]).narrow(0, 0, 3), tensor(Int32Array.from([2])).reshape([]))],
    [
      'crossEntropy fused, second order',
      (x) =>
        enableGrad(() => {
          const xg = x.requiresGrad ? x : x.detach().requiresGrad_(true);
          return autogradGrad(F.crossEntropy(xg, t, { weight: cw }), [xg], { createGraph: true })[0]!;
        }),
    ],
  ];
  const y0 = y();
  const p0 = r(4, 3).sigmoid();
  for (const [name, fn] of cases) it(name, () => ok(fn, [grad(away(4, 3))]));
});
