import { describe, expect, it } from 'vitest';
import { noGrad, type Tensor } from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import * as F from '../../src/nn/functional.js';
import { expectClose, fromJson, loadFixture, type TJson } from './helpers.js';

// Every layer's forward and gradients against PyTorch 1.13 in float64 (test/fixtures/gen_nn.py).

interface LayerCase {
  name: string;
  args?: unknown[];
  kwargs?: Record<string, number | number[] | boolean>;
  paddingIdx?: number;
  inputs: TJson[];
  params: Record<string, TJson>;
  upstream: TJson;
  output: TJson;
  inputGrads: (TJson | null)[];
  paramGrads: Record<string, TJson>;
}

interface RunningCase {
  name: string;
  momentum: number | null;
  params: Record<string, TJson>;
  steps: TJson[];
  runningMean: TJson;
  runningVar: TJson;
  numBatchesTracked: number;
  evalInput: TJson;
  evalOutput: TJson;
}

const fixture = loadFixture<{ cases: (LayerCase | RunningCase)[] }>('nn_layers.json');
const byName = new Map(fixture.cases.map((c) => [c.name, c]));
const dtype = 'float64' as const;

type Kw = Record<string, number | number[] | boolean>;
const conv = (k: Kw) =>
  new nn.Conv2d(k.in_channels as number, k.out_channels as number, k.kernel_size as number, {
    stride: k.stride as number | undefined,
    padding: k.padding as number | undefined,
    dilation: k.dilation as number | undefined,
    groups: k.groups as number | undefined,
    bias: k.bias as boolean | undefined,
    dtype,
  });

const maxPool = (k: Kw) =>
  new nn.MaxPool2d(k.kernel_size as number, {
    stride: k.stride as number | undefined,
    padding: k.padding as number | undefined,
    dilation: k.dilation as number | undefined,
  });

const builders: Record<string, (c: LayerCase) => nn.AnyModule> = {
  Linear: (c) => new nn.Linear(c.args![0] as number, c.args![1] as number, { dtype }),
  Linear3d: (c) => new nn.Linear(c.args![0] as number, c.args![1] as number, { dtype }),
  LinearNoBias: (c) => new nn.Linear(c.args![0] as number, c.args![1] as number, { dtype, bias: false }),
  ReLU: () => new nn.ReLU(),
  LeakyReLU: (c) => new nn.LeakyReLU(c.args![0] as number),
  Sigmoid: () => new nn.Sigmoid(),
  Tanh: () => new nn.Tanh(),
  GELU: () => new nn.GELU(),
  GELUTanh: () => new nn.GELU('tanh'),
  ELU: (c) => new nn.ELU(c.args![0] as number),
  Softplus: (c) => new nn.Softplus(c.args![0] as number, c.args![1] as number),
  Softmax: (c) => new nn.Softmax(c.args![0] as number),
  LogSoftmax: (c) => new nn.LogSoftmax(c.args![0] as number),
  BatchNorm1d: () => new nn.BatchNorm1d(3, { dtype }),
  BatchNorm1d3d: () => new nn.BatchNorm1d(3, { dtype }),
  BatchNorm2d: () => new nn.BatchNorm2d(3, { dtype }),
  LayerNorm: (c) => new nn.LayerNorm(c.args![0] as number[], { dtype }),
  LayerNorm2d: (c) => new nn.LayerNorm(c.args![0] as number[], { dtype }),
  Conv2d: (c) => conv(c.kwargs!),
  Conv2dRect: (c) => conv(c.kwargs!),
  Conv2dGroups: (c) => conv(c.kwargs!),
  MaxPool2d: (c) => new nn.MaxPool2d(c.kwargs!.kernel_size as number, { stride: c.kwargs!.stride as number, padding: c.kwargs!.padding as number }),
  MaxPool2dSimple: (c) => new nn.MaxPool2d(c.kwargs!.kernel_size as number),
  AvgPool2d: (c) => new nn.AvgPool2d(c.kwargs!.kernel_size as number, { stride: c.kwargs!.stride as number, padding: c.kwargs!.padding as number }),
  AvgPool2dNoPadCount: (c) =>
    new nn.AvgPool2d(c.kwargs!.kernel_size as number, {
      stride: c.kwargs!.stride as number,
      padding: c.kwargs!.padding as number,
      countIncludePad: c.kwargs!.count_include_pad as boolean,
    }),
  AvgPool2dSimple: (c) => new nn.AvgPool2d(c.kwargs!.kernel_size as number[]),
  // Tied maxima (ReLU zeros, values on a grid of ½) in plain, overlapping and dilated windows.
  MaxPool2dTies: (c) => maxPool(c.kwargs!),
  MaxPool2dTiesOverlap: (c) => maxPool(c.kwargs!),
  MaxPool2dTiesDilation: (c) => maxPool(c.kwargs!),
  Embedding: (c) => new nn.Embedding(c.args![0] as number, c.args![1] as number, { dtype }),
  EmbeddingPadding: (c) => new nn.Embedding(c.args![0] as number, c.args![1] as number, { dtype, paddingIdx: c.paddingIdx! }),
};

function loadParams(m: nn.AnyModule, params: Record<string, TJson>): void {
  const own = Object.fromEntries(m.namedParameters());
  expect(Object.keys(own).sort()).toEqual(Object.keys(params).sort());
  noGrad(() => Object.entries(params).forEach(([k, v]) => own[k]!.copy_(fromJson(v))));
}

describe('layers match PyTorch (float64, forward and gradients)', () => {
  // Each layer twice: a plain backward, and one recorded with createGraph (the double-backward path).
  for (const [name, build] of Object.entries(builders)) for (const createGraph of [false, true]) {
    it(createGraph ? `${name} createGraph` : name, () => {
      const c = byName.get(name) as LayerCase;
      expect(c, `fixture ${name}`).toBeDefined();
      const m = build(c);
      loadParams(m, c.params);
      const xs = c.inputs.map((j) => fromJson(j, j.dtype !== 'int32'));
      const out = m.call(...xs) as Tensor;
      expectClose(out, c.output, `${name} output`);
      out.backward(fromJson(c.upstream), { createGraph });
      c.inputGrads.forEach((g, i) => g && expectClose(xs[i]!.grad, g, `${name} input ${i} grad`));
      const params = Object.fromEntries(m.namedParameters());
      for (const [k, g] of Object.entries(c.paramGrads)) expectClose(params[k]!.grad, g, `${name} ${k} grad`);
    });
  }

  it.each([false, true])('unfold (im2col) with stride, padding and dilation (createGraph %s)', (createGraph) => {
    const c = byName.get('Unfold') as LayerCase;
    const x = fromJson(c.inputs[0]!, true);
    const cols = F.unfold(x, [2, 3], { dilation: [2, 1], padding: 1, stride: [2, 1] });
    expectClose(cols, c.output, 'unfold output');
    cols.backward(fromJson(c.upstream), { createGraph });
    expectClose(x.grad, c.inputGrads[0]!, 'unfold input grad');
  });
});

describe('BatchNorm running statistics match PyTorch after 5 training steps', () => {
  const cases: [string, (momentum: number | null) => nn.AnyModule][] = [
    ['BatchNorm1dRunning', (momentum) => new nn.BatchNorm1d(4, { dtype, momentum })],
    ['BatchNorm2dRunning', (momentum) => new nn.BatchNorm2d(4, { dtype, momentum })],
    ['BatchNorm1dCumulative', (momentum) => new nn.BatchNorm1d(4, { dtype, momentum })],
  ];
  for (const [name, build] of cases) {
    it(name, () => {
      const c = byName.get(name) as RunningCase;
      const m = build(c.momentum) as nn.BatchNorm1d;
      loadParams(m, c.params);
      m.train();
      for (const s of c.steps) m.call(fromJson(s));
      expectClose(m.runningMean, c.runningMean, `${name} runningMean`);
      expectClose(m.runningVar, c.runningVar, `${name} runningVar`);
      expect(m.numBatchesTracked!.item()).toBe(c.numBatchesTracked);
      m.eval();
      expectClose(m.call(fromJson(c.evalInput)), c.evalOutput, `${name} eval output`);
    });
  }
});
