import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ValueError, tensor, type Tensor } from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import * as optim from '../../src/optim/index.js';

// Adadelta, Adamax, NAdam, RAdam and LambdaLR, OneCycleLR, CosineAnnealingWarmRestarts,
// SequentialLR against PyTorch 1.13 (test/fixtures/gen_optim_more.py), float64.

const fixture = JSON.parse(readFileSync(new URL('../fixtures/optim_more.json', import.meta.url), 'utf8'));
const camel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

function close(a: ArrayLike<number>, b: number[], what: string, tol = 1e-12): void {
  expect(a.length, what).toBe(b.length);
  for (let i = 0; i < b.length; i++) {
    if (!(Math.abs(a[i]! - b[i]!) <= tol * (1 + Math.abs(b[i]!)))) expect.fail(`${what}: element ${i} is ${a[i]}, PyTorch ${b[i]}`);
  }
}

describe('optimizers against PyTorch', () => {
  for (const c of fixture.optimizers) {
    it(c.name, () => {
      const params = c.init.map((t: { shape: number[]; data: number[] }) => new nn.Parameter(tensor(Float64Array.from(t.data), { shape: t.shape })));
      const opts = Object.fromEntries(Object.entries(c.kwargs).map(([k, v]) => [camel(k), v]));
      const Cls = (optim as unknown as Record<string, new (p: Tensor[], o: object) => optim.Optimizer>)[c.cls]!;
      const opt = new Cls(params, opts);
      c.grads.forEach((gs: number[][], step: number) => {
        params.forEach((p: Tensor, i: number) => (p.grad = tensor(Float64Array.from(gs[i]!), { shape: p.shape })));
        opt.step();
        params.forEach((p: Tensor, i: number) => close(p.dataSync(), c.after[step][i], `${c.name} step ${step + 1} param ${i}`));
      });
    });
  }
});

function makeOptimizer(c: { optimizer: string; optimizerKwargs: Record<string, number>; groups: number }): optim.Optimizer {
  const groups = Array.from({ length: c.groups }, () => ({ params: [new nn.Parameter(tensor([0]))] }));
  if (c.optimizer === 'Adam') return new optim.Adam(groups, { lr: c.optimizerKwargs.lr });
  return new optim.SGD(groups, { lr: c.optimizerKwargs.lr!, momentum: c.optimizerKwargs.momentum ?? 0 });
}

const builders: Record<string, (o: optim.Optimizer) => { step(): void }> = {
  lambda: (o) => new optim.LambdaLR(o, (e) => 0.95 ** e),
  'lambda-per-group': (o) => new optim.LambdaLR(o, [(e) => 1 / (e + 1), (e) => 0.5 * e + 1]),
  'onecycle-sgd-cos': (o) => new optim.OneCycleLR(o, 0.5, { totalSteps: 20 }),
  'onecycle-adam-linear-3phase': (o) =>
    new optim.OneCycleLR(o, [0.01], { epochs: 3, stepsPerEpoch: 5, pctStart: 0.25, annealStrategy: 'linear', threePhase: true, divFactor: 10, finalDivFactor: 100 }),
  'onecycle-nomomentum': (o) => new optim.OneCycleLR(o, 1, { totalSteps: 9, cycleMomentum: false }),
  'warm-restarts': (o) => new optim.CosineAnnealingWarmRestarts(o, 3, 2, 0.01),
  'warm-restarts-tmult1': (o) => new optim.CosineAnnealingWarmRestarts(o, 4),
  'sequential-linear-then-cosine': (o) => new optim.SequentialLR(o, [new optim.LinearLR(o, 0.1, 1, 3), new optim.CosineAnnealingLR(o, 6)], [3]),
  'sequential-three': (o) =>
    new optim.SequentialLR(o, [new optim.LinearLR(o, 0.5, 1, 2), new optim.ExponentialLR(o, 0.9), new optim.StepLR(o, 2, 0.5)], [2, 5]),
};

describe('schedulers against PyTorch', () => {
  for (const c of fixture.schedulers) {
    it(c.name, () => {
      const opt = makeOptimizer(c);
      const s = builders[c.name]!(opt);
      const groups = opt.paramGroups as unknown as Record<string, unknown>[];
      const momentum = () => groups.map((g) => ('betas' in g ? (g.betas as number[])[0]! : (g.momentum as number)));
      close(opt.paramGroups.map((g) => g.lr), c.lrs[0], `${c.name} lr at start`);
      if (c.momentum) close(momentum(), c.momentum[0], `${c.name} momentum at start`);
      for (let i = 1; i < c.lrs.length; i++) {
        opt.step();
        s.step();
        close(opt.paramGroups.map((g) => g.lr), c.lrs[i], `${c.name} lr after step ${i}`);
        if (c.momentum) close(momentum(), c.momentum[i], `${c.name} momentum after step ${i}`);
      }
    });
  }

  it('errors', () => {
    const opt = new optim.SGD([new nn.Parameter(tensor([0]))], { lr: 0.1 });
    expect(() => new optim.OneCycleLR(opt, 1, {})).toThrow(/give totalSteps, or epochs and stepsPerEpoch/);
    expect(() => new optim.OneCycleLR(new optim.Adagrad([new nn.Parameter(tensor([0]))]), 1, { totalSteps: 10 })).toThrow(/no momentum or betas/);
    const oc = new optim.OneCycleLR(opt, 1, { totalSteps: 2, cycleMomentum: false });
    oc.step();
    oc.step();
    expect(() => oc.step()).toThrow(/more than totalSteps 2/);
    expect(() => new optim.LambdaLR(opt, [(e) => e, (e) => e])).toThrow(/expected 1 lrLambda/);
    expect(() => new optim.CosineAnnealingWarmRestarts(opt, 0)).toThrow(ValueError);
    expect(() => new optim.RAdam([new nn.Parameter(tensor([0]))], { betas: [1, 0.9] })).toThrow(ValueError);
  });
});
