/**
 * A training run as data: `RunConfig` (what config.json holds) is enough to rebuild the
 * model, optimizer, scheduler and data loaders; `checkpointOf` captures everything that
 * changes while training (weights, optimizer and scheduler state, generator states,
 * metrics) and `restore` puts it back, so `train --resume` continues bit for bit.
 */
import { DataLoader } from '../data/dataloader.js';
import { TensorDataset } from '../data/dataset.js';
import { ShapeError } from '../errors.js';
import type { Checkpoint, LoadedCheckpoint } from '../io/checkpoint.js';
import { FormatError } from '../io/errors.js';
import {
  Adagrad, Adam, AdamW, CosineAnnealingLR, ExponentialLR, LinearLR, ReduceLROnPlateau, RMSprop, SGD, StepLR,
  type Optimizer, type OptimizerStateDict,
} from '../optim/index.js';
import { defaultGenerator, manualSeed } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import type { DataSource, LoadedData, Preprocess } from './data.js';
import type { Scheduler } from './loop.js';
import { metricsToCsv, type EpochMetrics } from './metrics.js';
import { buildModel, modelShape, type Classifier, type ModelConfig } from './model.js';
import { joinTensors, splitTensors, toTensor } from './state.js';

export const OPTIMIZERS = ['sgd', 'adam', 'adamw', 'rmsprop', 'adagrad'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];
export const SCHEDULERS = ['none', 'step', 'cosine', 'exponential', 'linear', 'plateau'] as const;
export type SchedulerName = (typeof SCHEDULERS)[number];

export interface TrainingOptions {
  optimizer: OptimizerName;
  lr: number;
  /** Total epochs of the run (a resumed run trains up to this). */
  epochs: number;
  batchSize: number;
  seed: number;
  /** null: the optimizer's default (0, or 0.01 for AdamW). */
  weightDecay: number | null;
  /** SGD and RMSprop only. */
  momentum: number | null;
  clipNorm: number | null;
  scheduler: SchedulerName;
}

export interface RunConfig {
  format: 'chainrule-run';
  chainruleVersion: string;
  model: ModelConfig;
  data: DataSource;
  preprocess: Preprocess;
  classNames: string[] | null;
  /** The training CSV's feature column names, when it had a header row (absent in older checkpoints). */
  featureNames?: string[] | null;
  training: TrainingOptions;
  /** Epochs completed when the checkpoint was written. */
  epoch: number;
  /**
   * The kernels that trained it (backend().name). Every backend is deterministic, but they
   * round differently: a resume on other kernels matches the original run only closely.
   */
  backend?: string;
}

export interface Session {
  model: Classifier;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  optimizer: Optimizer<any>;
  scheduler: Scheduler | null;
  trainLoader: DataLoader<Tensor[], Tensor[]>;
  testLoader: DataLoader<Tensor[], Tensor[]> | null;
}

/** Test batches are larger: no backward pass, so memory is not the limit. */
export const EVAL_BATCH_SIZE = 500;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function buildOptimizer(params: Tensor[], t: TrainingOptions): Optimizer<any> {
  const wd = t.weightDecay === null ? {} : { weightDecay: t.weightDecay };
  const momentum = t.momentum === null ? {} : { momentum: t.momentum };
  switch (t.optimizer) {
    case 'sgd': return new SGD(params, { lr: t.lr, ...wd, ...momentum });
    case 'adam': return new Adam(params, { lr: t.lr, ...wd });
    case 'adamw': return new AdamW(params, { lr: t.lr, ...wd });
    case 'rmsprop': return new RMSprop(params, { lr: t.lr, ...wd, ...momentum });
    case 'adagrad': return new Adagrad(params, { lr: t.lr, ...wd });
  }
}

/**
 * Every scheduler steps once per epoch, its parameters derived from the run's length so each
 * does something sensible for any number of epochs: step ×0.1 every ⌊epochs/3⌋ epochs;
 * cosine to 0 over the run; exponential ×0.9 per epoch; linear warm-up from lr/3 over up to
 * 5 epochs; plateau ×0.5 once the test loss has not improved for 2 epochs.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function buildScheduler(opt: Optimizer<any>, t: TrainingOptions): Scheduler | null {
  switch (t.scheduler) {
    case 'none': return null;
    case 'step': return new StepLR(opt, Math.max(1, Math.floor(t.epochs / 3)), 0.1);
    case 'cosine': return new CosineAnnealingLR(opt, Math.max(1, t.epochs), 0);
    case 'exponential': return new ExponentialLR(opt, 0.9);
    case 'linear': return new LinearLR(opt, 1 / 3, 1, Math.max(1, Math.min(5, t.epochs - 1)));
    case 'plateau': return new ReduceLROnPlateau(opt, { factor: 0.5, patience: 1 });
  }
}

/** Checks that the model takes the data's features and has an output for every class. */
export function checkModelFitsData(model: ModelConfig, data: Pick<LoadedData, 'features' | 'numClasses' | 'description'>): void {
  const { features, classes } = modelShape(model);
  if (features !== data.features) {
    throw new ShapeError(`the model takes ${features} input features but ${data.description} has ${data.features} per sample` +
      (model.kind === 'mlp' ? ` (the first of --layers must be ${data.features})` : ''));
  }
  if (classes < data.numClasses) {
    throw new ShapeError(`the model has ${classes} outputs but ${data.description} has ${data.numClasses} classes` +
      (model.kind === 'mlp' ? ` (the last of --layers must be at least ${data.numClasses})` : ''));
  }
}

function loader(split: { x: Tensor; y: Tensor }, batchSize: number, shuffle: boolean, seed: number): DataLoader<Tensor[], Tensor[]> {
  return new DataLoader(new TensorDataset(split.x, split.y), { batchSize, shuffle, seed });
}

/** Seeds the default generator, then builds the model (its initial weights come from it) and the rest. */
export function createSession(cfg: RunConfig, data: LoadedData): Session {
  checkModelFitsData(cfg.model, data);
  const t = cfg.training;
  manualSeed(t.seed);
  const model = buildModel(cfg.model);
  const optimizer = buildOptimizer(model.parameters(), t);
  const scheduler = buildScheduler(optimizer, t);
  return {
    model, optimizer, scheduler,
    trainLoader: loader(data.train, t.batchSize, true, t.seed),
    testLoader: data.test ? loader(data.test, Math.max(EVAL_BATCH_SIZE, t.batchSize), false, t.seed) : null,
  };
}

export interface RngState {
  global: number[];
  loader: number[];
}

/** The checkpoint of a session after `cfg.epoch` epochs. */
export function checkpointOf(s: Session, cfg: RunConfig, metrics: EpochMetrics[]): Checkpoint {
  const opt = splitTensors({ optimizer: s.optimizer.stateDict(), scheduler: s.scheduler?.stateDict() ?? null });
  const rng: RngState = { global: defaultGenerator.getState(), loader: s.trainLoader.generator.getState() };
  return {
    model: s.model.stateDict(),
    config: cfg,
    optimizer: { tensors: opt.tensors, state: opt.json },
    rng,
    metrics,
    extra: { 'metrics.csv': metricsToCsv(metrics) },
  };
}

/** Loads a checkpoint's weights into a model, naming the checkpoint when they do not fit. */
export function loadWeights(model: Classifier, ckpt: LoadedCheckpoint): void {
  const sd = Object.fromEntries(Object.entries(ckpt.model).map(([k, t]) => [k, toTensor(t)]));
  try {
    model.loadStateDict(sd);
  } catch (err) {
    throw new FormatError(`${ckpt.dir}/model.safetensors`, `does not fit the model in config.json: ${(err as Error).message}`);
  }
}

/** Puts a session back in the state the checkpoint recorded. */
export function restore(s: Session, ckpt: LoadedCheckpoint): void {
  loadWeights(s.model, ckpt);
  const where = `${ckpt.dir}/optimizer.json`;
  if (ckpt.optimizer === undefined) throw new FormatError(ckpt.dir, 'has no optimizer state, so training cannot resume from it');
  const state = joinTensors(ckpt.optimizer.state, ckpt.optimizer.tensors, where) as {
    optimizer: OptimizerStateDict; scheduler: Record<string, unknown> | null;
  };
  try {
    s.optimizer.loadStateDict(state.optimizer);
    if (s.scheduler && state.scheduler) s.scheduler.loadStateDict(state.scheduler);
  } catch (err) {
    throw new FormatError(where, `does not fit the optimizer in config.json: ${(err as Error).message}`);
  }
  const rng = ckpt.rng as RngState | undefined;
  if (!rng || !Array.isArray(rng.global) || !Array.isArray(rng.loader)) {
    throw new FormatError(`${ckpt.dir}/rng.json`, 'missing or malformed generator state; resuming needs it to shuffle as the original run');
  }
  defaultGenerator.setState(rng.global);
  s.trainLoader.generator.setState(rng.loader);
}
