import { describe, expect, it } from 'vitest';
import { Generator, autogradGrad, enableGrad, gradcheck, noGrad, tensor, type Tensor } from '../../src/index.js';
import * as F from '../../src/nn/functional.js';
import { powScalarGrad, reluGrad, sigmoidGrad, tanhGrad } from '../../src/ops/rules/activation-grads.js';
import { conv2d, conv2dInputGrad, conv2dWeightGrad, maxPool2d, maxPool2dGrad } from '../../src/ops/rules/conv.js';
import { crossEntropyIndexGrad } from '../../src/ops/rules/fused.js';
import { fusedLinear } from '../../src/nn/functional/basic.js';
import { softmax } from '../../src/ops/activations.js';

/**
 * The backward formulas that are primitives of their own (tanhGrad, conv2dInputGrad, ...): each
 * one's rule is checked against finite differences (the primitive as a function of its inputs)
 * and so is the gradient of that rule (second order of the primitive), in float64.
 */

const gen = new Generator(23);
const rand = (shape: number[], f: (v: number) => number = (v) => v) =>
  tensor(Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => f(gen.normal())), { shape, dtype: 'float64', requiresGrad: true });
/** Values kept at least 0.2 away from 0, where relu′ jumps (finite differences mean nothing there). */
const awayFromZero = (v: number) => (Math.abs(v) < 0.2 ? (v < 0 ? -0.2 : 0.2) + v : v);
const positive = (v: number) => 0.5 + Math.abs(v);

type Fn = (...xs: Tensor[]) => Tensor;
/**
 * The gradient of Σ f(xs)² with respect to the inputs that require grad, itself recorded
 * (createGraph). An input the gradient does not reach (relu′ in y) gets zeros.
 */
const gradOf = (f: Fn) => (...xs: Tensor[]) =>
  enableGrad(() => {
    const y = f(...xs);
    const wrt = xs.filter((x) => x.requiresGrad);
    const gs = autogradGrad(y.mul(y).sum(), wrt, { createGraph: true, allowUnused: true });
    return gs.map((g, i) => g ?? wrt[i]!.detach().mul(0));
  });

const geom = { kernel: [3, 2], stride: [2, 1], padding: [1, 0], dilation: [1, 2] };
const constant = (t: Tensor) => t.detach();

const picks = tensor(Int32Array.from([0, 3, 9, 15, 5, 2, 12, 11]), { shape: [1, 2, 4] });
const pool2 = { kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1] };
/** A fixed weighting of maxPool2dGrad's output, so that its square is not piecewise the input's. */
const poolWeights = rand([1, 2, 4, 4]).detach();

const CASES: [string, Fn, () => Tensor[]][] = [
  ['tanhGrad', (g, y) => tanhGrad(g!, y!), () => [rand([3, 4]), rand([3, 4], Math.tanh)]],
  ['sigmoidGrad', (g, y) => sigmoidGrad(g!, y!), () => [rand([3, 4]), rand([3, 4], (v) => 1 / (1 + Math.exp(-v)))]],
  ['reluGrad', (g, y) => reluGrad(g!, y!), () => [rand([3, 4]), rand([3, 4], awayFromZero)]],
  ['powScalarGrad p=3', (g, x) => powScalarGrad(g!, x!, 3), () => [rand([5]), rand([5])]],
  ['powScalarGrad p=2', (g, x) => powScalarGrad(g!, x!, 2), () => [rand([5]), rand([5])]],
  ['powScalarGrad p=-1.5', (g, x) => powScalarGrad(g!, x!, -1.5), () => [rand([2, 3]), rand([2, 3], positive)]],
  ['powScalarGrad p=1', (g, x) => powScalarGrad(g!, x!, 1), () => [rand([4]), rand([4])]],
  // gy [2, 3, 3, 4] for x [2, 2, 5, 6] under geom, weight [3, 2, 3, 2]
  ['conv2dInputGrad', (gy, w) => conv2dInputGrad(gy!, w!, [5, 6], geom), () => [rand([2, 3, 3, 4]), rand([3, 2, 3, 2])]],
  ['conv2dWeightGrad', (gy, x) => conv2dWeightGrad(gy!, x!, geom), () => [rand([2, 3, 3, 4]), rand([2, 2, 5, 6])]],
  [
    'maxPool2dGrad',
    // Each 2×2 window of a 4×4 plane picks one of its own elements.
    (g) => maxPool2dGrad(g!, picks, [4, 4], pool2).mul(poolWeights),
    () => [rand([1, 2, 2, 2])],
  ],
];
for (const reduction of ['mean', 'sum', 'none'] as const) {
  // Row 2 is an ignored target (weight 0); p is softmax(x), recomputed from the perturbed x.
  const t = tensor(Int32Array.from([2, 0, 1, 3]), { shape: [4] });
  const w = tensor(Float64Array.from([1, 0.5, 0, 2]), { shape: [4], dtype: 'float64' });
  CASES.push([
    `crossEntropyIndexGrad ${reduction}`,
    (g, x) => crossEntropyIndexGrad(g!, x!, noGrad(() => softmax(constant(x!), 1)), t, w, reduction),
    () => [rand(reduction === 'none' ? [4] : []), rand([4, 5])],
  ]);
}

describe('backward primitives: gradcheck of their rules (float64)', () => {
  for (const [name, f, inputs] of CASES) {
    it(`${name}: first order`, () => {
      const r = gradcheck(f, inputs());
      expect(r.ok).toBe(true);
      expect(r.checked).toBeGreaterThan(0);
    });
    it(`${name}: second order`, () => {
      const r = gradcheck(gradOf(f), inputs(), { atol: 1e-6, rtol: 1e-5 });
      expect(r.ok).toBe(true);
      expect(r.checked).toBeGreaterThan(0);
    });
  }
});

describe('the ops whose rules call them: second and third order', () => {
  const ops: [string, Fn, () => Tensor[]][] = [
    ['conv2d', (x, w, b) => conv2d(x!, w!, b!, geom), () => [rand([2, 2, 5, 6]), rand([3, 2, 3, 2]), rand([3])]],
    ...(['relu', 'tanh', 'sigmoid', 'gelu'] as const).map((act): [string, Fn, () => Tensor[]] =>
      [`conv2d + ${act}`, (x, w, b) => conv2d(x!, w!, b!, geom, act), () => [rand([2, 2, 5, 6]), rand([3, 2, 3, 2]), rand([3])]]),
    ...(['relu', 'tanh', 'sigmoid', 'gelu'] as const).map((act): [string, Fn, () => Tensor[]] =>
      [`linear + ${act}`, (x, w, b) => fusedLinear(x!, w!, b!, act), () => [rand([3, 4]), rand([2, 4]), rand([2])]]),
    ['maxPool2d', (x) => maxPool2d(x!, { kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1] }).exp(), () => [rand([1, 2, 4, 4])]],
    ['crossEntropy', (x) => F.crossEntropy(x!, tensor(Int32Array.from([2, 0, 1]), { shape: [3] })), () => [rand([3, 4])]],
    ['linear (matmul, unbroadcast)', (x, w, b) => F.linear(x!, w!, b!).tanh(), () => [rand([3, 4]), rand([2, 4]), rand([2])]],
    ['mean', (x) => x!.mean(1).sigmoid(), () => [rand([3, 4])]],
  ];
  for (const [name, f, inputs] of ops) {
    it(`${name}: second order`, () => {
      expect(gradcheck(gradOf(f), inputs(), { atol: 1e-6, rtol: 1e-5 }).ok).toBe(true);
    });
  }
  it('linear + gelu and conv2d + gelu: third order (the kept pre-activation reaches the inputs through linearPre / conv2dPre)', () => {
    const w = rand([2, 4]);
    const first = (x: Tensor) => enableGrad(() => autogradGrad(fusedLinear(x, w, null, 'gelu').sum(), [x], { createGraph: true })[0]!);
    expect(gradcheck(gradOf(first), [rand([3, 4])], { atol: 1e-6, rtol: 1e-5 }).ok).toBe(true);
    const k = rand([2, 2, 3, 2]);
    const firstConv = (x: Tensor) => enableGrad(() => autogradGrad(conv2d(x, k, null, geom, 'gelu').sum(), [x], { createGraph: true })[0]!);
    expect(gradcheck(gradOf(firstConv), [rand([1, 2, 5, 6])], { atol: 1e-6, rtol: 1e-5 }).ok).toBe(true);
  });
  it('crossEntropy: third order (the primitive recomputes softmax from x as a tracked op)', () => {
    const t = tensor(Int32Array.from([1, 0]), { shape: [2] });
    const first = (x: Tensor) => enableGrad(() => autogradGrad(F.crossEntropy(x, t), [x], { createGraph: true })[0]!);
    expect(gradcheck(gradOf(first), [rand([2, 3])], { atol: 1e-6, rtol: 1e-5 }).ok).toBe(true);
  });
});

describe('one backward body: a recorded backward records the primitives', () => {
  const recorded = (f: Fn, x: Tensor) => enableGrad(() => autogradGrad(f(x).square().sum(), [x], { createGraph: true })[0]!.gradFn!.name);
  it.each([
    ['tanh', (x: Tensor) => x.tanh(), 'TanhGradBackward'],
    ['sigmoid', (x: Tensor) => x.sigmoid(), 'SigmoidGradBackward'],
    ['relu', (x: Tensor) => x.relu(), 'ReluGradBackward'],
    ['pow 3', (x: Tensor) => x.pow(3), 'PowScalarGradBackward'],
    ['conv2d', (x: Tensor) => conv2d(x, rand([3, 2, 3, 2]), null, geom), 'Conv2dInputGradBackward'],
    ['maxPool2d', (x: Tensor) => maxPool2d(x, { kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1] }), 'MaxPool2dGradBackward'],
  ] as const)('%s', (_, f, name) => {
    expect(recorded(f, rand(name.startsWith('Conv') ? [2, 2, 5, 6] : name.startsWith('Max') ? [1, 2, 4, 4] : [3, 4]))).toBe(name);
  });
  it('crossEntropy', () => {
    const x = rand([3, 4]);
    const g = enableGrad(() => autogradGrad(F.crossEntropy(x, tensor(Int32Array.from([2, 0, 1]), { shape: [3] })), [x], { createGraph: true })[0]!);
    expect(g.gradFn!.name).toBe('CrossEntropyIndexGradBackward');
  });
});
