import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ValueError, tensor, type Tensor } from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import * as optim from '../../src/optim/index.js';

// optim.LBFGS against PyTorch 1.13 (test/fixtures/gen_lbfgs.py), float64: the parameters after
// every step(closure), the loss it returns and the function-evaluation and iteration counts,
// with and without the strong-Wolfe line search, on Rosenbrock and a small tanh regression.

interface Case {
  name: string;
  problem: 'rosenbrock' | 'regression';
  kwargs: Record<string, unknown>;
  init: { shape: number[]; data: number[] }[];
  after: number[][][];
  losses: number[];
  counts: [number, number][];
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/lbfgs.json', import.meta.url), 'utf8')) as { X: number[]; Y: number[]; cases: Case[] };
const camel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
const X = tensor(Float64Array.from(fixture.X), { shape: [12, 3] });
const Y = tensor(Float64Array.from(fixture.Y), { shape: [12, 1] });

function objective(problem: Case['problem'], p: Tensor[]): Tensor {
  if (problem === 'rosenbrock') {
    const x = p[0]!.select(0, 0);
    const y = p[0]!.select(0, 1);
    return x.neg().add(1).pow(2).add(y.sub(x.pow(2)).pow(2).mul(100));
  }
  const [w1, b1, w2, b2] = p as [Tensor, Tensor, Tensor, Tensor];
  return X.matmul(w1.t()).add(b1).tanh().matmul(w2.t()).add(b2).sub(Y).pow(2).mean();
}

function close(a: ArrayLike<number>, b: number[], what: string, tol: number): void {
  expect(a.length, what).toBe(b.length);
  for (let i = 0; i < b.length; i++) {
    if (!(Math.abs(a[i]! - b[i]!) <= tol * (1 + Math.abs(b[i]!)))) expect.fail(`${what}: element ${i} is ${a[i]}, PyTorch ${b[i]}`);
  }
}

describe('LBFGS against PyTorch', () => {
  for (const c of fixture.cases) {
    it(c.name, () => {
      const params = c.init.map((t) => new nn.Parameter(tensor(Float64Array.from(t.data), { shape: t.shape })));
      const opts = Object.fromEntries(Object.entries(c.kwargs).map(([k, v]) => [camel(k), v]));
      const opt = new optim.LBFGS(params, opts);
      const closure = () => {
        opt.zeroGrad();
        const l = objective(c.problem, params);
        l.backward();
        return l;
      };
      c.after.forEach((want, step) => {
        const loss = opt.step(closure) as Tensor;
        expect(Math.abs(loss.item() - c.losses[step]!), `${c.name} step ${step + 1} loss`).toBeLessThanOrEqual(1e-10 * (1 + Math.abs(c.losses[step]!)));
        params.forEach((p, i) => close(p.dataSync(), want[i]!, `${c.name} step ${step + 1} param ${i}`, 1e-10));
        expect([opt.counts.funcEvals, opt.counts.nIter], `${c.name} step ${step + 1} counts`).toEqual(c.counts[step]);
      });
    });
  }

  it('needs a closure, one group and valid options', () => {
    const p = new nn.Parameter(tensor([1, 2]));
    expect(() => new optim.LBFGS([p]).step()).toThrow(/LBFGS: step needs a closure/);
    expect(() => new optim.LBFGS([p], { lineSearchFn: 'wolfe' as never })).toThrow(ValueError);
    expect(() => new optim.LBFGS([p], { historySize: 0 })).toThrow(/historySize must be a positive integer/);
    expect(() => new optim.LBFGS([{ params: [p] }, { params: [new nn.Parameter(tensor([1]))] }])).toThrow(/one parameter group/);
  });
});
