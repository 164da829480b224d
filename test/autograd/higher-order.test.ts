import { describe, expect, it } from 'vitest';
import { autogradGrad, enableGrad, gradcheck, manualSeed, randn, type Tensor } from '../../src/index.js';

/**
 * Each rule has one backward body of tracked calls (the speed-critical formulas are primitives:
 * tanhGrad, reluGrad, ...); with createGraph those calls are recorded. Differentiating the
 * gradient (gradgradcheck) checks the recorded path against finite differences, op by op.
 */
const gradOf = (f: (...xs: Tensor[]) => Tensor) => (...xs: Tensor[]) =>
  enableGrad(() => autogradGrad(f(...xs).mul(f(...xs)).sum(), xs, { createGraph: true }) as Tensor[]);

describe('second derivatives through the composed backward rules', () => {
  manualSeed(11);
  const x = () => randn([3, 4], { dtype: 'float64', requiresGrad: true }).mul(1.5).detach().requiresGrad_(true);
  const w = () => randn([4, 2], { dtype: 'float64', requiresGrad: true });
  const bias = () => randn([4], { dtype: 'float64', requiresGrad: true });
  const cases: [string, (...xs: Tensor[]) => Tensor, () => Tensor[]][] = [
    ['sigmoid', (a) => a.sigmoid(), () => [x()]],
    ['tanh', (a) => a.tanh(), () => [x()]],
    ['relu (away from 0)', (a) => a.relu().mul(a), () => [x()]],
    ['sum over a dim', (a) => a.sum(1).exp(), () => [x()]],
    ['matmul', (a, b) => a.matmul(b).sin(), () => [x(), w()]],
    ['broadcast add', (a, b) => a.add(b).square(), () => [x(), bias()]],
  ];
  for (const [name, f, inputs] of cases) {
    it(name, () => {
      const r = gradcheck(gradOf(f), inputs(), { atol: 1e-6, rtol: 1e-5 });
      expect(r.ok).toBe(true);
    });
  }
});
