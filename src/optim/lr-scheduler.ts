import { ValueError } from '../errors.js';
import { describe } from '../tensor/checks.js';
import { Tensor } from '../tensor/tensor.js';
import { check, type Optimizer, type OptimizerOptions } from './optimizer.js';
import { declareSignature, signature, type Args, type Signature } from '../signature.js';

/** The declared signature of optim.<name>: the optimizer, spec (PyTorch's order), then PyTorch's verbose (only false). */
export function schedulerSignature(name: string, spec: string): Signature {
  return declareSignature(`optim.${name}`, signature(name, `optimizer:inst ${spec} verbose=false`));
}
/** A scheduler's arguments: the optimizer and required R, any leading part of the optional P, or an options object O. */
export type SchedulerArgs<R extends unknown[], P extends unknown[], O> = Args<[optimizer: Optimizer<OptimizerOptions>, ...R], [...P, verbose: false], O>;
const SIGS = {
  StepLR: schedulerSignature('StepLR', 'stepSize:num gamma?:num lastEpoch?:num'),
  MultiStepLR: schedulerSignature('MultiStepLR', 'milestones:ints gamma?:num lastEpoch?:num'),
  ExponentialLR: schedulerSignature('ExponentialLR', 'gamma:num lastEpoch?:num'),
  CosineAnnealingLR: schedulerSignature('CosineAnnealingLR', 'tMax:num etaMin?:num lastEpoch?:num'),
  LinearLR: schedulerSignature('LinearLR', 'startFactor?:num endFactor?:num totalIters?:num lastEpoch?:num'),
  ReduceLROnPlateau: schedulerSignature('ReduceLROnPlateau', 'mode?:str factor?:num patience?:num threshold?:num thresholdMode?:str cooldown?:num minLr?:num|nums eps?:num'),
};

/** A scheduler's state: plain numbers and arrays, JSON-serialisable. */
export type SchedulerStateDict = Record<string, unknown>;

type AnyOptimizer = Optimizer<OptimizerOptions>;

/**
 * The base of the epoch-driven schedulers, as PyTorch 1.13's `_LRScheduler`. Construction sets
 * each group's `initialLr` (if unset) and takes the first step (lastEpoch −1 → 0); after that,
 * call `step()` once per epoch, after `optimizer.step()`. Each scheduler computes the new rate from
 * the group's current `lr` (PyTorch's recursive "chainable" form), so sequences match PyTorch's
 * to the last bit and schedulers can be stacked.
 */
export abstract class LRScheduler<C extends object = object> {
  lastEpoch: number;
  baseLrs: number[];
  protected lastLr: number[] = [];
  protected stepCount = 0;
  protected readonly config: C;

  constructor(
    readonly optimizer: AnyOptimizer,
    config: C,
    lastEpoch = -1,
  ) {
    this.config = config;
    check(new.target.name, 'lastEpoch', lastEpoch, Number.isInteger(lastEpoch) && lastEpoch >= -1, 'an integer >= -1');
    if (lastEpoch === -1) {
      for (const g of optimizer.paramGroups) g.initialLr ??= g.lr;
    } else {
      optimizer.paramGroups.forEach((g, i) => {
        if (g.initialLr === undefined) {
          throw new ValueError(`${new.target.name}: paramGroups[${i}] has no initialLr, which resuming at lastEpoch ${lastEpoch} needs`);
        }
      });
    }
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr!);
    this.lastEpoch = lastEpoch;
    this.step();
  }

  /** The new learning rate of every group, for `this.lastEpoch` (already advanced). */
  protected abstract getLr(): number[];

  /** Advance one epoch and set every group's lr. */
  step(): void {
    this.stepCount++;
    this.lastEpoch++;
    const lrs = this.getLr();
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = lrs[i]!));
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** The learning rates the last step set, one per group. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  protected groupLrs(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  stateDict(): SchedulerStateDict {
    return { ...structuredClone(this.config), lastEpoch: this.lastEpoch, stepCount: this.stepCount, baseLrs: [...this.baseLrs], lastLr: [...this.lastLr] };
  }

  loadStateDict(sd: SchedulerStateDict): void {
    const name = `${this.constructor.name}.loadStateDict`;
    if (sd === null || typeof sd !== 'object' || Array.isArray(sd)) throw new ValueError(`${name}: expected a state dict object, got ${describe(sd)}`);
    check(name, 'lastEpoch', sd.lastEpoch, Number.isInteger(sd.lastEpoch) && (sd.lastEpoch as number) >= -1, 'an integer >= -1');
    check(name, 'stepCount', sd.stepCount, Number.isInteger(sd.stepCount) && (sd.stepCount as number) >= 0, 'an integer >= 0');
    for (const key of ['baseLrs', 'lastLr'] as const) {
      const v = sd[key];
      const ok = Array.isArray(v) && v.length === this.optimizer.paramGroups.length && v.every((x) => typeof x === 'number' && Number.isFinite(x));
      check(name, key, Array.isArray(v) ? `[${v.join(', ')}]` : describe(v), ok, `one finite number per parameter group (${this.optimizer.paramGroups.length})`);
    }
    for (const key of Object.keys(this.config)) {
      if (!(key in sd)) throw new ValueError(`${name}: the state dict has no '${key}'`);
    }
    const { lastEpoch, stepCount, baseLrs, lastLr, ...config } = sd;
    this.lastEpoch = lastEpoch as number;
    this.stepCount = stepCount as number;
    this.baseLrs = [...(baseLrs as number[])];
    this.lastLr = [...(lastLr as number[])];
    // Only this scheduler's own options are taken: a key such as "constructor" or "__proto__" is not.
    for (const key of Object.keys(this.config)) (this.config as Record<string, unknown>)[key] = structuredClone(config[key]);
  }
}

const positiveInteger = (name: string, option: string, v: number): void =>
  check(name, option, v, Number.isInteger(v) && v > 0, 'a positive integer');
/** A multiplicative factor for the lr: finite and > 0 (Infinity or NaN would reach every parameter). */
const gammaCheck = (name: string, v: number): void => check(name, 'gamma', v, typeof v === 'number' && Number.isFinite(v) && v > 0, 'a finite number > 0');

/** Multiply the lr by gamma every stepSize epochs. */
export class StepLR extends LRScheduler<{ stepSize: number; gamma: number }> {
  constructor(...args: SchedulerArgs<[stepSize: number], [gamma: number, lastEpoch: number], { stepSize?: number; gamma?: number; lastEpoch?: number }>) {
    const { optimizer, stepSize, gamma = 0.1, lastEpoch = -1 } = SIGS.StepLR.parse<{ optimizer: AnyOptimizer; stepSize: number; gamma?: number; lastEpoch?: number }>(args);
    positiveInteger('StepLR', 'stepSize', stepSize);
    gammaCheck('StepLR', gamma);
    super(optimizer, { stepSize, gamma }, lastEpoch);
  }

  protected getLr(): number[] {
    const { stepSize, gamma } = this.config;
    if (this.lastEpoch === 0 || this.lastEpoch % stepSize !== 0) return this.groupLrs();
    return this.groupLrs().map((lr) => lr * gamma);
  }
}

/** Multiply the lr by gamma at each milestone epoch (by gamma^k for a milestone listed k times). */
export class MultiStepLR extends LRScheduler<{ milestones: number[]; gamma: number }> {
  constructor(...args: SchedulerArgs<[milestones: readonly number[]], [gamma: number, lastEpoch: number], { milestones?: readonly number[]; gamma?: number; lastEpoch?: number }>) {
    const { optimizer, milestones, gamma = 0.1, lastEpoch = -1 } = SIGS.MultiStepLR.parse<{ optimizer: AnyOptimizer; milestones: readonly number[]; gamma?: number; lastEpoch?: number }>(args);
    check('MultiStepLR', 'milestones', describe(milestones), Array.isArray(milestones), 'an array of integers');
    milestones.forEach((m) => check('MultiStepLR', 'milestone', m, Number.isInteger(m), 'an integer'));
    gammaCheck('MultiStepLR', gamma);
    super(optimizer, { milestones: [...milestones].sort((a, b) => a - b), gamma }, lastEpoch);
  }

  protected getLr(): number[] {
    const { milestones, gamma } = this.config;
    const count = milestones.filter((m) => m === this.lastEpoch).length;
    if (count === 0) return this.groupLrs();
    return this.groupLrs().map((lr) => lr * gamma ** count);
  }
}

/** Multiply the lr by gamma every epoch. */
export class ExponentialLR extends LRScheduler<{ gamma: number }> {
  constructor(...args: SchedulerArgs<[gamma: number], [lastEpoch: number], { gamma?: number; lastEpoch?: number }>) {
    const { optimizer, gamma, lastEpoch = -1 } = SIGS.ExponentialLR.parse<{ optimizer: AnyOptimizer; gamma: number; lastEpoch?: number }>(args);
    gammaCheck('ExponentialLR', gamma);
    super(optimizer, { gamma }, lastEpoch);
  }

  protected getLr(): number[] {
    if (this.lastEpoch === 0) return this.groupLrs();
    return this.groupLrs().map((lr) => lr * this.config.gamma);
  }
}

/**
 * Cosine annealing from the base lr to etaMin over tMax epochs, and back up over the next tMax
 * (SGDR without restarts). PyTorch's recursive form, not the closed form
 * etaMin + (base − etaMin)(1 + cos(πt/tMax))/2: the two differ in the last bits, and the
 * recursive one also follows an lr changed by hand or by another scheduler.
 */
export class CosineAnnealingLR extends LRScheduler<{ tMax: number; etaMin: number }> {
  constructor(...args: SchedulerArgs<[tMax: number], [etaMin: number, lastEpoch: number], { tMax?: number; etaMin?: number; lastEpoch?: number }>) {
    const { optimizer, tMax, etaMin = 0, lastEpoch = -1 } = SIGS.CosineAnnealingLR.parse<{ optimizer: AnyOptimizer; tMax: number; etaMin?: number; lastEpoch?: number }>(args);
    check('CosineAnnealingLR', 'tMax', tMax, typeof tMax === 'number' && Number.isFinite(tMax) && tMax > 0, 'a finite number > 0');
    check('CosineAnnealingLR', 'etaMin', etaMin, typeof etaMin === 'number' && Number.isFinite(etaMin) && etaMin >= 0, 'a finite number >= 0');
    super(optimizer, { tMax, etaMin }, lastEpoch);
  }

  protected getLr(): number[] {
    const { tMax, etaMin } = this.config;
    const t = this.lastEpoch;
    if (t === 0) return this.groupLrs();
    if (this.stepCount === 1 && t > 0) {
      return this.baseLrs.map((base) => etaMin + ((base - etaMin) * (1 + Math.cos((t * Math.PI) / tMax))) / 2);
    }
    // Python's % is never negative; a JS remainder of −0 still equals 0, and other values stay nonzero.
    if ((t - 1 - tMax) % (2 * tMax) === 0) {
      return this.groupLrs().map((lr, i) => lr + ((this.baseLrs[i]! - etaMin) * (1 - Math.cos(Math.PI / tMax))) / 2);
    }
    return this.groupLrs().map(
      (lr) => ((1 + Math.cos((Math.PI * t) / tMax)) / (1 + Math.cos((Math.PI * (t - 1)) / tMax))) * (lr - etaMin) + etaMin,
    );
  }
}

/**
 * Scale the lr linearly from startFactor·lr to endFactor·lr over totalIters epochs, then hold
 * it: a warm-up with startFactor < 1 = endFactor, or a linear decay.
 */
export class LinearLR extends LRScheduler<{ startFactor: number; endFactor: number; totalIters: number }> {
  constructor(
    ...args: SchedulerArgs<[], [startFactor: number, endFactor: number, totalIters: number, lastEpoch: number], { startFactor?: number; endFactor?: number; totalIters?: number; lastEpoch?: number }>
  ) {
    const o = SIGS.LinearLR.parse<{ optimizer: AnyOptimizer; startFactor?: number; endFactor?: number; totalIters?: number; lastEpoch?: number }>(args);
    const { optimizer, startFactor = 1 / 3, endFactor = 1, totalIters = 5, lastEpoch = -1 } = o;
    check('LinearLR', 'startFactor', startFactor, startFactor > 0 && startFactor <= 1, 'in (0, 1]');
    check('LinearLR', 'endFactor', endFactor, endFactor >= 0 && endFactor <= 1, 'in [0, 1]');
    positiveInteger('LinearLR', 'totalIters', totalIters);
    super(optimizer, { startFactor, endFactor, totalIters }, lastEpoch);
  }

  protected getLr(): number[] {
    const { startFactor, endFactor, totalIters } = this.config;
    const t = this.lastEpoch;
    if (t === 0) return this.groupLrs().map((lr) => lr * startFactor);
    if (t > totalIters) return this.groupLrs();
    const diff = endFactor - startFactor;
    return this.groupLrs().map((lr) => lr * (1 + diff / (totalIters * startFactor + (t - 1) * diff)));
  }
}

export interface ReduceLROnPlateauOptions {
  mode: 'min' | 'max';
  factor: number;
  patience: number;
  threshold: number;
  thresholdMode: 'rel' | 'abs';
  cooldown: number;
  /** One floor for every group, or one per group. */
  minLr: number | number[];
  eps: number;
}

/**
 * Cut the lr by `factor` when a metric has stopped improving for more than `patience` epochs,
 * as PyTorch 1.13's ReduceLROnPlateau: `scheduler.step(validationLoss)` once per epoch.
 * An improvement must beat the best value by `threshold` (relative: best·(1 ∓ threshold), or
 * absolute: best ∓ threshold); after a cut, `cooldown` epochs are not counted; the lr never goes
 * below minLr, and a cut smaller than eps is skipped.
 *
 * In stateDict, `best` starts as ±Infinity, which JSON writes as null: loadStateDict reads null
 * back as "no best yet".
 */
export class ReduceLROnPlateau {
  mode: 'min' | 'max';
  factor: number;
  patience: number;
  threshold: number;
  thresholdMode: 'rel' | 'abs';
  cooldown: number;
  readonly minLrs: number[];
  eps: number;
  best: number;
  numBadEpochs = 0;
  cooldownCounter = 0;
  lastEpoch = 0;
  private lastLr: number[];

  readonly optimizer: AnyOptimizer;

  constructor(
    ...args: SchedulerArgs<
      [],
      [mode: 'min' | 'max', factor: number, patience: number, threshold: number, thresholdMode: 'rel' | 'abs', cooldown: number, minLr: number | number[], eps: number],
      Partial<ReduceLROnPlateauOptions>
    >
  ) {
    const { optimizer, ...options } = SIGS.ReduceLROnPlateau.parse<Partial<ReduceLROnPlateauOptions> & { optimizer: AnyOptimizer }>(args);
    this.optimizer = optimizer;
    const o = { mode: 'min', factor: 0.1, patience: 10, threshold: 1e-4, thresholdMode: 'rel', cooldown: 0, minLr: 0, eps: 1e-8, ...options };
    const name = 'ReduceLROnPlateau';
    check(name, 'mode', o.mode, o.mode === 'min' || o.mode === 'max', "'min' or 'max'");
    check(name, 'thresholdMode', o.thresholdMode, o.thresholdMode === 'rel' || o.thresholdMode === 'abs', "'rel' or 'abs'");
    check(name, 'factor', o.factor, o.factor >= 0 && o.factor < 1, 'in [0, 1)');
    check(name, 'patience', o.patience, Number.isInteger(o.patience) && o.patience >= 0, 'an integer >= 0');
    check(name, 'cooldown', o.cooldown, Number.isInteger(o.cooldown) && o.cooldown >= 0, 'an integer >= 0');
    check(name, 'threshold', o.threshold, Number.isFinite(o.threshold) && o.threshold >= 0, 'a finite number >= 0');
    check(name, 'eps', o.eps, Number.isFinite(o.eps) && o.eps >= 0, 'a finite number >= 0');
    for (const m of Array.isArray(o.minLr) ? o.minLr : [o.minLr]) check(name, 'minLr', m, Number.isFinite(m) && m >= 0, 'a finite number >= 0');
    const groups = optimizer.paramGroups.length;
    if (Array.isArray(o.minLr) && o.minLr.length !== groups) {
      throw new ValueError(`${name}: invalid minLr [${o.minLr.join(', ')}] (must be one number, or one per parameter group: ${groups})`);
    }
    this.mode = o.mode as 'min' | 'max';
    this.factor = o.factor;
    this.patience = o.patience;
    this.threshold = o.threshold;
    this.thresholdMode = o.thresholdMode as 'rel' | 'abs';
    this.cooldown = o.cooldown;
    this.minLrs = Array.isArray(o.minLr) ? [...o.minLr] : new Array<number>(groups).fill(o.minLr);
    this.eps = o.eps;
    this.best = this.worst();
    this.lastLr = optimizer.paramGroups.map((g) => g.lr);
  }

  private worst(): number {
    return this.mode === 'min' ? Infinity : -Infinity;
  }

  private isBetter(a: number, best: number): boolean {
    const t = this.threshold;
    if (this.mode === 'min') return this.thresholdMode === 'rel' ? a < best * (1 - t) : a < best - t;
    return this.thresholdMode === 'rel' ? a > best * (t + 1) : a > best + t;
  }

  /** Record this epoch's metric (a number or a one-element tensor) and cut the lr if it has plateaued. */
  step(metric: number | Tensor): void {
    const current = metric instanceof Tensor ? metric.item() : metric;
    this.lastEpoch++;
    if (this.isBetter(current, this.best)) {
      this.best = current;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs++;
    }
    if (this.cooldownCounter > 0) {
      this.cooldownCounter--;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.patience) {
      this.optimizer.paramGroups.forEach((g, i) => {
        const newLr = Math.max(g.lr * this.factor, this.minLrs[i]!);
        if (g.lr - newLr > this.eps) g.lr = newLr;
      });
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  getLastLr(): number[] {
    return [...this.lastLr];
  }

  stateDict(): SchedulerStateDict {
    const { mode, factor, patience, threshold, thresholdMode, cooldown, eps, best, numBadEpochs, cooldownCounter, lastEpoch } = this;
    return { mode, factor, patience, threshold, thresholdMode, cooldown, minLrs: [...this.minLrs], eps, best, numBadEpochs, cooldownCounter, lastEpoch, lastLr: [...this.lastLr] };
  }

  loadStateDict(sd: SchedulerStateDict): void {
    const { best, minLrs, lastLr, ...rest } = sd;
    Object.assign(this, rest);
    this.best = best === null || best === undefined ? this.worst() : (best as number);
    this.minLrs.splice(0, this.minLrs.length, ...(minLrs as number[]));
    this.lastLr = [...(lastLr as number[])];
  }
}
