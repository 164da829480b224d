import { describe, expect, it } from 'vitest';
import { Generator, ShapeError, ValueError, zeros, type Tensor } from '../../src/index.js';
import * as init from '../../src/nn/init.js';
import { loadFixture } from './helpers.js';

const fixture = loadFixture<{ init: { gains: Record<string, number>; fans: Record<string, [number, number]> } }>('nn_layers.json');

function stats(t: Tensor): { mean: number; std: number; maxAbs: number } {
  const v = t.tolist();
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1));
  return { mean, std, maxAbs: v.reduce((m, x) => Math.max(m, Math.abs(x)), 0) };
}

/** Sample std within 2% of the theoretical one (≈ 8 standard errors for 250k samples). */
const near = (a: number, b: number) => expect(Math.abs(a / b - 1)).toBeLessThan(0.02);

describe('nn.init', () => {
  it('calculateGain matches PyTorch', () => {
    const g = fixture.init.gains;
    expect(init.calculateGain('linear')).toBe(g.linear);
    expect(init.calculateGain('conv2d')).toBe(g.conv2d);
    expect(init.calculateGain('sigmoid')).toBe(g.sigmoid);
    expect(init.calculateGain('tanh')).toBeCloseTo(g.tanh!, 15);
    expect(init.calculateGain('relu')).toBeCloseTo(g.relu!, 15);
    expect(init.calculateGain('leaky_relu')).toBeCloseTo(g.leaky_relu!, 15);
    expect(init.calculateGain('leaky_relu', 0.2)).toBeCloseTo(g['leaky_relu_0.2']!, 15);
    expect(init.calculateGain('selu')).toBe(g.selu);
    expect(() => init.calculateGain('swish' as 'relu')).toThrow(ValueError);
  });

  it('fans match PyTorch, including a conv receptive field', () => {
    for (const [shape, [fanIn, fanOut]] of Object.entries(fixture.init.fans)) {
      expect(init.calculateFanInAndFanOut(zeros(JSON.parse(shape) as number[]))).toEqual({ fanIn, fanOut });
    }
    expect(() => init.calculateFanInAndFanOut(zeros([5]))).toThrow(ShapeError);
  });

  const big = () => zeros([500, 500], { dtype: 'float64', requiresGrad: true });

  it('xavierUniform_: U(−a, a), a = gain·√(6/(fanIn+fanOut))', () => {
    const t = init.xavierUniform_(big(), 2, new Generator(1));
    const a = 2 * Math.sqrt(6 / 1000);
    const s = stats(t);
    expect(s.maxAbs).toBeLessThanOrEqual(a);
    near(s.std, a / Math.sqrt(3));
    expect(t.requiresGrad && t.isLeaf && t.gradFn === null).toBe(true);
  });

  it('xavierNormal_: std = gain·√(2/(fanIn+fanOut))', () => {
    near(stats(init.xavierNormal_(big(), 1, new Generator(2))).std, Math.sqrt(2 / 1000));
  });

  it('kaimingUniform_: bound √3·gain/√fan, fanIn or fanOut', () => {
    const t = zeros([250, 1000], { dtype: 'float64' });
    init.kaimingUniform_(t, { nonlinearity: 'relu', generator: new Generator(3) });
    const bound = Math.sqrt(3) * Math.SQRT2 / Math.sqrt(1000);
    expect(stats(t).maxAbs).toBeLessThanOrEqual(bound);
    near(stats(t).std, bound / Math.sqrt(3));
    init.kaimingUniform_(t, { mode: 'fanOut', nonlinearity: 'relu', generator: new Generator(4) });
    near(stats(t).std, Math.SQRT2 / Math.sqrt(250));
    // a = √5 with leaky_relu (PyTorch's Linear default) gives U(−1/√fanIn, 1/√fanIn).
    init.kaimingUniform_(t, { a: Math.sqrt(5), generator: new Generator(5) });
    near(stats(t).maxAbs, 1 / Math.sqrt(1000));
  });

  it('kaimingNormal_ on a conv weight: std gain/√(inC·kh·kw)', () => {
    const t = zeros([64, 32, 5, 5], { dtype: 'float64' });
    init.kaimingNormal_(t, { nonlinearity: 'leaky_relu', a: 0.2, generator: new Generator(6) });
    near(stats(t).std, init.calculateGain('leaky_relu', 0.2) / Math.sqrt(32 * 25));
    expect(() => init.kaimingNormal_(t, { mode: 'fan_in' as 'fanIn' })).toThrow(/mode must be 'fanIn' or 'fanOut'/);
  });

  it('uniform_, normal_, constant_, zeros_, ones_ (seeded, outside the graph)', () => {
    const t = zeros([200, 200], { dtype: 'float64', requiresGrad: true });
    const s = stats(init.uniform_(t, -2, 4, new Generator(7)));
    expect(Math.abs(s.mean - 1)).toBeLessThan(0.05);
    near(s.std, 6 / Math.sqrt(12));
    const n = stats(init.normal_(t, 3, 0.5, new Generator(8)));
    expect(Math.abs(n.mean - 3)).toBeLessThan(0.01);
    near(n.std, 0.5);
    expect(init.normal_(zeros([3]), 0, 1, new Generator(9)).tolist()).toEqual(init.normal_(zeros([3]), 0, 1, new Generator(9)).tolist());
    expect(init.constant_(t, 0.25).tolist().every((v) => v === 0.25)).toBe(true);
    expect(init.ones_(t).tolist().every((v) => v === 1)).toBe(true);
    expect(init.zeros_(t).tolist().every((v) => v === 0)).toBe(true);
    expect(t.gradFn).toBeNull();
  });
});
