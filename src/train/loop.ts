/**
 * The training loop, reusable outside the CLI: `fit` runs epochs of minibatch updates and
 * evaluates after each; `evaluate` measures loss and accuracy without recording a graph.
 *
 *   const history = await fit({ model, optimizer, trainLoader, testLoader, epochs: 5 });
 *
 * Everything random (shuffling, dropout) draws from seeded generators, and the losses are
 * summed in float64 in a fixed order, so a run is reproducible bit for bit; with the
 * generators' state restored (see session.ts), a resumed run repeats an uninterrupted one.
 */
import { noGrad } from '../autograd/grad-mode.js';
import { ChainruleError } from '../errors.js';
import type { DataLoader } from '../data/dataloader.js';
import { clipGradNorm_ } from '../nn/clip.js';
import { crossEntropy } from '../nn/functional.js';
import type { AnyModule } from '../nn/module.js';
import { ReduceLROnPlateau, type LRScheduler, type Optimizer } from '../optim/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { countCorrect, type EpochMetrics } from './metrics.js';

export type LossFn = (logits: Tensor, labels: Tensor) => Tensor;
export type Scheduler = LRScheduler | ReduceLROnPlateau;
type Loader = DataLoader<Tensor[], Tensor[]>;

export interface BatchProgress {
  epoch: number;
  /** Samples processed so far this epoch, and in the whole epoch. */
  seen: number;
  total: number;
  /** Running mean loss and accuracy over this epoch's samples so far. */
  loss: number;
  accuracy: number;
  /** Seconds since the epoch started. */
  seconds: number;
}

export interface FitOptions {
  model: AnyModule;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  optimizer: Optimizer<any>;
  /** Stepped once per epoch; ReduceLROnPlateau with the test loss (the train loss without a test set). */
  scheduler?: Scheduler | null;
  trainLoader: Loader;
  testLoader?: Loader | null;
  /** The epoch to stop after (1-based, inclusive). */
  epochs: number;
  /** Epochs already done (when resuming): training starts at startEpoch + 1. */
  startEpoch?: number;
  /** Clip the gradients' total 2-norm to this before each step. */
  clipNorm?: number | null;
  /** Default: cross-entropy over logits and class indices. */
  lossFn?: LossFn;
  onBatch?: (p: BatchProgress) => void;
  /** Called after each epoch's evaluation and scheduler step; awaited (save a checkpoint here). */
  onEpochEnd?: (m: EpochMetrics) => void | Promise<void>;
  now?: () => number;
  /**
   * Keep training when the loss becomes NaN or infinite. By default fit stops with a
   * NonFiniteLossError before that batch's update, and before the epoch is reported to
   * onEpochEnd, so no checkpoint of a diverged model is written as if it were fine.
   */
  allowNan?: boolean;
}

/**
 * The loss became NaN or infinite (a learning rate too high, NaN in the data, an overflow):
 * training stopped. `epoch` and `batch` (1-based; batch 0: the epoch's evaluation) say where;
 * the epochs before it were completed and reported.
 */
export class NonFiniteLossError extends ChainruleError {
  constructor(readonly epoch: number, readonly batch: number, readonly value: number, readonly what = 'the training loss') {
    super(`fit: ${what} is ${Number.isNaN(value) ? 'NaN' : value} at epoch ${epoch}${batch > 0 ? `, batch ${batch}` : ''}; training stopped there ` +
      `(the model of epoch ${epoch - 1} was the last one reported). Lower the learning rate, check the data for NaN/Inf, ` +
      'or pass allowNan (--allow-nan) to keep going');
    this.name = 'NonFiniteLossError';
  }
}

const defaultLoss: LossFn = (logits, labels) => crossEntropy(logits, labels);

export interface EvalResult {
  loss: number;
  accuracy: number;
  correct: number;
  total: number;
}

/** Mean loss and accuracy of `model` over `loader`, in eval mode (restores the previous mode). */
export function evaluate(model: AnyModule, loader: Loader, lossFn: LossFn = defaultLoss): EvalResult {
  const wasTraining = model.training;
  model.eval();
  let lossSum = 0;
  let correct = 0;
  let total = 0;
  try {
    noGrad(() => {
      for (const [x, y] of loader) {
        const logits = model.call(x!) as Tensor;
        const n = y!.shape[0]!;
        lossSum += lossFn(logits, y!).item() * n;
        correct += countCorrect(logits.typedData, logits.shape[1]!, y!.typedData);
        total += n;
      }
    });
  } finally {
    model.train(wasTraining);
  }
  return { loss: lossSum / total, accuracy: correct / total, correct, total };
}

/** Trains from epoch startEpoch + 1 to `epochs`; returns the metrics of the epochs it ran. */
export async function fit(o: FitOptions): Promise<EpochMetrics[]> {
  const lossFn = o.lossFn ?? defaultLoss;
  const now = o.now ?? (() => performance.now());
  const params = o.model.parameters();
  const total = o.trainLoader.dropLast
    ? o.trainLoader.length * o.trainLoader.batchSize
    : o.trainLoader.dataset.length;
  const history: EpochMetrics[] = [];
  for (let epoch = (o.startEpoch ?? 0) + 1; epoch <= o.epochs; epoch++) {
    const start = now();
    const lr = o.optimizer.paramGroups[0]!.lr;
    o.model.train();
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    let batch = 0;
    for (const [x, y] of o.trainLoader) {
      batch++;
      const logits = o.model.call(x!) as Tensor;
      const loss = lossFn(logits, y!);
      const value = loss.item();
      // Before the update: the weights stay those the last finite loss was computed with.
      if (!Number.isFinite(value) && !o.allowNan) throw new NonFiniteLossError(epoch, batch, value);
      o.optimizer.zeroGrad();
      loss.backward();
      if (o.clipNorm != null) clipGradNorm_(params, o.clipNorm);
      o.optimizer.step();
      const n = y!.shape[0]!;
      lossSum += value * n;
      correct += countCorrect(logits.typedData, logits.shape[1]!, y!.typedData);
      seen += n;
      o.onBatch?.({ epoch, seen, total, loss: lossSum / seen, accuracy: correct / seen, seconds: (now() - start) / 1000 });
    }
    const test = o.testLoader ? evaluate(o.model, o.testLoader, lossFn) : null;
    const trainLoss = lossSum / seen;
    if (!o.allowNan) {
      // The last update can still make the weights non-finite: the test loss shows it, and
      // without a test set the parameters are checked.
      if (test !== null && !Number.isFinite(test.loss)) throw new NonFiniteLossError(epoch, 0, test.loss, 'the test loss');
      if (test === null && !parametersFinite(params)) throw new NonFiniteLossError(epoch, 0, NaN, 'a weight after the last update');
    }
    if (o.scheduler) {
      if (o.scheduler instanceof ReduceLROnPlateau) o.scheduler.step(test?.loss ?? trainLoss);
      else o.scheduler.step();
    }
    const m: EpochMetrics = {
      epoch, trainLoss, trainAccuracy: correct / seen,
      testLoss: test?.loss ?? null, testAccuracy: test?.accuracy ?? null,
      lr, seconds: (now() - start) / 1000,
    };
    history.push(m);
    await o.onEpochEnd?.(m);
  }
  return history;
}

/** Whether every parameter value is finite: p − p sums to 0 exactly then, and to NaN otherwise. */
function parametersFinite(params: readonly Tensor[]): boolean {
  return noGrad(() => params.every((p) => p.sub(p).sum().item() === 0));
}
