import { describe, expect, it } from 'vitest';
import { Generator, IndexError, ShapeError, ValueError, manualSeed, noGrad, ones, randn, tensor, type Tensor } from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import * as F from '../../src/nn/functional.js';

const frac = (t: Tensor, pred: (v: number) => boolean) => t.tolist().filter(pred).length / t.numel();

describe('Dropout', () => {
  it('zeroes about p of the elements in training and scales the rest by 1/(1−p)', () => {
    const d = new nn.Dropout(0.25, { generator: new Generator(3) });
    const y = d.call(ones([200, 100]));
    expect(Math.abs(frac(y, (v) => v === 0) - 0.25)).toBeLessThan(0.01);
    expect(y.tolist().every((v) => v === 0 || Math.abs(v - 1 / 0.75) < 1e-6)).toBe(true);
    expect(Math.abs(y.mean().item() - 1)).toBeLessThan(0.02);
  });

  it('is the identity in eval mode, and for p = 0; p = 1 zeroes everything', () => {
    const x = randn([4, 5]);
    expect(new nn.Dropout(0.5).eval().call(x)).toBe(x);
    expect(new nn.Dropout(0).call(x)).toBe(x);
    expect(new nn.Dropout(1).call(x).tolist().every((v) => v === 0)).toBe(true);
    expect(() => new nn.Dropout(1.5)).toThrow(ValueError);
  });

  it('draws its mask from the seeded generator', () => {
    const x = ones([10, 10]);
    manualSeed(11);
    const a = new nn.Dropout(0.5).call(x).tolist();
    manualSeed(11);
    const b = new nn.Dropout(0.5).call(x).tolist();
    expect(a).toEqual(b);
    expect(new nn.Dropout(0.5).call(x).tolist()).not.toEqual(a);
    expect(F.dropout(x, 0.5, true, new Generator(1)).tolist()).toEqual(F.dropout(x, 0.5, true, new Generator(1)).tolist());
  });

  it('passes the gradient through the kept elements only', () => {
    const x = ones([50]).requiresGrad_(true);
    const y = F.dropout(x, 0.4, true, new Generator(2));
    y.sum().backward();
    expect(x.grad!.tolist()).toEqual(y.detach().tolist());
  });
});

describe('default initialisation (PyTorch bounds)', () => {
  it('Linear: weight and bias within ±1/√inFeatures, filling the range', () => {
    const l = new nn.Linear(400, 300);
    const bound = 1 / Math.sqrt(400);
    for (const p of [l.weight, l.bias!]) {
      const maxAbs = p.abs().max().item();
      expect(maxAbs).toBeLessThanOrEqual(bound);
      expect(maxAbs).toBeGreaterThan(0.95 * bound);
    }
    // U(−b, b) has std b/√3.
    expect(Math.abs(l.weight.std().item() / (bound / Math.sqrt(3)) - 1)).toBeLessThan(0.02);
  });

  it('Conv2d: bound 1/√(inC·kh·kw)', () => {
    const c = new nn.Conv2d(16, 32, 3);
    const bound = 1 / Math.sqrt(16 * 9);
    expect(c.weight.abs().max().item()).toBeLessThanOrEqual(bound);
    expect(c.bias!.abs().max().item()).toBeLessThanOrEqual(bound);
    expect(c.weight.shape).toEqual([32, 16, 3, 3]);
  });

  it('Embedding: N(0, 1)', () => {
    const e = new nn.Embedding(1000, 64);
    expect(Math.abs(e.weight.mean().item())).toBeLessThan(0.01);
    expect(Math.abs(e.weight.std().item() - 1)).toBeLessThan(0.01);
  });
});

describe('layer behaviour and errors', () => {
  it('Embedding: an index out of range names the index and the table size', () => {
    const e = new nn.Embedding(10, 3);
    expect(e.call(tensor(Int32Array.from([0, 9]))).shape).toEqual([2, 3]);
    expect(() => e.call(tensor(Int32Array.from([3, 12])))).toThrow(IndexError);
    expect(() => e.call(tensor(Int32Array.from([3, 12])))).toThrow('Embedding: index 12 is out of range for 10 embeddings (valid 0 to 9)');
    expect(() => e.call(tensor([1, 2]))).toThrow(/indices must be an int32 tensor/);
  });

  it('BatchNorm: eval uses the running statistics; training needs more than one value per channel', () => {
    const bn = new nn.BatchNorm1d(2);
    const x = tensor([[1, 2], [3, 6]]);
    expect(bn.call(x).tolist().map((v) => Math.round(v * 1e4) / 1e4)).toEqual([-1, -1, 1, 1]);
    expect(bn.runningMean!.tolist().map((v) => Math.round(v * 1e6) / 1e6)).toEqual([0.2, 0.4]);
    // Unbiased batch variances 2 and 8.
    expect(bn.runningVar!.tolist().map((v) => Math.round(v * 1e6) / 1e6)).toEqual([1.1, 1.7]);
    bn.eval();
    const y = bn.call(tensor([[0.2, 0.4]]));
    expect(y.tolist().every((v) => Math.abs(v) < 1e-6)).toBe(true);
    bn.train();
    expect(() => bn.call(tensor([[1, 2]]))).toThrow('BatchNorm1d: expected more than 1 value per channel when training, got input of shape [1,2]');
    expect(() => bn.call(randn([4, 3]))).toThrow('BatchNorm1d: input has 3 channels (shape [4,3]) but numFeatures is 2');
    expect(() => new nn.BatchNorm2d(2).call(randn([4, 2]))).toThrow(ShapeError);
  });

  it('BatchNorm without running stats uses batch statistics in eval too', () => {
    const bn = new nn.BatchNorm1d(2, { trackRunningStats: false, affine: false });
    expect(bn.numParameters()).toBe(0);
    expect(bn.buffers()).toHaveLength(0);
    const x = randn([5, 2]);
    expect(bn.eval().call(x).tolist()).toEqual(bn.train().call(x).tolist());
  });

  it('Flatten, Conv2d and pooling shapes', () => {
    const x = randn([2, 3, 8, 8]);
    expect(new nn.Flatten().call(x).shape).toEqual([2, 192]);
    expect(new nn.Flatten(0, 1).call(x).shape).toEqual([6, 8, 8]);
    expect(new nn.Conv2d(3, 5, 3, { padding: 1 }).call(x).shape).toEqual([2, 5, 8, 8]);
    expect(new nn.Conv2d(3, 5, 3, { stride: 2, padding: 1, dilation: 2 }).call(x).shape).toEqual([2, 5, 3, 3]);
    expect(new nn.MaxPool2d(2).call(x).shape).toEqual([2, 3, 4, 4]);
    expect(new nn.AvgPool2d(3, { stride: 2, padding: 1 }).call(x).shape).toEqual([2, 3, 4, 4]);
    expect(() => new nn.Conv2d(4, 5, 3).call(x)).toThrow(/Conv2d: input has 3 channels \(shape \[2,3,8,8\]\) but the weight \[5,4,3,3\] expects 4/);
    expect(() => new nn.Conv2d(3, 5, 9).call(x)).toThrow(/too small for kernel 9x9/);
    const w = randn([5, 3, 3, 3]);
    expect(() => F.conv2d(x, w, randn([4]))).toThrow(/conv2d: bias has shape \[4\], expected \[5\], one per output channel/);
    expect(() => F.conv2d(x, w, randn([5], { dtype: 'float64' }))).toThrow(/conv2d: bias is float64 but the weight is float32/);
    expect(() => F.maxPool2d(x, 2, { padding: 2 })).toThrow(/at most half of the kernel size/);
  });

  it('MaxPool2d passes each window’s gradient to one element, as PyTorch: first maximum, last NaN, a real element when all are −∞', () => {
    const grads = (plane: number[], k: number, opts: F.PoolOptions = {}) => {
      const x = tensor(Float64Array.from(plane)).reshape([1, 1, 2, plane.length / 2]).requiresGrad_(true);
      const y = F.maxPool2d(x, k, opts);
      y.sum().backward();
      return { y: Array.from(y.typedData), g: Array.from(x.grad!.typedData) };
    };
    // One window of zeros (a ReLU's output): all of the gradient to its first element.
    expect(grads([0, 0, 0, 0], 2).g).toEqual([1, 0, 0, 0]);
    // Ties at 3: the first in row-major window order wins.
    expect(grads([1, 3, 3, 2], 2).g).toEqual([0, 1, 0, 0]);
    // A NaN wins over any number, and the last NaN over earlier ones.
    const nan = grads([NaN, 5, NaN, 1], 2);
    expect(Number.isNaN(nan.y[0])).toBe(true);
    expect(nan.g).toEqual([0, 0, 1, 0]);
    // Windows half in the padding, all real values −∞: the first real element, never the padding.
    const inf = grads([-Infinity, -Infinity, -Infinity, -Infinity], 2, { stride: 1, padding: 1 });
    expect(inf.y).toEqual(Array(9).fill(-Infinity));
    expect(inf.g).toEqual([4, 2, 2, 1]);
    // Overlapping windows add up where they pick the same element (stride 1, kernel 2 over 1×4).
    expect(grads([1, 9, 2, 7, 1, 1, 1, 1], 2, { stride: 1 }).g).toEqual([0, 2, 0, 1, 0, 0, 0, 0]);
  });

  it('F.linear names what is wrong: a weight that is not 2-D, a feature count, a dtype', () => {
    const x = randn([2, 3]);
    expect(() => F.linear(x, randn([3]))).toThrow('linear: weight must be 2-D [out, in], got shape [3]');
    expect(() => F.linear(x, randn([4, 5]), null, () => 'Linear(fc1)')).toThrow('Linear(fc1): input has 3 features (shape [2,3]) but inFeatures is 5');
    expect(() => F.linear(x, randn([4, 3], { dtype: 'float64' }))).toThrow("linear: input is float32 but the weight is float64; convert one (x.to('float64') or module.to('float32'))");
    expect(() => F.linear(randn([]), randn([4, 3]))).toThrow('linear: input has 0 features (shape []) but inFeatures is 3');
  });

  it('oneHot', () => {
    expect(F.oneHot(tensor(Int32Array.from([2, 0]))).toArray()).toEqual([[0, 0, 1], [1, 0, 0]]);
    expect(F.oneHot(tensor(Int32Array.from([1])), 4).shape).toEqual([1, 4]);
    expect(() => F.oneHot(tensor(Int32Array.from([4])), 3)).toThrow(/index 4 is out of range for 3 classes/);
  });
});

describe('loss errors', () => {
  it('crossEntropy: a label outside [0, C) names the label and C', () => {
    const logits = randn([3, 5]);
    expect(() => F.crossEntropy(logits, tensor(Int32Array.from([1, 7, 0])))).toThrow(IndexError);
    expect(() => F.crossEntropy(logits, tensor(Int32Array.from([1, 7, 0])))).toThrow('crossEntropy: target 7 is out of range for 5 classes (valid 0 to 4)');
    expect(() => F.crossEntropy(logits, tensor(Int32Array.from([1, -1, 0])))).toThrow(/target -1 is out of range/);
    expect(() => F.nllLoss(logits, tensor(Int32Array.from([5, 0, 0])))).toThrow('nllLoss: target 5 is out of range for 5 classes (valid 0 to 4)');
  });

  it('crossEntropy: a batch mismatch names both shapes', () => {
    expect(() => F.crossEntropy(randn([4, 5]), tensor(Int32Array.from([1, 2, 3])))).toThrow(
      'crossEntropy: input of shape [4,5] and target of shape [3] do not match (expected target shape [4])',
    );
    expect(() => F.crossEntropy(randn([4, 5]), randn([4, 4]))).toThrow(/probability targets must have the input's shape: input \[4,5\], target \[4,4\]/);
  });

  it('elementwise losses refuse mismatched shapes instead of broadcasting', () => {
    expect(() => F.mseLoss(randn([4, 1]), randn([4]))).toThrow('mseLoss: input of shape [4,1] and target of shape [4] differ; reshape one to match');
    expect(() => F.binaryCrossEntropy(tensor([0.5, 1.2]), tensor([0, 1]))).toThrow(/between 0 and 1, got 1.2/);
    expect(() => F.l1Loss(randn([2]), randn([2]), { reduction: 'avg' as 'mean' })).toThrow(/reduction must be/);
  });

  it('binaryCrossEntropy clamps the log at −100', () => {
    const loss = F.binaryCrossEntropy(tensor([0, 1], { dtype: 'float64' }), tensor([1, 0], { dtype: 'float64' }), { reduction: 'none' });
    expect(loss.tolist()).toEqual([100, 100]);
  });
});

describe('output errors of the classic pairings', () => {
  it('sigmoid + binary cross-entropy (sum): dL/dz = sigmoid(z) − y', () => {
    const z = randn([6, 3], { dtype: 'float64' }).requiresGrad_(true);
    const y = randn([6, 3], { dtype: 'float64' }).sigmoid();
    F.binaryCrossEntropy(z.sigmoid(), y, { reduction: 'sum' }).backward();
    const expected = z.detach().sigmoid().sub(y).tolist();
    z.grad!.tolist().forEach((g, i) => expect(Math.abs(g - expected[i]!)).toBeLessThan(1e-12));
    const zl = z.detach().requiresGrad_(true);
    F.binaryCrossEntropyWithLogits(zl, y, { reduction: 'sum' }).backward();
    zl.grad!.tolist().forEach((g, i) => expect(Math.abs(g - expected[i]!)).toBeLessThan(1e-12));
  });

  it('softmax + cross-entropy (sum): dL/dz = softmax(z) − onehot(y)', () => {
    const z = randn([5, 4], { dtype: 'float64' }).requiresGrad_(true);
    const y = tensor(Int32Array.from([0, 3, 1, 1, 2]));
    F.crossEntropy(z, y, { reduction: 'sum' }).backward();
    const expected = z.detach().softmax(1).sub(F.oneHot(y, 4).double()).tolist();
    z.grad!.tolist().forEach((g, i) => expect(Math.abs(g - expected[i]!)).toBeLessThan(1e-12));
  });

  it('binaryCrossEntropyWithLogits is finite at logits ±100 with gradient sigmoid(x) − y', () => {
    const x = tensor([100, -100, 100, -100], { dtype: 'float64', requiresGrad: true });
    const y = tensor([0, 1, 1, 0], { dtype: 'float64' });
    const loss = F.binaryCrossEntropyWithLogits(x, y, { reduction: 'none' });
    const [l0, l1, l2, l3] = loss.tolist() as [number, number, number, number];
    expect([l0, l1]).toEqual([100, 100]);
    // log(1 + e^−100) ≈ 3.7e−44: tiny but exact, not 0 − 0 from a saturated sigmoid.
    for (const v of [l2, l3]) expect(Math.abs(v / Math.exp(-100) - 1)).toBeLessThan(1e-12);
    loss.sum().backward();
    expect(x.grad!.tolist().map((v) => Math.round(v))).toEqual([1, -1, 0, 0]);
  });
});

describe("the seeds' worked example from nn.Linear and nn.Sigmoid", () => {
  it('loss 0.314550 and dL/dW2 = [0.074393, 0.074846, 0.075298]', () => {
    const model = new nn.Sequential(new nn.Linear(2, 3), new nn.Sigmoid(), new nn.Linear(3, 1), new nn.Sigmoid()).double();
    model.loadStateDict({
      '0.weight': tensor([[0.15, 0.2], [0.25, 0.3], [0.35, 0.4]], { dtype: 'float64' }),
      '0.bias': tensor([0.35, 0.35, 0.35], { dtype: 'float64' }),
      '2.weight': tensor([[0.4, 0.45, 0.5]], { dtype: 'float64' }),
      '2.bias': tensor([0.6], { dtype: 'float64' }),
    });
    const a = model.call(tensor([[0.05, 0.1]], { dtype: 'float64' }));
    const loss = F.mseLoss(a, tensor([[0.01]], { dtype: 'float64' }), { reduction: 'sum' }).mul(0.5);
    expect(loss.item().toFixed(6)).toBe('0.314550');
    loss.backward();
    const w2 = (model.at(2) as nn.Linear).weight.grad!.tolist();
    expect(w2.map((v) => v.toFixed(6))).toEqual(['0.074393', '0.074846', '0.075298']);
  });
});

describe('end to end', () => {
  it('an MLP learns XOR with plain gradient descent', () => {
    manualSeed(0);
    const model = new nn.Sequential(new nn.Linear(2, 8), new nn.Tanh(), new nn.Linear(8, 1));
    const x = tensor([[0, 0], [0, 1], [1, 0], [1, 1]]);
    const y = tensor([[0], [1], [1], [0]]);
    const lossFn = new nn.BCEWithLogitsLoss();
    let loss = lossFn.call(model.call(x), y);
    for (let step = 0; step < 500; step++) {
      model.zeroGrad();
      loss = lossFn.call(model.call(x), y);
      loss.backward();
      noGrad(() => model.parameters().forEach((p) => p.sub_(p.grad!.mul(0.5))));
    }
    expect(loss.item()).toBeLessThan(0.05);
  });

  it('a small CNN gives every parameter a gradient of its shape', () => {
    const cnn = new nn.Sequential(
      new nn.Conv2d(1, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.MaxPool2d(2),
      new nn.Conv2d(4, 8, 3, { stride: 2, padding: 1 }), new nn.ReLU(), new nn.AvgPool2d(2), new nn.Flatten(),
      new nn.Dropout(0.2), new nn.Linear(8, 10),
    );
    const logits = cnn.call(randn([5, 1, 8, 8]));
    expect(logits.shape).toEqual([5, 10]);
    F.crossEntropy(logits, tensor(Int32Array.from([1, 2, 3, 4, 9]))).backward();
    for (const [name, p] of cnn.namedParameters()) expect(p.grad?.shape, name).toEqual(p.shape);
  });
});
