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
    for (const [x, y] of o.trainLoader) {
      const logits = o.model.call(x!) as Tensor;
      const loss = lossFn(logits, y!);
      o.optimizer.zeroGrad();
      loss.backward();
      if (o.clipNorm != null) clipGradNorm_(params, o.clipNorm);
      o.optimizer.step();
      const n = y!.shape[0]!;
      lossSum += loss.item() * n;
      correct += countCorrect(logits.typedData, logits.shape[1]!, y!.typedData);
      seen += n;
      o.onBatch?.({ epoch, seen, total, loss: lossSum / seen, accuracy: correct / seen, seconds: (now() - start) / 1000 });
    }
    const test = o.testLoader ? evaluate(o.model, o.testLoader, lossFn) : null;
    const trainLoss = lossSum / seen;
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
