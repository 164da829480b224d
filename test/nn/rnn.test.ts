import { describe, expect, it } from 'vitest';
import { ShapeError, ValueError, gradcheck, manualSeed, randn, type Tensor } from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import { expectClose, fromJson, loadFixture, type TJson } from './helpers.js';

// RNN / LSTM / GRU and the cells against PyTorch 1.13 in float64 (test/fixtures/gen_rnn.py):
// PyTorch's state dict loaded strictly by name, then outputs, final states and the gradients of
// the input, the initial state and every parameter.

interface Case {
  name: string;
  kind: 'RNN' | 'LSTM' | 'GRU' | 'RNNCell' | 'LSTMCell' | 'GRUCell';
  inputSize: number;
  hiddenSize: number;
  options: { numLayers?: number; bias: boolean; batchFirst?: boolean; bidirectional?: boolean; nonlinearity: 'tanh' | 'relu' };
  stateDict: Record<string, TJson>;
  input: TJson;
  h0: TJson | null;
  c0: TJson | null;
  output?: TJson;
  h: TJson;
  c: TJson | null;
  R?: TJson;
  S: TJson;
  T: TJson | null;
  inputGrad: TJson;
  h0Grad: TJson | null;
  c0Grad: TJson | null;
  paramGrads: Record<string, TJson>;
}

const fixture = loadFixture<{ cases: Case[] }>('nn_rnn.json');
const dtype = 'float64' as const;

function build(c: Case): nn.AnyModule {
  const o = { ...c.options, dtype };
  // The fixture lists nonlinearity for every case; only RNN and RNNCell have it (others refuse it as an unknown option).
  const { nonlinearity: _n, ...g } = o;
  switch (c.kind) {
    case 'RNN': return new nn.RNN(c.inputSize, c.hiddenSize, o);
    case 'LSTM': return new nn.LSTM(c.inputSize, c.hiddenSize, g);
    case 'GRU': return new nn.GRU(c.inputSize, c.hiddenSize, g);
    case 'RNNCell': return new nn.RNNCell(c.inputSize, c.hiddenSize, o);
    case 'LSTMCell': return new nn.LSTMCell(c.inputSize, c.hiddenSize, g);
    case 'GRUCell': return new nn.GRUCell(c.inputSize, c.hiddenSize, g);
  }
}

describe('recurrent layers against PyTorch', () => {
  for (const c of fixture.cases) {
    it(`${c.name}: state dict by PyTorch's names, outputs, states and gradients`, () => {
      const m = build(c);
      expect(Object.keys(m.stateDict())).toEqual(Object.keys(c.stateDict));
      m.loadStateDict(Object.fromEntries(Object.entries(c.stateDict).map(([k, v]) => [k, fromJson(v)])));
      const x = fromJson(c.input, true);
      const h0 = c.h0 ? fromJson(c.h0, true) : null;
      const c0 = c.c0 ? fromJson(c.c0, true) : null;
      const lstm = c.kind === 'LSTM' || c.kind === 'LSTMCell';
      const state = lstm ? (h0 ? [h0, c0!] : null) : h0;
      let out: Tensor | null = null;
      let h: Tensor;
      let cN: Tensor | null = null;
      if (c.kind.endsWith('Cell')) {
        const r = m.call(x, state) as Tensor | [Tensor, Tensor];
        [h, cN] = Array.isArray(r) ? r : [r, null];
      } else {
        const r = m.call(x, state) as [Tensor, Tensor | [Tensor, Tensor]];
        out = r[0];
        [h, cN] = Array.isArray(r[1]) ? r[1] : [r[1], null];
      }
      if (out) expectClose(out, c.output!, `${c.name} output`);
      expectClose(h, c.h, `${c.name} h`);
      if (c.c) expectClose(cN, c.c, `${c.name} c`);
      let loss = h.mul(fromJson(c.S)).sum();
      if (out) loss = loss.add(out.mul(fromJson(c.R!)).sum());
      if (c.T) loss = loss.add(cN!.mul(fromJson(c.T)).sum());
      loss.backward();
      expectClose(x.grad, c.inputGrad, `${c.name} input grad`);
      if (h0) expectClose(h0.grad, c.h0Grad!, `${c.name} h0 grad`);
      if (c0) expectClose(c0.grad, c.c0Grad!, `${c.name} c0 grad`);
      for (const [name, p] of m.namedParameters()) expectClose(p.grad, c.paramGrads[name]!, `${c.name} ${name} grad`);
    });
  }
});

describe('recurrent layers', () => {
  it('initialise every parameter U(-1/sqrt(hidden), 1/sqrt(hidden)), in PyTorch\'s order and shapes', () => {
    manualSeed(3);
    const lstm = new nn.LSTM(3, 16, { numLayers: 2 });
    const names = lstm.namedParameters().map(([n, p]) => `${n}:${p.shape.join('x')}`);
    expect(names).toEqual([
      'weight_ih_l0:64x3', 'weight_hh_l0:64x16', 'bias_ih_l0:64', 'bias_hh_l0:64',
      'weight_ih_l1:64x16', 'weight_hh_l1:64x16', 'bias_ih_l1:64', 'bias_hh_l1:64',
    ]);
    const all = lstm.parameters().flatMap((p) => [...p.dataSync()]);
    expect(Math.max(...all)).toBeLessThanOrEqual(0.25);
    expect(Math.min(...all)).toBeGreaterThanOrEqual(-0.25);
    expect(Math.max(...all)).toBeGreaterThan(0.24); // spread over the whole range
  });

  it('dropout between layers acts in training only', () => {
    manualSeed(5);
    const gru = new nn.GRU(3, 8, { numLayers: 2, dropout: 0.5 });
    const x = randn([4, 2, 3]);
    gru.eval();
    const a = (gru(x) as [Tensor, Tensor])[0].toArray();
    expect((gru(x) as [Tensor, Tensor])[0].toArray()).toEqual(a);
    gru.train();
    expect((gru(x) as [Tensor, Tensor])[0].toArray()).not.toEqual(a);
  });

  it('gradcheck through a 2-layer bidirectional LSTM in float64', () => {
    manualSeed(11);
    const lstm = new nn.LSTM(2, 3, { numLayers: 2, bidirectional: true, dtype });
    const x = randn([3, 2, 2], { dtype }).requiresGrad_();
    const h0 = randn([4, 2, 3], { dtype }).requiresGrad_();
    const c0 = randn([4, 2, 3], { dtype }).requiresGrad_();
    const r = gradcheck((a: Tensor, b: Tensor, c: Tensor) => {
      const [out, [h, cn]] = lstm(a, [b, c]);
      return out.sum().add(h.mul(2).sum()).add(cn.sum());
    }, [x, h0, c0]);
    expect(r.ok).toBe(true);
  });

  it('clear errors: feature size, state shape, state arity, options', () => {
    const lstm = new nn.LSTM(3, 4);
    expect(() => lstm(randn([5, 2, 4]))).toThrow(ShapeError);
    expect(() => lstm(randn([5, 2, 4]))).toThrow('LSTM: input has 4 features (shape [5,2,4]) but inputSize is 3');
    expect(() => lstm(randn([5, 2, 3]), [randn([2, 2, 4]), randn([1, 2, 4])])).toThrow('LSTM: h0 must have shape [1,2,4], got [2,2,4]');
    expect(() => lstm(randn([5, 2, 3]), [randn([1, 2, 4])] as never)).toThrow(ValueError);
    expect(() => new nn.GRU(3, 4)(randn([5, 3, 2, 1]))).toThrow(/expected a 2-D \(unbatched\) or 3-D input/);
    expect(() => new nn.RNN(3, 0)).toThrow(/hiddenSize must be a positive integer/);
    expect(() => new nn.RNN(3, 4, { nonlinearity: 'sigmoid' as never })).toThrow(/nonlinearity must be 'tanh' or 'relu'/);
    expect(() => new nn.LSTMCell(3, 4)(randn([2, 5]))).toThrow(/expected input \[N, 3\]/);
  });
});
