import { describe, expect, it } from 'vitest';
import { noGrad, tensor, type Tensor } from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import { expectClose, fromJson, loadFixture, type TJson } from './helpers.js';

// State dicts written by PyTorch 1.13 (test/fixtures/gen_state_dicts.py) load strictly, by
// PyTorch's own key names, into the same architectures built in chainrule, and give PyTorch's
// eval-mode outputs.

interface Case {
  name: string;
  arch: string[];
  stateDict: Record<string, TJson>;
  input: TJson;
  output: TJson;
}

const fixture = loadFixture<{ cases: Case[] }>('state_dicts.json');
const dtype = 'float64' as const;

class EmbedNet extends nn.Module<[Tensor]> {
  emb = new nn.Embedding(10, 4, { dtype });
  norm = new nn.LayerNorm(4, { dtype });
  head = new nn.Linear(4, 3, { dtype });
  override forward(idx: Tensor): Tensor {
    return this.head.call(this.norm.call(this.emb.call(idx)));
  }
}

function build(c: Case): nn.AnyModule {
  switch (c.name) {
    case 'mlp-bn1d-layernorm':
      return new nn.Sequential(
        new nn.Linear(5, 8, { dtype }), new nn.BatchNorm1d(8, { dtype }), new nn.ReLU(), new nn.Linear(8, 6, { dtype }),
        new nn.LayerNorm(6, { dtype }), new nn.Tanh(), new nn.Linear(6, 3, { dtype }),
      );
    case 'cnn-bn2d':
      return new nn.Sequential(
        new nn.Conv2d(2, 4, 3, { padding: 1, dtype }), new nn.BatchNorm2d(4, { dtype }), new nn.ReLU(), new nn.MaxPool2d(2),
        new nn.Conv2d(4, 3, 3, { stride: 2, padding: 1, bias: false, dtype }), new nn.BatchNorm2d(3, { dtype }), new nn.GELU(),
        new nn.AvgPool2d(2), new nn.Flatten(), new nn.Linear(3, 2, { dtype }),
      );
    case 'embedding-layernorm':
      return new EmbedNet();
    default:
      throw new Error(`no builder for ${c.name}`);
  }
}

describe("PyTorch's state-dict names", () => {
  for (const c of fixture.cases) {
    it(`${c.name}: PyTorch's state dict loads strictly and gives PyTorch's output`, () => {
      const model = build(c);
      // The same keys, in PyTorch's order.
      expect(Object.keys(model.stateDict())).toEqual(Object.keys(c.stateDict));
      const sd = Object.fromEntries(Object.entries(c.stateDict).map(([k, v]) => [k, fromJson(v)]));
      const result = model.loadStateDict(sd);
      expect(result).toEqual({ missingKeys: [], unexpectedKeys: [] });
      model.eval();
      const y = noGrad(() => model.call(fromJson(c.input)) as Tensor);
      expectClose(y, c.output, c.name, 1e-10);
    });
  }

  it('BatchNorm buffers: PyTorch names in the state dict, camelCase accessors for the same tensors', () => {
    const bn = new nn.BatchNorm1d(3);
    expect(Object.keys(bn.stateDict())).toEqual(['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
    expect(bn.runningMean).toBe(bn.running_mean);
    expect(bn.numBatchesTracked).toBe(bn.num_batches_tracked);
    const replacement = tensor([1, 2, 3]);
    bn.runningMean = replacement;
    expect(bn.running_mean).toBe(replacement);
    expect(bn.stateDict().running_mean!.tolist()).toEqual([1, 2, 3]);
  });

  it('a state dict saved with the old camelCase BatchNorm keys still loads', () => {
    const src = new nn.Sequential(new nn.Linear(2, 3), new nn.BatchNorm1d(3));
    noGrad(() => (src.at(1) as nn.BatchNorm1d).running_mean!.copy_(tensor([0.5, -1, 2])));
    const old: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(src.stateDict())) {
      old[k.replace('running_mean', 'runningMean').replace('running_var', 'runningVar').replace('num_batches_tracked', 'numBatchesTracked')] = v;
    }
    expect(Object.keys(old)).toContain('1.runningMean');
    const dst = new nn.Sequential(new nn.Linear(2, 3), new nn.BatchNorm1d(3));
    expect(dst.loadStateDict(old)).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect((dst.at(1) as nn.BatchNorm1d).runningMean!.tolist()).toEqual([0.5, -1, 2]);
  });
});
