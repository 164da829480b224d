import { describe, expect, it } from 'vitest';
import { ShapeError, ValueError, tensor, type Tensor } from '../../src/index.js';
import { GPT, type GptConfig } from '../../src/train/gpt-model.js';
import { expectClose, fromJson, loadFixture, type TJson } from './helpers.js';

// The char-level GPT against the same model written in PyTorch 1.13 (test/fixtures/gen_gpt.py),
// float64: PyTorch's state dict loaded strictly by its names, then the logits, the mean
// next-token cross-entropy and the gradient of every parameter to 1e-10.

interface Case {
  name: string;
  config: GptConfig;
  stateDict: Record<string, TJson>;
  idx: TJson;
  targets: TJson;
  logits: TJson;
  loss: number;
  grads: Record<string, TJson>;
}

const fixture = loadFixture<{ cases: Case[] }>('gpt.json');

function loaded(c: Case, dtype: 'float32' | 'float64'): GPT {
  const m = new GPT(c.config, { dtype });
  const sd = Object.fromEntries(Object.entries(c.stateDict).map(([k, v]) => [k, fromJson(v).to(dtype)]));
  m.loadStateDict(sd, { strict: true });
  return m;
}

describe('GPT against PyTorch', () => {
  for (const c of fixture.cases) {
    it(`${c.name}: logits, loss and every parameter's gradient (float64, 1e-10)`, () => {
      const m = loaded(c, 'float64');
      expect(Object.keys(m.stateDict()).sort()).toEqual(Object.keys(c.stateDict).sort());
      const logits = m.call(fromJson(c.idx));
      expectClose(logits, c.logits, 'logits');
      const loss = m.loss(logits, fromJson(c.targets));
      expect(Math.abs(loss.item() - c.loss)).toBeLessThanOrEqual(1e-10 * Math.abs(c.loss));
      loss.backward();
      for (const [name, p] of m.namedParameters()) expectClose(p.grad, c.grads[name]!, `grad of ${name}`);
    });
  }

  it('float32 gives the float64 reference to float32 precision', () => {
    const c = fixture.cases[0]!;
    const m = loaded(c, 'float32');
    const logits = m.call(fromJson(c.idx));
    expectClose(logits.to('float64'), c.logits, 'logits', 1e-5);
    const loss = m.loss(logits, fromJson(c.targets));
    expect(Math.abs(loss.item() - c.loss)).toBeLessThanOrEqual(1e-5 * Math.abs(c.loss));
  });
});

describe('GPT errors', () => {
  const cfg: GptConfig = { kind: 'gpt', vocabSize: 5, context: 4, layers: 1, heads: 2, embed: 4, dropout: 0 };
  it('refuses configs that cannot make a model, naming the field', () => {
    expect(() => new GPT({ ...cfg, embed: 6, heads: 4 })).toThrow(ValueError);
    expect(() => new GPT({ ...cfg, embed: 6, heads: 4 })).toThrow(/embed \(6\) must be a multiple of heads \(4\)/);
    expect(() => new GPT({ ...cfg, layers: 0 })).toThrow(/layers must be an integer in \[1, /);
    expect(() => new GPT({ ...cfg, dropout: 1 })).toThrow(/dropout must be in \[0, 1\)/);
  });
  it('refuses inputs longer than the context or not [batch, time]', () => {
    const m = new GPT(cfg);
    const idx = (shape: number[]): Tensor => tensor(new Int32Array(shape.reduce((a, b) => a * b, 1)), { shape });
    expect(() => m.call(idx([1, 5]))).toThrow(ShapeError);
    expect(() => m.call(idx([1, 5]))).toThrow(/5 tokens does not fit the context of 4/);
    expect(() => m.call(idx([4]))).toThrow(/expected token indices \[batch, time\], got shape \[4\]/);
    expect(m.call(idx([2, 4])).shape).toEqual([2, 4, 5]);
  });
  it('decays matrices only (nanoGPT\'s weight-decay groups)', () => {
    const m = new GPT(cfg);
    const { decay, noDecay } = m.decayGroups();
    expect(decay.every((p) => p.ndim === 2)).toBe(true);
    expect(noDecay.every((p) => p.ndim === 1)).toBe(true);
    expect(decay.length + noDecay.length).toBe(m.parameters().length);
  });
});
