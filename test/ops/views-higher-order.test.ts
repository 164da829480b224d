import { describe, expect, it } from 'vitest';
import { autogradGrad, enableGrad, gradcheck, manualSeed, randn, type Tensor } from '../../src/index.js';

// A rule that saves its inputs gets a strided view's contiguous copy (apply()); with createGraph
// that copy must be part of the graph, or a double backward through the saved value loses the
// path to the view's inputs (x.t().mul(y): d/dy = x.t() did not require grad at all).
describe('higher-order gradients through saved strided views', () => {
  manualSeed(3);
  const cases: [string, (x: Tensor, y: Tensor) => Tensor][] = [
    ['mul of a transposed view', (x, y) => x.t().mul(y).sum().square()],
    ['sigmoid of a narrowed view', (x, y) => x.narrow(0, 1, 2).sigmoid().mul(y.narrow(1, 0, 2).t()).sum().square()],
    ['pow of an expanded view', (x, y) => x.narrow(1, 0, 1).expand([3, 3]).pow(3).mul(y.narrow(0, 0, 1).expand([3, 3])).sum()],
    ['div by a permuted view', (x, y) => y.t().div(x.add(3)).sum().square()],
  ];
  for (const [name, f] of cases) {
    it(`${name}: same as through a tracked contiguous copy, and gradcheck of the gradient`, () => {
      const x = randn([3, 2], { dtype: 'float64' }).requiresGrad_();
      const y = randn([2, 3], { dtype: 'float64' }).requiresGrad_();
      const second = (a: Tensor, b: Tensor) =>
        enableGrad(() => {
          const [ga, gb] = autogradGrad(f(a, b), [a, b], { createGraph: true }) as Tensor[];
          return ga!.square().sum().add(gb!.square().sum());
        });
      const viaViews = autogradGrad(second(x, y), [x, y]) as Tensor[];
      expect(viaViews.every((g) => g !== null)).toBe(true);
      expect(gradcheck(second, [x, y]).ok).toBe(true);
    });
  }
});
