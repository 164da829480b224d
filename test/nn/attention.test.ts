import { describe, expect, it } from 'vitest';
import { F, ShapeError, ValueError, gradcheck, manualSeed, randn, tensor, type Tensor } from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import { expectClose, fromJson, loadFixture, type TJson } from './helpers.js';

// MultiheadAttention, scaledDotProductAttention and the Transformer layers against PyTorch 1.13
// in float64 (test/fixtures/gen_attention.py): PyTorch's state dicts loaded strictly by name,
// outputs (and attention weights) and the gradients of inputs and every parameter to 1e-10.

type BJson = TJson | { shape: number[]; dtype: 'bool'; data: boolean[] };
interface Case {
  name: string;
  kind: 'MultiheadAttention' | 'sdpa' | 'TransformerEncoderLayer' | 'TransformerDecoderLayer' | 'TransformerEncoder';
  args?: [number, number];
  options?: Record<string, unknown>;
  call?: { averageAttnWeights?: boolean; needWeights?: boolean; isCausal?: boolean; selfAttention?: boolean };
  stateDict: Record<string, TJson>;
  inputs: Record<string, BJson>;
  outputs: TJson[];
  R: TJson[];
  inputGrads: Record<string, TJson>;
  paramGrads: Record<string, TJson>;
}

const fixture = loadFixture<{ cases: Case[] }>('nn_attention.json');
const dtype = 'float64' as const;

function input(j: BJson, requiresGrad: boolean): Tensor {
  if (j.dtype === 'bool') return tensor(Uint8Array.from((j.data as boolean[]).map(Number)), { shape: j.shape, dtype: 'bool' });
  return fromJson(j as TJson, requiresGrad);
}

function build(c: Case): nn.AnyModule | null {
  const [a, b] = c.args ?? [0, 0];
  const o = { ...(c.options as object), dtype };
  switch (c.kind) {
    case 'MultiheadAttention': return new nn.MultiheadAttention(a, b, o);
    case 'TransformerEncoderLayer': return new nn.TransformerEncoderLayer(a, b, o);
    case 'TransformerDecoderLayer': return new nn.TransformerDecoderLayer(a, b, o);
    case 'TransformerEncoder': return new nn.TransformerEncoder(new nn.TransformerEncoderLayer(a, b, o), 2, { norm: new nn.LayerNorm(a, { dtype }) });
    case 'sdpa': return null;
  }
}

function run(c: Case, m: nn.AnyModule | null, x: Record<string, Tensor>): Tensor[] {
  const call = c.call ?? {};
  switch (c.kind) {
    case 'MultiheadAttention': {
      const q = x.query!;
      const [k, v] = call.selfAttention ? [q, q] : [x.key!, x.value!];
      const [out, w] = (m as nn.MultiheadAttention).call(q, k, v, {
        attnMask: x.attnMask, keyPaddingMask: x.keyPaddingMask, isCausal: call.isCausal,
        needWeights: call.needWeights ?? true, averageAttnWeights: call.averageAttnWeights ?? true,
      });
      return w === null ? [out] : [out, w];
    }
    case 'sdpa':
      return [F.scaledDotProductAttention(x.query!, x.key!, x.value!, { attnMask: x.attnMask, isCausal: call.isCausal })];
    case 'TransformerEncoderLayer':
    case 'TransformerEncoder':
      return [(m as nn.TransformerEncoderLayer).call(x.src!, { srcMask: x.srcMask, srcKeyPaddingMask: x.srcKeyPaddingMask })];
    case 'TransformerDecoderLayer':
      return [(m as nn.TransformerDecoderLayer).call(x.tgt!, x.memory!, { tgtMask: x.tgtMask, memoryKeyPaddingMask: x.memoryKeyPaddingMask })];
  }
}

describe('attention and Transformer layers against PyTorch', () => {
  for (const c of fixture.cases) {
    it(`${c.name}`, () => {
      const m = build(c);
      if (m) {
        expect(Object.keys(m.stateDict())).toEqual(Object.keys(c.stateDict));
        m.loadStateDict(Object.fromEntries(Object.entries(c.stateDict).map(([k, v]) => [k, fromJson(v)])));
      }
      const x = Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, input(v, k in c.inputGrads)]));
      const outs = run(c, m, x);
      expect(outs.length).toBe(c.outputs.length);
      outs.forEach((o, i) => expectClose(o, c.outputs[i]!, `${c.name} output ${i}`));
      outs.reduce((acc: Tensor | null, o, i) => (acc === null ? o.mul(fromJson(c.R[i]!)).sum() : acc.add(o.mul(fromJson(c.R[i]!)).sum())), null)!.backward();
      for (const [k, g] of Object.entries(c.inputGrads)) expectClose(x[k]!.grad, g, `${c.name} ${k} grad`);
      if (m) for (const [name, p] of m.namedParameters()) expectClose(p.grad, c.paramGrads[name]!, `${c.name} ${name} grad`);
    });
  }
});

describe('attention', () => {
  it('gradcheck of multi-head attention with masks, float64', () => {
    manualSeed(1);
    const mha = new nn.MultiheadAttention(4, 2, { dtype });
    const q = randn([3, 2, 4], { dtype }).requiresGrad_();
    const kv = randn([5, 2, 4], { dtype }).requiresGrad_();
    const pad = tensor(Uint8Array.of(0, 0, 0, 0, 1, 0, 1, 0, 0, 0), { shape: [2, 5], dtype: 'bool' });
    const r = gradcheck((a: Tensor, b: Tensor) => {
      const [out, w] = mha.call(a, b, b, { keyPaddingMask: pad });
      return out.sum().add(w!.mul(w!).sum());
    }, [q, kv]);
    expect(r.ok).toBe(true);
  });

  it('dropout on the weights in training only; PyTorch initialisation', () => {
    manualSeed(2);
    const mha = new nn.MultiheadAttention(8, 2, { dropout: 0.5 });
    expect(mha.in_proj_bias!.toArray()).toEqual(new Array(24).fill(0));
    expect(mha.out_proj.bias!.toArray()).toEqual(new Array(8).fill(0));
    const bound = Math.sqrt(6 / (8 + 24)); // Xavier-uniform of [24, 8]
    const w = [...mha.in_proj_weight.dataSync()];
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
    const x = randn([3, 1, 8]);
    mha.eval();
    const a = mha(x, x, x)[0].toArray();
    expect(mha(x, x, x)[0].toArray()).toEqual(a);
    mha.train();
    expect(mha(x, x, x)[0].toArray()).not.toEqual(a);
  });

  it('TransformerEncoder copies the layer: same starting weights, separate parameters', () => {
    const layer = new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16 });
    const enc = new nn.TransformerEncoder(layer, 3);
    expect(enc.parameters().length).toBe(3 * layer.parameters().length);
    const a = enc.layers.at(0) as nn.TransformerEncoderLayer;
    const b = enc.layers.at(2) as nn.TransformerEncoderLayer;
    expect(a.linear1.weight).not.toBe(b.linear1.weight);
    expect(a.linear1.weight.toArray()).toEqual(layer.linear1.weight.toArray());
    expect(b.linear1.weight.toArray()).toEqual(layer.linear1.weight.toArray());
  });

  it('clear errors: head dims, mask shapes, input sizes', () => {
    expect(() => new nn.MultiheadAttention(6, 4)).toThrow('MultiheadAttention: embedDim (6) must be divisible by numHeads (4)');
    const mha = new nn.MultiheadAttention(4, 2);
    const x = randn([3, 2, 4]);
    expect(() => mha(randn([3, 2, 5]), x, x)).toThrow(ShapeError);
    expect(() => mha(x, x, x, { attnMask: randn([3, 4]) })).toThrow('MultiheadAttention: attnMask must be [3, 3] or [4, 3, 3] (N·numHeads, L, S), got [3,4]');
    expect(() => mha(x, x, x, { keyPaddingMask: randn([3, 2]) })).toThrow(/keyPaddingMask must be \[2,3\]/);
    expect(() => mha(x, randn([5, 3, 4]), randn([5, 3, 4]))).toThrow(/same sequence length and batch/);
    expect(() => F.scaledDotProductAttention(randn([2, 3, 4]), randn([2, 5, 3]), randn([2, 5, 4]))).toThrow(/same last dim/);
    expect(() => F.scaledDotProductAttention(randn([3, 4]), randn([5, 4]), randn([5, 4]), { attnMask: randn([3, 4]) })).toThrow(/does not broadcast/);
    expect(() => new nn.TransformerEncoderLayer(8, 2, { activation: 'swish' as never })).toThrow(ValueError);
  });
});
