import { describe, expect, it } from 'vitest';
import { ShapeError, ValueError, gradcheck, manualSeed, randn, type Tensor } from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import { expectClose, fromJson, loadFixture, type TJson } from './helpers.js';

// Conv1d, ConvTranspose1d, ConvTranspose2d against PyTorch 1.13 in float64
// (test/fixtures/gen_conv_transpose.py): state dicts by name, outputs, and input/weight/bias gradients.

interface Case {
  name: string;
  kind: 'ConvTranspose2d' | 'Conv1d' | 'ConvTranspose1d';
  args: [number, number, number | number[]];
  kwargs: Record<string, number | number[] | boolean>;
  stateDict: Record<string, TJson>;
  input: TJson;
  output: TJson;
  R: TJson;
  inputGrad: TJson;
  paramGrads: Record<string, TJson>;
}

const fixture = loadFixture<{ cases: Case[] }>('nn_conv_transpose.json');
const dtype = 'float64' as const;
const camel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

function build(c: Case): nn.AnyModule {
  const o = { ...Object.fromEntries(Object.entries(c.kwargs).map(([k, v]) => [camel(k), v])), dtype };
  const [a, b, k] = c.args;
  if (c.kind === 'ConvTranspose2d') return new nn.ConvTranspose2d(a, b, k as number | [number, number], o);
  if (c.kind === 'Conv1d') return new nn.Conv1d(a, b, k as number, o);
  return new nn.ConvTranspose1d(a, b, k as number, o);
}

describe('transposed and 1-D convolutions against PyTorch', () => {
  for (const c of fixture.cases) {
    it(c.name, () => {
      const m = build(c);
      expect(Object.keys(m.stateDict())).toEqual(Object.keys(c.stateDict));
      for (const [k, v] of Object.entries(c.stateDict)) expect(m.stateDict()[k]!.shape).toEqual(v.shape);
      m.loadStateDict(Object.fromEntries(Object.entries(c.stateDict).map(([k, v]) => [k, fromJson(v)])));
      const x = fromJson(c.input, true);
      const y = m.call(x) as Tensor;
      expectClose(y, c.output, `${c.name} output`);
      y.mul(fromJson(c.R)).sum().backward();
      expectClose(x.grad, c.inputGrad, `${c.name} input grad`);
      for (const [name, p] of m.namedParameters()) expectClose(p.grad, c.paramGrads[name]!, `${c.name} ${name} grad`);
    });
  }

  it('second-order gradcheck through ConvTranspose2d (groups, stride, output padding)', () => {
    manualSeed(4);
    const m = new nn.ConvTranspose2d(4, 2, 3, { stride: 2, padding: 1, outputPadding: 1, groups: 2, dtype });
    const x = randn([1, 4, 3, 3], { dtype }).requiresGrad_();
    expect(gradcheck((t: Tensor) => m.call(t).pow(2).sum(), [x]).ok).toBe(true);
  });

  it('clear errors', () => {
    expect(() => new nn.ConvTranspose2d(3, 4, 3, { groups: 2 })).toThrow(ValueError);
    expect(() => new nn.ConvTranspose2d(2, 2, 3, { stride: 2, outputPadding: 2 })(randn([1, 2, 4, 4]))).toThrow(/outputPadding 2,2 must be smaller than either the stride/);
    expect(() => new nn.ConvTranspose2d(3, 2, 3)(randn([1, 2, 4, 4]))).toThrow(ShapeError);
    expect(() => new nn.Conv1d(3, 2, 3)(randn([2, 4, 9]))).toThrow(ShapeError);
  });
});
