import { describe, expect, it } from 'vitest';
import { F, autogradGrad, enableGrad, gradcheck, tensor, type Tensor } from '../../src/index.js';

// binaryCrossEntropy at probabilities of exactly 0 and 1 (a saturated float32 sigmoid): PyTorch's
// gradient (p − y)/max(p(1 − p), 1e-12) is finite there; differentiating the clamped logs gave NaN
// (found in the playground: a circles run stopped at step 1282).
describe('binaryCrossEntropy at saturated probabilities', () => {
  it("finite loss and PyTorch's gradients at p = 0 and p = 1", () => {
    const p = tensor([0, 1, 1, 0, 0.25], { requiresGrad: true });
    const y = tensor([0, 1, 0, 1, 1]);
    const loss = F.binaryCrossEntropy(p, y, { reduction: 'sum' });
    // −(log 1) twice = 0, then the two clamped −100 terms, then −log 0.25
    expect(loss.item()).toBeCloseTo(200 - Math.log(0.25), 4);
    loss.backward();
    const g = p.grad!.toArray() as number[];
    expect(g.every(Number.isFinite)).toBe(true);
    // PyTorch 1.13: (p − y)/max(p(1 − p), 1e-12) → 0, 0, 1e12, −1e12, (0.25 − 1)/(0.1875)
    expect(g[0]).toBe(0);
    expect(g[1]).toBe(0);
    expect(g[2]! / 1e12).toBeCloseTo(1, 5);
    expect(g[3]! / -1e12).toBeCloseTo(1, 5);
    expect(g[4]).toBeCloseTo(-0.75 / 0.1875, 5);
  });

  it('gradcheck, first and second order, for input and target in float64', () => {
    const p = tensor([0.2, 0.7, 0.45], { dtype: 'float64', requiresGrad: true });
    const y = tensor([0.1, 0.9, 0.5], { dtype: 'float64', requiresGrad: true });
    const f = (a: Tensor, b: Tensor) => F.binaryCrossEntropy(a, b);
    expect(gradcheck(f, [p, y]).ok).toBe(true);
    // second order: the gradient with respect to p, differentiated again
    const g2 = (a: Tensor, b: Tensor) =>
      enableGrad(() => {
        const ins = [a, b].map((t) => (t.requiresGrad ? t : t.detach().requiresGrad_(true)));
        return autogradGrad(F.binaryCrossEntropy(ins[0]!, ins[1]!, { reduction: 'sum' }).square(), ins, { createGraph: true }) as Tensor[];
      });
    expect(gradcheck(g2, [p, y]).ok).toBe(true);
  });
});
