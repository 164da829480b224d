import { ValueError } from '../errors.js';
import { CosineAnnealingLR, ExponentialLR, LRScheduler, LinearLR, MultiStepLR, StepLR, schedulerSignature, type SchedulerArgs, type SchedulerStateDict } from './lr-scheduler.js';
import { check, type Optimizer, type OptimizerOptions } from './optimizer.js';

/**
 * LambdaLR, OneCycleLR, CosineAnnealingWarmRestarts and SequentialLR, as PyTorch 1.13's
 * torch.optim.lr_scheduler (same formulas, same step-0 behaviour, so the sequences match).
 */

type AnyOptimizer = Optimizer<OptimizerOptions>;
type Lambda = (epoch: number) => number;
const SIGS = {
  LambdaLR: schedulerSignature('LambdaLR', 'lrLambda:fn|iter lastEpoch?:num'),
  OneCycleLR: schedulerSignature(
    'OneCycleLR',
    'maxLr:num|nums totalSteps?:num|null epochs?:num|null stepsPerEpoch?:num|null pctStart?:num annealStrategy?:str cycleMomentum?:bool baseMomentum?:num maxMomentum?:num divFactor?:num finalDivFactor?:num threePhase?:bool lastEpoch?:num',
  ),
  CosineAnnealingWarmRestarts: schedulerSignature('CosineAnnealingWarmRestarts', 't0:num tMult?:num etaMin?:num lastEpoch?:num'),
  SequentialLR: schedulerSignature('SequentialLR', 'schedulers:iter milestones:ints lastEpoch?:num'),
};
type Group = AnyOptimizer['paramGroups'][number] & Record<string, unknown>;

/** lr = initialLr · lambda(epoch), one function for all groups or one per group. */
export class LambdaLR extends LRScheduler<{ lambdas: ((epoch: number) => number)[] }> {
  constructor(...args: SchedulerArgs<[lrLambda: Lambda | Lambda[]], [lastEpoch: number], { lrLambda?: Lambda | Lambda[]; lastEpoch?: number }>) {
    const { optimizer, lrLambda, lastEpoch = -1 } = SIGS.LambdaLR.parse<{ optimizer: AnyOptimizer; lrLambda: Lambda | Lambda[]; lastEpoch?: number }>(args);
    const n = optimizer.paramGroups.length;
    const lambdas = Array.isArray(lrLambda) ? [...lrLambda] : new Array<(e: number) => number>(n).fill(lrLambda);
    if (lambdas.length !== n) throw new ValueError(`LambdaLR: expected ${n} lrLambda functions (one per parameter group), got ${lambdas.length}`);
    lambdas.forEach((f, i) => check('LambdaLR', `lrLambda[${i}]`, typeof f, typeof f === 'function', 'a function'));
    super(optimizer, { lambdas }, lastEpoch);
  }

  protected getLr(): number[] {
    return this.baseLrs.map((base, i) => base * this.config.lambdas[i]!(this.lastEpoch));
  }

  override stateDict(): SchedulerStateDict {
    // The functions are code, not state (PyTorch leaves them out too).
    return { lastEpoch: this.lastEpoch, stepCount: this.stepCount, baseLrs: [...this.baseLrs], lastLr: [...this.lastLr] };
  }
}

export interface OneCycleLROptions {
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  pctStart?: number;
  annealStrategy?: 'cos' | 'linear';
  cycleMomentum?: boolean;
  baseMomentum?: number;
  maxMomentum?: number;
  divFactor?: number;
  finalDivFactor?: number;
  threePhase?: boolean;
}

interface Phase {
  endStep: number;
  startLr: 'initial_lr' | 'max_lr' | 'min_lr';
  endLr: 'initial_lr' | 'max_lr' | 'min_lr';
  startMomentum: 'max_momentum' | 'base_momentum';
  endMomentum: 'max_momentum' | 'base_momentum';
}

/**
 * The 1cycle policy (Smith): lr from maxLr/divFactor up to maxLr over pctStart of the steps, then
 * down to initial/finalDivFactor (three phases with threePhase), momentum (or Adam's beta1)
 * cycling the other way. Call step() after every batch.
 */
export class OneCycleLR extends LRScheduler<{ totalSteps: number; phases: Phase[]; anneal: 'cos' | 'linear'; cycleMomentum: boolean; useBeta1: boolean }> {
  constructor(
    ...args: SchedulerArgs<
      [maxLr: number | number[]],
      [
        totalSteps: number | null, epochs: number | null, stepsPerEpoch: number | null, pctStart: number, annealStrategy: 'cos' | 'linear', cycleMomentum: boolean,
        baseMomentum: number, maxMomentum: number, divFactor: number, finalDivFactor: number, threePhase: boolean, lastEpoch: number,
      ],
      OneCycleLROptions & { lastEpoch?: number }
    >
  ) {
    const parsed = SIGS.OneCycleLR.parse<Record<string, unknown>>(args);
    // null is PyTorch's None: not given.
    const { optimizer, maxLr, lastEpoch = -1, ...opts } = Object.fromEntries(Object.entries(parsed).filter(([, v]) => v !== null)) as unknown as OneCycleLROptions & {
      optimizer: AnyOptimizer;
      maxLr: number | number[];
      lastEpoch?: number;
    };
    const name = 'OneCycleLR';
    let totalSteps: number;
    if (opts.totalSteps !== undefined) totalSteps = opts.totalSteps;
    else if (opts.epochs !== undefined && opts.stepsPerEpoch !== undefined) totalSteps = opts.epochs * opts.stepsPerEpoch;
    else throw new ValueError(`${name}: give totalSteps, or epochs and stepsPerEpoch`);
    check(name, 'totalSteps', totalSteps, Number.isInteger(totalSteps) && totalSteps > 0, 'a positive integer');
    const pct = opts.pctStart ?? 0.3;
    check(name, 'pctStart', pct, pct >= 0 && pct <= 1, 'in [0, 1]');
    const anneal = opts.annealStrategy ?? 'cos';
    check(name, 'annealStrategy', anneal, anneal === 'cos' || anneal === 'linear', "'cos' or 'linear'");
    const groups = optimizer.paramGroups as Group[];
    const maxLrs = Array.isArray(maxLr) ? maxLr : new Array<number>(groups.length).fill(maxLr);
    if (maxLrs.length !== groups.length) throw new ValueError(`${name}: expected ${groups.length} maxLr values, got ${maxLrs.length}`);
    const div = opts.divFactor ?? 25;
    const finalDiv = opts.finalDivFactor ?? 1e4;
    const phases: Phase[] = opts.threePhase
      ? [
          { endStep: pct * totalSteps - 1, startLr: 'initial_lr', endLr: 'max_lr', startMomentum: 'max_momentum', endMomentum: 'base_momentum' },
          { endStep: 2 * pct * totalSteps - 2, startLr: 'max_lr', endLr: 'initial_lr', startMomentum: 'base_momentum', endMomentum: 'max_momentum' },
          { endStep: totalSteps - 1, startLr: 'initial_lr', endLr: 'min_lr', startMomentum: 'max_momentum', endMomentum: 'max_momentum' },
        ]
      : [
          { endStep: pct * totalSteps - 1, startLr: 'initial_lr', endLr: 'max_lr', startMomentum: 'max_momentum', endMomentum: 'base_momentum' },
          { endStep: totalSteps - 1, startLr: 'max_lr', endLr: 'min_lr', startMomentum: 'base_momentum', endMomentum: 'max_momentum' },
        ];
    const cycleMomentum = opts.cycleMomentum ?? true;
    const useBeta1 = groups.length > 0 && 'betas' in groups[0]!;
    if (cycleMomentum && !useBeta1 && !groups.every((g) => 'momentum' in g)) {
      throw new ValueError(`${name}: optimizer has no momentum or betas option, but cycleMomentum is on (pass cycleMomentum: false)`);
    }
    groups.forEach((g, i) => {
      if (lastEpoch === -1) {
        g.initialLr = maxLrs[i]! / div;
        g.initial_lr = g.initialLr;
        g.max_lr = maxLrs[i]!;
        g.min_lr = g.initialLr / finalDiv;
      }
      if (cycleMomentum) {
        const maxM = opts.maxMomentum ?? 0.95;
        g.max_momentum = maxM;
        g.base_momentum = opts.baseMomentum ?? 0.85;
        if (lastEpoch === -1) {
          if (useBeta1) g.betas = [maxM, (g.betas as number[])[1]!];
          else g.momentum = maxM;
        }
      }
    });
    super(optimizer, { totalSteps, phases, anneal, cycleMomentum, useBeta1 }, lastEpoch);
  }

  private annealed(start: number, end: number, pct: number): number {
    return this.config.anneal === 'cos' ? end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1) : (end - start) * pct + start;
  }

  protected getLr(): number[] {
    const step = this.lastEpoch;
    const { totalSteps, phases, cycleMomentum, useBeta1 } = this.config;
    if (step > totalSteps) {
      throw new ValueError(`OneCycleLR: tried to step ${step} times, more than totalSteps ${totalSteps}`);
    }
    return (this.optimizer.paramGroups as Group[]).map((g) => {
      let start = 0;
      let lr = 0;
      for (let i = 0; i < phases.length; i++) {
        const ph = phases[i]!;
        if (step <= ph.endStep || i === phases.length - 1) {
          const pct = (step - start) / (ph.endStep - start);
          lr = this.annealed(g[ph.startLr] as number, g[ph.endLr] as number, pct);
          if (cycleMomentum) {
            const m = this.annealed(g[ph.startMomentum] as number, g[ph.endMomentum] as number, pct);
            if (useBeta1) g.betas = [m, (g.betas as number[])[1]!];
            else g.momentum = m;
          }
          break;
        }
        start = ph.endStep;
      }
      return lr;
    });
  }
}

/**
 * SGDR (Loshchilov & Hutter): cosine annealing from each group's initial lr to etaMin over T_i
 * epochs, restarting with T_{i+1} = T_i·tMult. Call step() once per epoch.
 */
export class CosineAnnealingWarmRestarts extends LRScheduler<{ t0: number; tMult: number; etaMin: number; tI: number; tCur: number }> {
  constructor(...args: SchedulerArgs<[t0: number], [tMult: number, etaMin: number, lastEpoch: number], { t0?: number; tMult?: number; etaMin?: number; lastEpoch?: number }>) {
    const { optimizer, t0, tMult = 1, etaMin = 0, lastEpoch = -1 } = SIGS.CosineAnnealingWarmRestarts.parse<{ optimizer: AnyOptimizer; t0: number; tMult?: number; etaMin?: number; lastEpoch?: number }>(args);
    check('CosineAnnealingWarmRestarts', 't0', t0, Number.isInteger(t0) && t0 > 0, 'a positive integer');
    check('CosineAnnealingWarmRestarts', 'tMult', tMult, Number.isInteger(tMult) && tMult >= 1, 'an integer >= 1');
    super(optimizer, { t0, tMult, etaMin, tI: t0, tCur: lastEpoch }, lastEpoch);
  }

  protected getLr(): number[] {
    const c = this.config;
    if (this.lastEpoch === 0) {
      c.tI = c.t0;
      c.tCur = 0;
    } else {
      c.tCur += 1;
      if (c.tCur >= c.tI) {
        c.tCur -= c.tI;
        c.tI *= c.tMult;
      }
    }
    return this.baseLrs.map((base) => c.etaMin + ((base - c.etaMin) * (1 + Math.cos((Math.PI * c.tCur) / c.tI))) / 2);
  }
}

/** Hand over from one scheduler to the next at each milestone epoch (as PyTorch's SequentialLR). */
export class SequentialLR {
  lastEpoch: number;
  private readonly schedulers: LRScheduler[];
  private readonly milestones: number[];

  readonly optimizer: AnyOptimizer;

  constructor(...args: SchedulerArgs<[schedulers: LRScheduler[], milestones: number[]], [lastEpoch: number], { schedulers?: LRScheduler[]; milestones?: number[]; lastEpoch?: number }>) {
    const o = SIGS.SequentialLR.parse<{ optimizer: AnyOptimizer; schedulers: LRScheduler[]; milestones: number[]; lastEpoch?: number }>(args);
    const { optimizer, schedulers, milestones, lastEpoch = -1 } = o;
    this.optimizer = optimizer;
    const name = 'SequentialLR';
    if (schedulers.length < 1) throw new ValueError(`${name}: expects at least one scheduler`);
    schedulers.forEach((s, i) => {
      if (s.optimizer !== optimizer) throw new ValueError(`${name}: scheduler ${i} is attached to another optimizer`);
    });
    if (milestones.length !== schedulers.length - 1) {
      throw new ValueError(`${name}: expects ${schedulers.length - 1} milestones for ${schedulers.length} schedulers, got ${milestones.length}`);
    }
    this.schedulers = [...schedulers];
    this.milestones = [...milestones];
    this.lastEpoch = lastEpoch + 1;
    // As PyTorch: undo the other schedulers' first steps and start from the first one's.
    for (const g of optimizer.paramGroups) g.lr = g.initialLr!;
    for (const s of this.schedulers) s.lastEpoch -= 1;
    (this.schedulers[0] as unknown as { step(): void }).step();
  }

  step(): void {
    this.lastEpoch++;
    const idx = this.milestones.filter((m) => m <= this.lastEpoch).length;
    const s = this.schedulers[idx]!;
    if (idx > 0 && this.milestones[idx - 1] === this.lastEpoch) startAt0(s);
    else s.step();
  }

  getLastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }
}

/**
 * A scheduler restarted at its epoch 0, as PyTorch's scheduler.step(0): the closed form at epoch
 * 0 where the scheduler has one (StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR: the
 * initial lr; MultiStepLR with a milestone at 0, and LinearLR, scaled), else its getLr at 0.
 */
function startAt0(s: LRScheduler): void {
  const base = s.baseLrs;
  const c = (s as unknown as { config: Record<string, unknown> }).config;
  let lrs: number[] | null = null;
  if (s instanceof StepLR || s instanceof ExponentialLR || s instanceof CosineAnnealingLR) lrs = [...base];
  else if (s instanceof MultiStepLR) lrs = base.map((b) => b * (c.gamma as number) ** (c.milestones as number[]).filter((m) => m <= 0).length);
  else if (s instanceof LinearLR) lrs = base.map((b) => b * (c.startFactor as number));
  if (lrs === null) {
    s.lastEpoch = -1;
    s.step();
    return;
  }
  s.lastEpoch = 0;
  s.optimizer.paramGroups.forEach((g, i) => (g.lr = lrs![i]!));
  (s as unknown as { lastLr: number[] }).lastLr = [...lrs];
}
