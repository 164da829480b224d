import { describe, expect, it } from 'vitest';
import { tensor, type Tensor } from '../../src/index.js';
import { clipGradNorm_, clipGradValue_ } from '../../src/nn/clip.js';
import { expectClose, fixture } from './helpers.js';

const f64 = { dtype: 'float64' } as const;

function withGrads(grads: number[][], shapes: number[][]): Tensor[] {
  return grads.map((g, i) => {
    const p = tensor(new Float64Array(g.length), { shape: shapes[i], requiresGrad: true });
    p.grad = tensor(new Float64Array(g), { shape: shapes[i] });
    return p;
  });
}

describe('clipGradNorm_ matches PyTorch 1.13', () => {
  for (const c of fixture.clipGradNorm) {
    it(`normType ${c.normType}, maxNorm ${c.maxNorm}${c.totalNorm > c.maxNorm ? ' (clips)' : ' (leaves the grads)'}`, () => {
      const params = withGrads(c.grads, c.shapes);
      const total = clipGradNorm_(params, c.maxNorm, c.normType);
      expect(total.shape).toEqual([]);
      expect(total.dtype).toBe('float64');
      expectClose([total.item()], [c.totalNorm], 1e-12, 'total norm');
      params.forEach((p, i) => expectClose(p.grad!.typedData, c.clipped[i]!, 1e-12, `grad ${i}`));
    });
  }

  it('accepts Infinity for the inf norm and a single tensor', () => {
    const p = tensor([3, -4], { ...f64, requiresGrad: true });
    p.grad = tensor([3, -4], f64);
    expect(clipGradNorm_(p, 10, Infinity).item()).toBe(4);
    expect(p.grad.tolist()).toEqual([3, -4]);
    expect(clipGradNorm_([p], 2.5).item()).toBe(5);
    expectClose(p.grad.typedData, [3 * (2.5 / (5 + 1e-6)), -4 * (2.5 / (5 + 1e-6))], 1e-15);
  });

  it('returns a 0-d zero tensor when no parameter has a gradient, and skips grad-less ones', () => {
    const a = tensor([1, 2], { ...f64, requiresGrad: true });
    expect(clipGradNorm_([a], 1).item()).toBe(0);
    const b = tensor([1], { ...f64, requiresGrad: true });
    b.grad = tensor([-7], f64);
    expect(clipGradNorm_([a, b], 1, 1).item()).toBe(7);
    expect(a.grad).toBeNull();
  });

  it('errorIfNonfinite throws on NaN / Infinity norms; otherwise scales by them as PyTorch', () => {
    const p = tensor([1, NaN], { ...f64, requiresGrad: true });
    p.grad = tensor([1, NaN], f64);
    expect(() => clipGradNorm_(p, 1, 2, { errorIfNonfinite: true })).toThrow(/non-finite|NaN/);
    expect(p.grad.typedData[0]).toBe(1);
    expect(Number.isNaN(clipGradNorm_(p, 1).item())).toBe(true);
    expect(Number.isNaN(p.grad.typedData[0]!)).toBe(true);
    const q = tensor([1, Infinity], { ...f64, requiresGrad: true });
    q.grad = tensor([1, Infinity], f64);
    expect(() => clipGradNorm_(q, 1, 'inf', { errorIfNonfinite: true })).toThrow('is Infinity');
    // The inf norm is NaN wherever a NaN occurs, also before a larger number (torch.linalg.vector_norm).
    const r = tensor([1, NaN, 2], { ...f64, requiresGrad: true });
    r.grad = tensor([1, NaN, 2], f64);
    expect(Number.isNaN(clipGradNorm_(r, 10, 'inf').item())).toBe(true);
  });

  it('float32 gradients give a float32 total', () => {
    const p = tensor([3, 4], { requiresGrad: true });
    p.grad = tensor([3, 4]);
    const total = clipGradNorm_(p, 1);
    expect(total.dtype).toBe('float32');
    expect(total.item()).toBe(5);
    expectClose(p.grad.typedData, [0.6, 0.8], 1e-6);
  });

  it('rejects a non-positive normType', () => {
    const p = tensor([1], { requiresGrad: true });
    expect(() => clipGradNorm_(p, 1, 0)).toThrow('clipGradNorm_: invalid normType 0');
  });
});

describe('clipGradValue_ matches PyTorch 1.13', () => {
  for (const c of fixture.clipGradValue) {
    it(`clipValue ${c.clipValue}`, () => {
      const p = tensor(new Float64Array(c.grad.length), { requiresGrad: true });
      p.grad = tensor(new Float64Array(c.grad));
      clipGradValue_([p], c.clipValue);
      expect(p.grad.tolist()).toEqual(c.clipped);
    });
  }

  it('rejects a negative clipValue', () => {
    const p = tensor([1], { requiresGrad: true });
    expect(() => clipGradValue_(p, -1)).toThrow('clipGradValue_: invalid clipValue -1');
  });
});
