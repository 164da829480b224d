import { describe, expect, it } from 'vitest';
import { F, ShapeError, ValueError, randn, tensor, type Tensor } from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import { expectClose, fromJson, loadFixture, type TJson } from './helpers.js';

// GroupNorm, adaptiveAvgPool2d, interpolate, cosineSimilarity, normalize and the klDiv,
// cosineEmbedding, marginRanking and multiMargin losses against PyTorch 1.13 in float64
// (test/fixtures/gen_extra.py): values and the gradients of every float input.

interface Case {
  name: string;
  fn: string;
  kwargs: Record<string, unknown>;
  inputs: TJson[];
  output: TJson;
  R: TJson;
  grads: (TJson | null)[];
}

const fixture = loadFixture<{ cases: Case[] }>('nn_extra.json');

function call(c: Case, x: Tensor[]): Tensor {
  const k = c.kwargs as Record<string, never>;
  switch (c.fn) {
    case 'groupNorm': return F.groupNorm(x[0]!, k.numGroups, { weight: x[1] ?? null, bias: x[2] ?? null, eps: k.eps });
    case 'adaptiveAvgPool2d': return F.adaptiveAvgPool2d(x[0]!, k.outputSize);
    case 'interpolate': return F.interpolate(x[0]!, c.kwargs);
    case 'cosineSimilarity': return F.cosineSimilarity(x[0]!, x[1]!, c.kwargs);
    case 'normalize': return F.normalize(x[0]!, c.kwargs);
    case 'klDiv': return F.klDiv(x[0]!, x[1]!, c.kwargs);
    case 'cosineEmbeddingLoss': return F.cosineEmbeddingLoss(x[0]!, x[1]!, x[2]!, c.kwargs);
    case 'marginRankingLoss': return F.marginRankingLoss(x[0]!, x[1]!, x[2]!, c.kwargs);
    case 'multiMarginLoss': return F.multiMarginLoss(x[0]!, x[1]!, { ...c.kwargs, weight: x[2] ?? null });
    default: throw new Error(c.fn);
  }
}

describe('more of nn.functional against PyTorch', () => {
  for (const c of fixture.cases) {
    it(c.name, () => {
      const x = c.inputs.map((j, i) => fromJson(j, c.grads[i] !== null));
      const y = call(c, x);
      expectClose(y, c.output, `${c.name} output`);
      y.mul(fromJson(c.R)).sum().backward();
      c.grads.forEach((g, i) => g && expectClose(x[i]!.grad, g, `${c.name} grad ${i}`));
    });
  }
});

describe('containers and modules', () => {
  it('ModuleDict registers by name; ParameterList by index; parametersToVector round trip', () => {
    const d = new nn.ModuleDict({ enc: new nn.Linear(2, 3), dec: new nn.Linear(3, 2) });
    expect(d.keys()).toEqual(['enc', 'dec']);
    expect(d.get('enc')).toBeInstanceOf(nn.Linear);
    expect(Object.keys(d.stateDict())).toEqual(['enc.weight', 'enc.bias', 'dec.weight', 'dec.bias']);
    d.set('act', new nn.ReLU());
    expect(d.length).toBe(3);
    expect(d.delete('act') && !d.has('act')).toBe(true);
    expect(() => d.get('nope')).toThrow(/no module named "nope"/);
    expect(() => d.set('a.b', new nn.ReLU())).toThrow(ValueError);
    const pl = new nn.ParameterList([new nn.Parameter(randn([2])), new nn.Parameter(randn([3, 1]))]);
    expect(Object.keys(pl.stateDict())).toEqual(['0', '1']);
    expect([...pl].length).toBe(2);
    const v = nn.utils.parametersToVector(d.parameters());
    expect(v.shape).toEqual([2 * 3 + 3 + 3 * 2 + 2]);
    const before = d.parameters().map((p) => p.toArray());
    nn.utils.vectorToParameters(v.mul(2), d.parameters());
    expect(d.parameters()[0]!.toArray()).toEqual((before[0] as number[][]).map((r) => r.map((e) => e * 2)));
  });

  it('module forms and errors', () => {
    const gn = new nn.GroupNorm(2, 4);
    expect(gn(randn([3, 4, 5])).shape).toEqual([3, 4, 5]);
    expect(() => new nn.GroupNorm(3, 4)).toThrow(/divisible by numGroups 3/);
    expect(new nn.AdaptiveAvgPool2d([2, 3])(randn([1, 2, 5, 7])).shape).toEqual([1, 2, 2, 3]);
    expect(new nn.Upsample({ scaleFactor: 2, mode: 'nearest' })(randn([1, 1, 2, 3])).shape).toEqual([1, 1, 4, 6]);
    expect(() => F.interpolate(randn([1, 1, 2, 2]), { mode: 'nearest' })).toThrow(/exactly one of size and scaleFactor/);
    expect(new nn.CosineSimilarity({ dim: 1 })(randn([3, 4]), randn([3, 4])).shape).toEqual([3]);
    expect(() => F.multiMarginLoss(randn([3, 4]), tensor([0.5, 1, 2]))).toThrow(/int32 class indices/);
    expect(() => F.marginRankingLoss(randn([3]), randn([3]), randn([3]), { reduction: 'avg' as never })).toThrow(ValueError);
    expect(() => F.cosineEmbeddingLoss(randn([3, 4]), randn([3, 4]), randn([4]))).toThrow(ShapeError);
    expect(new nn.KLDivLoss({ reduction: 'batchmean' })(randn([2, 3]).logSoftmax(-1), randn([2, 3]).softmax(-1)).ndim).toBe(0);
  });
});
