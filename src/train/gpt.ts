/**
 * Training the char-level GPT (src/train/gpt-model.ts) on a text: the run as data
 * (`GptRunConfig`, what config.json holds), the session built from it, the step loop with
 * nanoGPT's recipe (AdamW with decay on matrices only, gradient clipping, linear warm-up then a
 * cosine decay of the learning rate), evaluation on both splits and checkpoints through the
 * same machinery as the classifiers (src/io/checkpoint.ts), so `train --resume` continues a
 * run bit for bit.
 *
 * Node only where it reads files (loadText); the rest runs anywhere.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { noGrad } from '../autograd/grad-mode.js';
import type { Checkpoint, LoadedCheckpoint } from '../io/checkpoint.js';
import { FormatError } from '../io/errors.js';
import { readInputFile } from '../io/read-input.js';
import { clipGradNorm_ } from '../nn/clip.js';
import { AdamW, type OptimizerStateDict } from '../optim/index.js';
import { Generator, defaultGenerator, manualSeed } from '../tensor/random.js';
import { GPT, type GptConfig } from './gpt-model.js';
import { joinTensors, splitTensors, toTensor } from './state.js';
import { CharVocab, textDataset, type TextDataset } from './text.js';

/** The text a run trains on: null path = the text shipped with chainrule (data/text). */
export interface TextSource {
  kind: 'text';
  path: string | null;
  valFraction: number;
}

export interface GptTrainingOptions {
  steps: number;
  batchSize: number;
  /** Peak learning rate, reached after `warmup` steps. */
  lr: number;
  /** The learning rate the cosine decays to at the last step. */
  minLr: number;
  warmup: number;
  /** AdamW's decoupled weight decay, on matrices only. */
  weightDecay: number;
  beta2: number;
  /** Clip the gradients' total 2-norm to this before each step; null: no clipping. */
  clipNorm: number | null;
  seed: number;
  /** Evaluate (and checkpoint) every this many steps, and after the last. */
  evalInterval: number;
  /** Batches averaged per split in each evaluation. */
  evalIters: number;
}

export interface GptRunConfig {
  format: 'chainrule-gpt-run';
  chainruleVersion: string;
  model: GptConfig;
  data: TextSource;
  /** The characters of the vocabulary, by token id. */
  vocab: string[];
  training: GptTrainingOptions;
  /** Steps completed when the checkpoint was written. */
  step: number;
  /** The kernels that trained it (see RunConfig.backend). */
  backend?: string;
}

/**
 * The defaults of `chainrule train --model gpt`: a 2-layer, 4-head, 64-wide model over 32
 * characters of context, measured to bring the validation loss well below the text's unigram
 * entropy in a few minutes on two cores.
 */
export const GPT_DEFAULTS = {
  layers: 2,
  heads: 4,
  embed: 64,
  context: 32,
  dropout: 0.1,
  steps: 1000,
  batchSize: 16,
  lr: 3e-3,
  minLr: 3e-4,
  weightDecay: 0.1,
  beta2: 0.99,
  clipNorm: 1,
  seed: 0,
  evalInterval: 100,
  evalIters: 10,
  valFraction: 0.1,
};

/** The warm-up when none is given: a tenth of the run, at most 100 steps. */
export const defaultWarmup = (steps: number): number => Math.min(100, Math.floor(steps / 10));

/** The text shipped with chainrule (an original text written for it; see data/text/README.md). */
export const DEFAULT_TEXT_FILE = join('data', 'text', 'river-town.txt');

/** The shipped text's path, searched upward from this module (src/train under tsx, dist/train once built). */
export function defaultTextPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  const tried: string[] = [];
  for (let up = 0; up < 6; up++) {
    const candidate = join(dir, DEFAULT_TEXT_FILE);
    if (existsSync(candidate)) return candidate;
    tried.push(candidate);
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new FormatError(DEFAULT_TEXT_FILE, `the text shipped with chainrule is missing; tried:\n  ${tried.join('\n  ')}`);
}

/** The text of a source, as UTF-8; a file that is not valid UTF-8 is refused, naming it. */
export async function loadText(source: TextSource): Promise<{ text: string; description: string }> {
  const path = source.path ?? defaultTextPath();
  const bytes = source.path === null ? readFileSync(path) : await readInputFile(path);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new FormatError(path, 'is not UTF-8 text (--text takes a plain text file)');
  }
  if (text.length === 0) throw new FormatError(path, 'is empty: there is nothing to train on');
  return { text, description: source.path === null ? `${DEFAULT_TEXT_FILE} (shipped with chainrule)` : path };
}

export interface GptSession {
  model: GPT;
  optimizer: AdamW;
  data: TextDataset;
  /** Draws the training batches' windows (its state is checkpointed). */
  batches: Generator;
}

export interface GptStepMetrics {
  step: number;
  /** Mean loss over `evalIters` batches of each split, in eval mode. */
  trainLoss: number;
  valLoss: number;
  lr: number;
  /** Seconds since the run (or its resumption) started. */
  seconds: number;
}

/** Builds the model (weights from the seeded default generator), the optimizer and the data. */
export function createGptSession(cfg: GptRunConfig, text: string, description: string): GptSession {
  const t = cfg.training;
  const vocab = new CharVocab(cfg.vocab);
  const data = textDataset(text, { valFraction: cfg.data.valFraction, vocab, source: description });
  for (const [split, ids] of [['training', data.train], ['validation', data.val]] as const) {
    if (ids.length < cfg.model.context + 1) {
      throw new FormatError(description, `the ${split} split has ${ids.length} characters, fewer than the context + 1 (${cfg.model.context + 1}); use a longer text or a shorter --context`);
    }
  }
  manualSeed(t.seed);
  const model = new GPT(cfg.model);
  const { decay, noDecay } = model.decayGroups();
  const optimizer = new AdamW(
    [{ params: decay, weightDecay: t.weightDecay }, { params: noDecay, weightDecay: 0 }],
    { lr: t.lr, betas: [0.9, t.beta2] },
  );
  return { model, optimizer, data, batches: new Generator(t.seed + 1) };
}

/** The learning rate of step `step` (0-based): linear warm-up to lr, then a cosine down to minLr. */
export function gptLr(t: GptTrainingOptions, step: number): number {
  if (step < t.warmup) return (t.lr * (step + 1)) / t.warmup;
  const span = Math.max(1, t.steps - t.warmup);
  const progress = Math.min(1, (step - t.warmup) / span);
  return t.minLr + 0.5 * (1 + Math.cos(Math.PI * progress)) * (t.lr - t.minLr);
}

/**
 * Mean loss over `iters` batches of a split, in eval mode, without a graph. The windows come
 * from a generator seeded from the run's seed alone, so every evaluation sees the same batches
 * and training's generator is left alone.
 */
export function estimateLoss(s: GptSession, split: 'train' | 'val', iters: number, batchSize: number, seed: number): number {
  const gen = new Generator(seed + (split === 'train' ? 2 : 3));
  const wasTraining = s.model.training;
  s.model.eval();
  let sum = 0;
  try {
    noGrad(() => {
      for (let i = 0; i < iters; i++) {
        const [x, y] = s.data.batch(split, batchSize, s.model.config.context, gen);
        sum += s.model.loss(s.model.call(x), y).item();
      }
    });
  } finally {
    s.model.train(wasTraining);
  }
  return sum / iters;
}

export interface GptFitOptions {
  session: GptSession;
  cfg: GptRunConfig;
  /** After every step: the step just done (1-based) and its training loss. */
  onStep?: (step: number, loss: number, lr: number) => void;
  /** After each evaluation; awaited (save a checkpoint here). cfg.step is already updated. */
  onEval?: (m: GptStepMetrics) => void | Promise<void>;
  now?: () => number;
}

/**
 * Trains from step cfg.step to cfg.training.steps. A step whose loss is not finite stops the
 * run with an error naming the step (the weights after it would be garbage).
 */
export async function fitGpt(o: GptFitOptions): Promise<GptStepMetrics[]> {
  const { session: s, cfg } = o;
  const t = cfg.training;
  const now = o.now ?? (() => performance.now());
  const start = now();
  const params = s.model.parameters();
  const history: GptStepMetrics[] = [];
  s.model.train();
  for (let step = cfg.step; step < t.steps; step++) {
    const lr = gptLr(t, step);
    for (const g of s.optimizer.paramGroups) g.lr = lr;
    const [x, y] = s.data.batch('train', t.batchSize, cfg.model.context, s.batches);
    const loss = s.model.loss(s.model.call(x), y);
    s.optimizer.zeroGrad();
    loss.backward();
    if (t.clipNorm !== null) clipGradNorm_(params, t.clipNorm);
    s.optimizer.step();
    const value = loss.item();
    if (!Number.isFinite(value)) {
      throw new FormatError(s.data.source, `the training loss became ${value} at step ${step + 1} (learning rate ${lr}); try a smaller --lr`);
    }
    cfg.step = step + 1;
    o.onStep?.(step + 1, value, lr);
    if (cfg.step % t.evalInterval === 0 || cfg.step === t.steps) {
      const m: GptStepMetrics = {
        step: cfg.step,
        trainLoss: estimateLoss(s, 'train', t.evalIters, t.batchSize, t.seed),
        valLoss: estimateLoss(s, 'val', t.evalIters, t.batchSize, t.seed),
        lr, seconds: (now() - start) / 1000,
      };
      history.push(m);
      await o.onEval?.(m);
    }
  }
  return history;
}

export function gptMetricsToCsv(rows: readonly GptStepMetrics[]): string {
  return `${['step,train_loss,val_loss,lr,seconds', ...rows.map((r) => `${r.step},${r.trainLoss},${r.valLoss},${r.lr},${r.seconds}`)].join('\n')}\n`;
}

export function isGptStepMetrics(v: unknown): v is GptStepMetrics {
  return typeof v === 'object' && v !== null && typeof (v as GptStepMetrics).step === 'number' && typeof (v as GptStepMetrics).valLoss === 'number';
}

interface GptRngState {
  global: number[];
  batches: number[];
}

/** The checkpoint of a session after cfg.step steps. */
export function gptCheckpointOf(s: GptSession, cfg: GptRunConfig, metrics: GptStepMetrics[]): Checkpoint {
  const opt = splitTensors({ optimizer: s.optimizer.stateDict() });
  const rng: GptRngState = { global: defaultGenerator.getState(), batches: s.batches.getState() };
  return {
    model: s.model.stateDict(),
    config: cfg,
    optimizer: { tensors: opt.tensors, state: opt.json },
    rng,
    metrics,
    extra: { 'metrics.csv': gptMetricsToCsv(metrics) },
  };
}

/** Loads a checkpoint's weights into a GPT, naming the checkpoint when they do not fit. */
export function loadGptWeights(model: GPT, ckpt: LoadedCheckpoint): void {
  const sd = Object.fromEntries(Object.entries(ckpt.model).map(([k, t]) => [k, toTensor(t)]));
  try {
    model.loadStateDict(sd);
  } catch (err) {
    throw new FormatError(`${ckpt.dir}/model.safetensors`, `does not fit the model in config.json: ${(err as Error).message}`);
  }
}

/** Puts a session back in the state the checkpoint recorded. */
export function restoreGpt(s: GptSession, ckpt: LoadedCheckpoint): void {
  loadGptWeights(s.model, ckpt);
  const where = `${ckpt.dir}/optimizer.json`;
  if (ckpt.optimizer === undefined) throw new FormatError(ckpt.dir, 'has no optimizer state, so training cannot resume from it');
  const state = joinTensors(ckpt.optimizer.state, ckpt.optimizer.tensors, where) as { optimizer: OptimizerStateDict };
  try {
    s.optimizer.loadStateDict(state.optimizer as never);
  } catch (err) {
    throw new FormatError(where, `does not fit the optimizer in config.json: ${(err as Error).message}`);
  }
  const rng = ckpt.rng as GptRngState | undefined;
  if (!rng || !Array.isArray(rng.global) || !Array.isArray(rng.batches)) {
    throw new FormatError(`${ckpt.dir}/rng.json`, 'missing or malformed generator state; resuming needs it to draw the batches of the original run');
  }
  defaultGenerator.setState(rng.global);
  s.batches.setState(rng.batches);
}
