import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { tensor, type Tensor } from '../../src/index.js';
import * as optim from '../../src/optim/index.js';

/** test/fixtures/optim.json, written by test/fixtures/gen_optim.py from PyTorch 1.13 (float64). */
export interface OptimizerCase {
  name: string;
  cls: 'SGD' | 'Adam' | 'AdamW' | 'RMSprop' | 'Adagrad';
  options: Record<string, unknown>;
  groups: ({ params: number[] } & Record<string, unknown>)[] | null;
  losses: number[];
  params: number[][];
}
export interface SchedulerCase {
  name: string;
  cls: string;
  options: Record<string, unknown>;
  lrs: number[][];
}
export interface Fixture {
  torch: string;
  steps: number;
  problem: { A1: number[][]; A2: number[][]; b: number[]; P1: number[]; P2: number[][] };
  optimizers: OptimizerCase[];
  epochs: number;
  plateauMetrics: number[];
  schedulers: SchedulerCase[];
  clipGradNorm: { maxNorm: number; normType: number | 'inf'; grads: number[][]; shapes: number[][]; totalNorm: number; clipped: number[][] }[];
  clipGradValue: { clipValue: number; grad: number[]; clipped: number[] }[];
}

export const fixture: Fixture = JSON.parse(readFileSync(new URL('../fixtures/optim.json', import.meta.url), 'utf8'));

const f64 = { dtype: 'float64' } as const;

/** The fixture's problem: P1 [3], P2 [2,2]; loss = Σ(A1 P1 + A2 vec(P2) − b)² + Σ sin P1 + Σ sin P2. */
export function makeProblem(): { params: [Tensor, Tensor]; loss: () => Tensor } {
  const { A1, A2, b, P1, P2 } = fixture.problem;
  const a1 = tensor(A1, f64);
  const a2 = tensor(A2, f64);
  const bb = tensor(b, f64);
  const p1 = tensor(P1, { ...f64, requiresGrad: true });
  const p2 = tensor(P2, { ...f64, requiresGrad: true });
  const loss = () => {
    const r = a1.matmul(p1).add(a2.matmul(p2.reshape([-1]))).sub(bb);
    return r.mul(r).sum().add(p1.sin().sum()).add(p2.sin().sum());
  };
  return { params: [p1, p2], loss };
}

export function makeOptimizer(c: Pick<OptimizerCase, 'cls' | 'options' | 'groups'>, params: Tensor[]): optim.Optimizer<optim.OptimizerOptions> {
  const input = c.groups === null ? params : c.groups.map(({ params: idx, ...o }) => ({ ...o, params: idx.map((i) => params[i]!) }));
  const Cls = optim[c.cls] as unknown as new (p: unknown, o: unknown) => optim.Optimizer<optim.OptimizerOptions>;
  return new Cls(input, c.options);
}

/** Run `steps` steps of zeroGrad / backward / step; returns the losses before each step. */
export function train(opt: optim.Optimizer<optim.OptimizerOptions>, loss: () => Tensor, steps: number): number[] {
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    opt.zeroGrad();
    const l = loss();
    l.backward();
    losses.push(l.item());
    opt.step();
  }
  return losses;
}

/** Elementwise |a − e| ≤ rtol·|e| + atol (atol defaults to rtol, for values near zero). */
export function expectClose(actual: ArrayLike<number>, expected: readonly number[], rtol: number, what = '', atol = rtol): void {
  expect(actual.length, what).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const err = Math.abs(a - e);
    if (!(err <= rtol * Math.abs(e) + atol)) {
      expect.fail(`${what}[${i}]: got ${a}, PyTorch ${e} (|diff| ${err.toExponential(2)} > ${rtol}·|e| + ${atol})`);
    }
  }
}
