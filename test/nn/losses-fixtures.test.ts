import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/index.js';
import * as F from '../../src/nn/functional.js';
import * as nn from '../../src/nn/index.js';
import { expectClose, fromJson, loadFixture, type TJson } from './helpers.js';

// Every loss, each reduction, value and gradient against PyTorch 1.13 in float64.

interface LossCase {
  name: string;
  fn: string;
  reduction: F.Reduction;
  kwargs: Record<string, TJson | number>;
  input: TJson;
  target: TJson;
  upstream: TJson;
  output: TJson;
  inputGrad: TJson;
}

const fixture = loadFixture<{ cases: LossCase[] }>('nn_losses.json');

type LossFn = (input: Tensor, target: Tensor, opts: Record<string, unknown>) => Tensor;
const fns: Record<string, LossFn> = {
  mse_loss: F.mseLoss,
  l1_loss: F.l1Loss,
  huber_loss: F.huberLoss,
  smooth_l1_loss: F.smoothL1Loss,
  binary_cross_entropy: F.binaryCrossEntropy,
  binary_cross_entropy_with_logits: F.binaryCrossEntropyWithLogits,
  cross_entropy: F.crossEntropy,
  nll_loss: F.nllLoss,
};
const optionNames: Record<string, string> = {
  weight: 'weight',
  pos_weight: 'posWeight',
  ignore_index: 'ignoreIndex',
  label_smoothing: 'labelSmoothing',
  delta: 'delta',
  beta: 'beta',
};

function options(c: LossCase): Record<string, unknown> {
  const o: Record<string, unknown> = { reduction: c.reduction };
  for (const [k, v] of Object.entries(c.kwargs)) o[optionNames[k]!] = typeof v === 'number' ? v : fromJson(v);
  return o;
}

describe('losses match PyTorch (float64, value and input gradient)', () => {
  // Each case twice: a plain backward, and one recorded with createGraph (the double-backward path).
  for (const c of fixture.cases) for (const createGraph of [false, true]) {
    it(`${c.name} (${c.reduction})${createGraph ? ' createGraph' : ''}`, () => {
      const x = fromJson(c.input, true);
      const loss = fns[c.fn]!(x, fromJson(c.target), options(c));
      expectClose(loss, c.output, `${c.name} value`);
      for (const v of loss.tolist()) expect(Number.isFinite(v)).toBe(true);
      loss.backward(fromJson(c.upstream), { createGraph });
      expectClose(x.grad, c.inputGrad, `${c.name} gradient`);
    });
  }
});

describe('loss modules wrap the functions', () => {
  const pick = (name: string, reduction: string) => fixture.cases.find((c) => c.name === name && c.reduction === reduction)!;
  const modules: [string, (o: Record<string, unknown>) => nn.AnyModule][] = [
    ['mse', (o) => new nn.MSELoss(o)],
    ['l1', (o) => new nn.L1Loss(o)],
    ['huberDelta', (o) => new nn.HuberLoss(o)],
    ['smoothL1Beta', (o) => new nn.SmoothL1Loss(o)],
    ['bceWeight', (o) => new nn.BCELoss(o)],
    ['bceLogitsWeight', (o) => new nn.BCEWithLogitsLoss(o)],
    ['ceSmoothingWeightIgnore', (o) => new nn.CrossEntropyLoss(o)],
    ['nllWeightIgnore', (o) => new nn.NLLLoss(o)],
  ];
  for (const [name, build] of modules) {
    it(name, () => {
      const c = pick(name, 'mean');
      const m = build(options(c));
      expectClose(m.call(fromJson(c.input), fromJson(c.target)) as Tensor, c.output, `${name} module value`);
    });
  }
});
