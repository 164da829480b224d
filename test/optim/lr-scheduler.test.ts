import { describe, expect, it } from 'vitest';
import { tensor, type Tensor } from '../../src/index.js';
import * as optim from '../../src/optim/index.js';
import { expectClose, fixture, type SchedulerCase } from './helpers.js';

/**
 * The same float operations in the same order as PyTorch's recursive forms, so the sequences
 * are equal to the bit, except through cos: V8's Math.cos (fdlibm) and glibc's cos, which Python
 * calls, differ in the last bit at some angles (cos(12π/10): −0.8090169943749475 against
 * −0.8090169943749476), and the recursion carries that on. Cosine schedules: 1e-12 relative.
 */
function expectSchedule(c: SchedulerCase, actual: number[][], expected: number[][], what = ''): void {
  if (c.cls === 'CosineAnnealingLR') expectClose(actual.flat(), expected.flat(), 1e-12, `${c.name} ${what}`, 0);
  else expect(actual, `${c.name} ${what}`).toEqual(expected);
}

// The optimizer the fixture's schedulers drive: SGD over two groups, lr 0.1 and 0.03.
function twoGroupSGD(): optim.SGD {
  const p = tensor([0, 0], { dtype: 'float64', requiresGrad: true });
  const q = tensor([0, 0], { dtype: 'float64', requiresGrad: true });
  return new optim.SGD([{ params: [p] }, { params: [q], lr: 0.03 }], { lr: 0.1, momentum: 0.9 });
}

type AnyScheduler = optim.LRScheduler | optim.ReduceLROnPlateau;

function makeScheduler(c: Pick<SchedulerCase, 'cls' | 'options'>, opt: optim.SGD): AnyScheduler {
  const o = c.options as Record<string, never>;
  switch (c.cls) {
    case 'StepLR': return new optim.StepLR(opt, o.stepSize, o.gamma);
    case 'MultiStepLR': return new optim.MultiStepLR(opt, o.milestones, o.gamma);
    case 'ExponentialLR': return new optim.ExponentialLR(opt, o.gamma);
    case 'CosineAnnealingLR': return new optim.CosineAnnealingLR(opt, o.tMax, o.etaMin);
    case 'LinearLR': return new optim.LinearLR(opt, o.startFactor, o.endFactor, o.totalIters);
    case 'ReduceLROnPlateau': return new optim.ReduceLROnPlateau(opt, o);
  }
  throw new Error(`unknown scheduler ${c.cls}`);
}

function stepOnce(s: AnyScheduler, epoch: number): void {
  if (s instanceof optim.ReduceLROnPlateau) s.step(fixture.plateauMetrics[epoch]!);
  else s.step();
}

describe('learning-rate schedulers match PyTorch 1.13 over 30 epochs (two groups)', () => {
  for (const c of fixture.schedulers) {
    it(`${c.name}: ${c.cls} ${JSON.stringify(c.options)}`, () => {
      const opt = twoGroupSGD();
      const sched = makeScheduler(c, opt);
      const lrs: number[][] = [];
      for (let epoch = 0; epoch < fixture.epochs; epoch++) {
        opt.step();
        stepOnce(sched, epoch);
        lrs.push(sched.getLastLr());
        expect(opt.paramGroups.map((g) => g.lr)).toEqual(lrs[epoch]);
      }
      expectSchedule(c, lrs, c.lrs);
    });
  }
});

describe('scheduler behaviour', () => {
  it('construction sets initialLr and applies epoch 0 (LinearLR starts at startFactor·lr)', () => {
    const opt = twoGroupSGD();
    const s = new optim.LinearLR(opt, 0.5, 1, 4);
    expect(opt.paramGroups.map((g) => g.initialLr)).toEqual([0.1, 0.03]);
    expect(s.getLastLr()).toEqual([0.05, 0.015]);
    expect(s.baseLrs).toEqual([0.1, 0.03]);
  });

  it('stateDict / loadStateDict resume a schedule (through JSON)', () => {
    for (const c of fixture.schedulers) {
      const opt = twoGroupSGD();
      const s = makeScheduler(c, opt);
      for (let e = 0; e < 12; e++) stepOnce(s, e);
      const saved = JSON.parse(JSON.stringify({ opt: opt.stateDict(), sched: s.stateDict() }));
      const opt2 = twoGroupSGD();
      const s2 = makeScheduler(c, opt2);
      opt2.loadStateDict(saved.opt);
      s2.loadStateDict(saved.sched);
      for (let e = 12; e < fixture.epochs; e++) {
        stepOnce(s2, e);
        expectSchedule(c, [s2.getLastLr()], [c.lrs[e]!], `epoch ${e}`);
      }
    }
  });

  it('ReduceLROnPlateau takes a 0-d tensor metric and restores best = Infinity from JSON null', () => {
    const opt = twoGroupSGD();
    const s = new optim.ReduceLROnPlateau(opt, { patience: 0 });
    const sd = JSON.parse(JSON.stringify(s.stateDict()));
    expect(sd.best).toBeNull();
    s.loadStateDict(sd);
    expect(s.best).toBe(Infinity);
    const metric: Tensor = tensor(1.5, { dtype: 'float64' });
    s.step(metric);
    expect(s.best).toBe(1.5);
    s.step(2);
    expect(s.getLastLr()[0]).toBeCloseTo(0.01, 15);
  });

  it('a scheduler changes the lr the optimizer uses', () => {
    const p = tensor([1], { dtype: 'float64', requiresGrad: true });
    const opt = new optim.SGD([p], { lr: 1 });
    const s = new optim.StepLR(opt, 1, 0.5);
    for (const expected of [1 - 1, 0 - 0.5, -0.5 - 0.25]) {
      p.grad = tensor([1], { dtype: 'float64' });
      opt.step();
      s.step();
      expect(p.typedData[0]).toBe(expected);
    }
  });

  it('rejects bad options, naming them', () => {
    const opt = twoGroupSGD();
    expect(() => new optim.StepLR(opt, 0)).toThrow('StepLR: invalid stepSize 0');
    expect(() => new optim.LinearLR(opt, 0)).toThrow('LinearLR: invalid startFactor 0');
    expect(() => new optim.LinearLR(opt, 0.5, 1.5)).toThrow('LinearLR: invalid endFactor 1.5');
    expect(() => new optim.CosineAnnealingLR(opt, 0)).toThrow('CosineAnnealingLR: invalid tMax 0');
    expect(() => new optim.ReduceLROnPlateau(opt, { factor: 1 })).toThrow('ReduceLROnPlateau: invalid factor 1');
    expect(() => new optim.ReduceLROnPlateau(opt, { mode: 'up' as 'min' })).toThrow('ReduceLROnPlateau: invalid mode up');
    expect(() => new optim.ReduceLROnPlateau(opt, { minLr: [0] })).toThrow('ReduceLROnPlateau: invalid minLr');
  });
});
