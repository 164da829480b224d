/**
 * explain(model, x, y): one step of backpropagation on the user's own model, every number of
 * the seeds' four equations computed explicitly (explain-math.ts) and then checked against
 * chainrule's autograd on the real model. A disagreement is an error: the printout is only
 * worth reading if it is what the library actually does.
 */
import { autogradGrad } from '../autograd/functional.js';
import { noGrad } from '../autograd/grad-mode.js';
import { ChainruleError, ShapeError, ValueError, fmtShape } from '../errors.js';
import type { AnyModule } from '../nn/module.js';
import { linear } from '../nn/functional/basic.js';
import { binaryCrossEntropy, crossEntropy, mseLoss } from '../nn/functional/loss.js';
import { leakyRelu } from '../ops/functional.js';
import { tensor } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { linearBlocks, watchForward, type LinearBlock } from './layers.js';
import {
  traceBackprop, type ActivationKind, type ExplainLossKind, type LayerSpec, type LayerTrace, type Matrix, type OutputError,
} from './explain-math.js';

export type { ActivationKind, ExplainLossKind } from './explain-math.js';

export interface ExplainOptions {
  /** 'half-mse' (the seeds' ½‖a − y‖², default), 'mse' (PyTorch's mean), 'bce' (sigmoid output) or 'ce' (softmax on the logits). */
  loss?: ExplainLossKind;
  /** Learning rate η of the SGD step shown at the end. Default 0.1. */
  lr?: number;
  /** How the batch is reduced: 'mean' (default, as PyTorch) or 'sum'. */
  reduction?: 'mean' | 'sum';
}

export interface ExplainLayer extends LayerTrace {
  path: string;
  weightName: string;
  biasName: string | null;
  inFeatures: number;
  outFeatures: number;
  activation: ActivationKind;
  negativeSlope: number;
  weight: Matrix;
  bias: number[];
}

export interface ExplainResult {
  sizes: number[];
  loss: { kind: ExplainLossKind; formula: string; reduction: 'mean' | 'sum'; value: number };
  lr: number;
  batchSize: number;
  /** cₙ in L = Σₙ cₙ ℓₙ: 1/N for a mean, 1 for a sum. */
  exampleWeight: number;
  input: Matrix;
  /** One row per example; one-hot rows for cross-entropy with class labels. */
  target: Matrix;
  output: Matrix;
  perExampleLoss: number[];
  layers: ExplainLayer[];
  bp1: OutputError;
  lossAfter: number;
  autograd: { agrees: boolean; dtype: string; maxAbsDiff: number; compared: number; what: string[] };
}

/** Thrown when the explicit equations and autograd disagree (a bug in one of them). */
export class ExplainMismatchError extends ChainruleError {}

export const LOSS_FORMULAS: Record<ExplainLossKind, string> = {
  'half-mse': 'ℓ = ½ Σₖ (aₖ − yₖ)²',
  mse: 'ℓ = (1/K) Σₖ (aₖ − yₖ)²',
  bce: 'ℓ = −(1/K) Σₖ [yₖ ln aₖ + (1 − yₖ) ln(1 − aₖ)],  a = σ(zᴸ)',
  ce: 'ℓ = −Σₖ yₖ ln aₖ,  a = softmax(zᴸ)',
};

export function toMatrix(t: Tensor): Matrix {
  const v = t.tolist();
  const cols = t.ndim === 0 ? 1 : t.shape[t.ndim - 1]!;
  const rows: Matrix = [];
  for (let i = 0; i < v.length; i += cols) rows.push(v.slice(i, i + cols));
  return rows;
}

function targetMatrix(y: Tensor, N: number, K: number, loss: ExplainLossKind): { matrix: Matrix; classIndices: boolean } {
  // Cross-entropy takes class labels (integers, one per example) or a probability row per example.
  const classIndices = loss === 'ce' && (y.dtype === 'int32' || K === 1 || y.numel() !== N * K);
  if (classIndices) {
    if (y.numel() !== N) throw new ShapeError(`explain: ${N} examples but ${y.numel()} class labels (shape ${fmtShape(y.shape)})`);
    return {
      classIndices: true,
      matrix: y.tolist().map((c) => {
        if (!Number.isInteger(c) || c < 0 || c >= K) throw new ValueError(`explain: class label ${c} is outside [0, ${K})`);
        return Array.from({ length: K }, (_, k) => (k === c ? 1 : 0));
      }),
    };
  }
  if (y.numel() !== N * K) {
    throw new ShapeError(`explain: the target has shape ${fmtShape(y.shape)} but the model gives ${N} × ${K} outputs`);
  }
  return { classIndices: false, matrix: toMatrix(y.reshape([N, K])) };
}

/** One step of backpropagation with every intermediate number, checked against autograd. */
export function explain(model: AnyModule, x: Tensor, y: Tensor, options: ExplainOptions = {}): ExplainResult {
  const loss = options.loss ?? 'half-mse';
  const lr = options.lr ?? 0.1;
  const reduction = options.reduction ?? 'mean';
  if (!(lr >= 0)) throw new ValueError(`explain: lr must be a non-negative number, got ${lr}`);
  const blocks = linearBlocks(model, 'explain', true);
  const last = blocks[blocks.length - 1]!;
  if (loss === 'bce' && last.activation !== 'sigmoid') {
    throw new ValueError(`explain: loss 'bce' needs a Sigmoid after the last Linear ("${last.path}"), found ${last.activation}`);
  }
  if (loss === 'ce' && last.activation !== 'identity') {
    throw new ValueError(`explain: loss 'ce' takes the logits: the last Linear ("${last.path}") must have no activation (softmax is part of the loss), found ${last.activation}`);
  }
  const inF = blocks[0]!.linear.inFeatures;
  const X = toMatrix(x.reshape([-1, inF]));
  const N = X.length;
  const K = last.linear.outFeatures;
  const { matrix: Y, classIndices } = targetMatrix(y, N, K, loss);
  const specs: LayerSpec[] = blocks.map((b) => ({
    path: b.path,
    weight: toMatrix(b.linear.weight),
    bias: b.linear.bias ? b.linear.bias.tolist() : new Array<number>(b.linear.outFeatures).fill(0),
    hasBias: b.linear.bias !== null,
    activation: b.activation,
    negativeSlope: b.negativeSlope,
  }));
  const trace = traceBackprop(specs, X, Y, loss, lr, reduction);
  const layers: ExplainLayer[] = trace.layers.map((t, i) => {
    const b = blocks[i]!;
    const prefix = b.path === 'model' ? '' : `${b.path}.`;
    return {
      ...t, path: b.path, weightName: `${prefix}weight`, biasName: b.linear.bias ? `${prefix}bias` : null,
      inFeatures: b.linear.inFeatures, outFeatures: b.linear.outFeatures, activation: b.activation, negativeSlope: b.negativeSlope,
      weight: specs[i]!.weight, bias: specs[i]!.bias,
    };
  });
  const result: ExplainResult = {
    sizes: [inF, ...blocks.map((b) => b.linear.outFeatures)],
    loss: { kind: loss, formula: LOSS_FORMULAS[loss], reduction, value: trace.loss },
    lr, batchSize: N, exampleWeight: trace.weight,
    input: X, target: Y, output: trace.output, perExampleLoss: trace.perExampleLoss,
    layers, bp1: trace.bp1, lossAfter: trace.lossAfter,
    autograd: { agrees: false, dtype: blocks[0]!.linear.weight.dtype, maxAbsDiff: 0, compared: 0, what: [] },
  };
  checkWithAutograd(model, blocks, x, y, result, classIndices);
  return result;
}

function lossTensor(kind: ExplainLossKind, out: Tensor, target: Tensor, reduction: 'mean' | 'sum', N: number): Tensor {
  switch (kind) {
    case 'half-mse':
      return mseLoss(out, target, { reduction: 'sum' }).mul(reduction === 'mean' ? 0.5 / N : 0.5);
    case 'mse':
      return mseLoss(out, target, { reduction });
    case 'bce':
      return binaryCrossEntropy(out, target, { reduction });
    case 'ce':
      return crossEntropy(out, target, { reduction });
  }
}

function applyActivation(kind: ActivationKind, z: Tensor, slope: number): Tensor {
  switch (kind) {
    case 'sigmoid':
      return z.sigmoid();
    case 'tanh':
      return z.tanh();
    case 'relu':
      return z.relu();
    case 'leakyRelu':
      return leakyRelu(z, slope);
    case 'identity':
      return z;
  }
}

/** Runs the real model under autograd and compares every number explain() reports. */
function checkWithAutograd(model: AnyModule, blocks: LinearBlock[], x: Tensor, y: Tensor, r: ExplainResult, classIndices: boolean): void {
  const dtype = blocks[0]!.linear.weight.dtype;
  const N = r.batchSize;
  const K = r.sizes[r.sizes.length - 1]!;
  const xs = x.detach().to(dtype).reshape([N, r.sizes[0]!]);
  const target = classIndices ? tensor(r.target.map((row) => row.indexOf(1)), { dtype: 'int32' }) : tensor(r.target, { dtype });
  const zs: Tensor[] = [];
  const as: Tensor[] = [];
  const unwatch = blocks.flatMap((b) => [
    watchForward(b.linear, (out) => void zs.push(out)),
    ...(b.activationModule ? [watchForward(b.activationModule, (out) => void as.push(out))] : []),
  ]);
  let out: Tensor;
  try {
    out = model.call(xs) as Tensor;
  } finally {
    for (const u of unwatch) u();
  }
  if (zs.length !== blocks.length) {
    throw new ExplainMismatchError(`explain: the model's forward ran ${zs.length} Linear layers, expected ${blocks.length}; explain needs a Sequential-like model`);
  }
  const L = lossTensor(r.loss.kind, out.reshape([N, K]), target, r.loss.reduction, N);
  const params = blocks.flatMap((b) => (b.linear.bias ? [b.linear.weight, b.linear.bias] : [b.linear.weight]));
  const grads = autogradGrad(L, [...zs, ...params], { allowUnused: true });

  const rtol = dtype === 'float64' ? 1e-9 : 1e-3;
  let maxAbs = 0;
  let compared = 0;
  const compare = (what: string, mine: number[], theirs: number[]): void => {
    const scale = Math.max(1e-30, ...theirs.map(Math.abs));
    mine.forEach((m, i) => {
      const t = theirs[i]!;
      const d = Math.abs(m - t);
      compared++;
      if (!(d <= rtol * (Math.abs(t) + scale * 0.1) + 1e-300) && !(m === t)) {
        throw new ExplainMismatchError(`explain: ${what}[${i}] is ${m} by the equations but ${t} by autograd (${dtype}); this is a bug, please report it`);
      }
      maxAbs = Math.max(maxAbs, d);
    });
  };
  compare('loss', [r.loss.value], [L.item()]);
  let g = zs.length;
  r.layers.forEach((layer, i) => {
    const l = layer.index;
    compare(`z${l}`, layer.z.flat(), zs[i]!.tolist());
    const a = blocks[i]!.activationModule ? as.shift()! : zs[i]!;
    compare(`a${l}`, layer.a.flat(), a.tolist());
    const dz = grads[i];
    compare(`δ${l} (∂L/∂z${l} = c·δ)`, layer.delta.flat().map((d) => d * r.exampleWeight), dz ? dz.tolist() : layer.delta.flat().map(() => 0));
    const gw = grads[g++];
    compare(`∂L/∂W${l}`, layer.gradW.flat(), gw ? gw.tolist() : layer.gradW.flat().map(() => 0));
    if (blocks[i]!.linear.bias) {
      const gb = grads[g++];
      compare(`∂L/∂b${l}`, layer.gradB, gb ? gb.tolist() : layer.gradB.map(() => 0));
    }
  });
  // The loss after the step, from the library's own ops on the updated weights.
  const after = noGrad(() => {
    let h = xs;
    r.layers.forEach((layer) => {
      const W = tensor(layer.newW, { dtype });
      const bias = blocks[layer.index - 1]!.linear.bias ? tensor(layer.newB, { dtype }) : null;
      h = applyActivation(layer.activation, linear(h, W, bias), layer.negativeSlope);
    });
    return lossTensor(r.loss.kind, h, target, r.loss.reduction, N).item();
  });
  compare('loss after the step', [r.lossAfter], [after]);
  r.autograd = { agrees: true, dtype, maxAbsDiff: maxAbs, compared, what: ['loss', 'z', 'a', 'δ', '∂L/∂W', '∂L/∂b', 'loss after the step'] };
}
