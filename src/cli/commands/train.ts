/** `chainrule train`: train a classifier, with a live progress bar, per-epoch test accuracy and checkpoints. */
import { detectAnomaly } from '../../autograd/anomaly.js';
import { validateRunConfig } from '../../train/config-schema.js';
import { backend } from '../../backend/index.js';
import { ensureDir, loadCheckpoint, saveCheckpoint } from '../../io/checkpoint.js';
import { FormatError, WriteError } from '../../io/errors.js';
import { lockDir } from '../../io/lock.js';
import { loadData, type LoadedData } from '../../train/data.js';
import { fit, NonFiniteLossError } from '../../train/loop.js';
import { isEpochMetrics, type EpochMetrics } from '../../train/metrics.js';
import type { ModelConfig } from '../../train/model.js';
import { checkpointOf, createSession, restore, type RunConfig, type Session } from '../../train/session.js';
import { flag, formatFlags, parseArgs, type FlagValues } from '../args.js';
import { EXIT_DIVERGED, EXIT_WRITE, ExitError, OutputClosedError, UsageError } from '../errors.js';
import { formatDuration, percent, ProgressBar } from '../progress.js';
import { chainruleVersion } from '../version.js';
import { GradientMonitor } from '../../inspect/gradient-monitor.js';
import { writeTrainingPlots } from '../../inspect/training-plots.js';
import { DATA_FLAGS, dataSourceFromFlags, hasDataFlags } from './data-flags.js';
import { checkOutputDir } from './train-output.js';
import { MODEL_FLAGS, OPTIM_FLAGS, readTrainConfig, TRAIN_DEFAULTS, type ConfigValues } from './train-config.js';
import type { CliIO, Command } from './types.js';
import { GPT_HELP, isGptRun, trainGptCommand } from './train-gpt.js';

const FLAGS = {
  ...MODEL_FLAGS,
  ...OPTIM_FLAGS,
  config: flag.string('a JSON file with any of these settings (camelCase keys); flags win over it', { valueName: 'FILE' }),
  ...DATA_FLAGS,
  allowNan: flag.bool('keep training when the loss becomes NaN or Inf (it stops, exit code 3, by default); with --csv also keep such cells'),
  out: flag.string('write the checkpoint and metrics.csv/metrics.json here after every epoch', { valueName: 'DIR' }),
  overwrite: flag.bool('with --out: write into DIR even if it holds other files or another run\'s checkpoint'),
  resume: flag.string('continue the run saved in DIR (writes back to DIR unless --out is given)', { valueName: 'DIR' }),
  plots: flag.bool('with --out: also write loss.svg, accuracy.svg and gradient-flow.svg there after every epoch'),
  quiet: flag.bool('print only the final summary'),
  detectAnomaly: flag.bool('stop at the first op whose forward or backward makes a NaN or infinity, naming it (slower)'),
};
type Flags = FlagValues<typeof FLAGS>;

/** Flags that may accompany --resume; the rest are fixed by the checkpoint. */
const RESUME_FLAGS = new Set(['resume', 'epochs', 'out', 'quiet', 'data', 'full', 'plots', 'allowNan', 'overwrite', 'detectAnomaly']);

const HELP = `Usage: chainrule train [options]

Trains a classifier and reports test accuracy after every epoch. With no options it trains
a 784-128-10 MLP on the Fashion-MNIST subset shipped with chainrule (10,000 training and
2,000 test images).

Options:
${formatFlags(FLAGS)}

Examples:
  chainrule train
  chainrule train --full --layers 784,256,128,10 --epochs 5 --out runs/fashion
  chainrule train --csv iris.csv --label-column species --layers 4,16,3 --epochs 50 --lr 0.01
  chainrule train --resume runs/fashion --epochs 10

${GPT_HELP}`;

export const trainCommand: Command = {
  name: 'train',
  summary: 'train a classifier on Fashion-MNIST or your own CSV, or a GPT on a text',
  help: () => HELP,
  async run(argv, io) {
    if (await isGptRun(argv)) return trainGptCommand(argv, io);
    const { values, positionals } = parseArgs(argv, FLAGS, 'chainrule train');
    if (positionals.length) {
      // `chainrule train runs/a` (the --out forgotten) would train and save nothing.
      const hint = positionals.length === 1 && values.out === undefined ? `; to save the run in ${positionals[0]}, use --out ${positionals[0]}` : '';
      throw new UsageError(`train takes no positional arguments, got ${positionals.join(' ')}${hint}`);
    }
    const { session, cfg, data, history } = values.resume !== undefined ? await resumeRun(values) : await newRun(values);
    const out = values.out ?? values.resume ?? null;
    if (cfg.epoch >= cfg.training.epochs) {
      io.stdout.write(`${values.resume} already holds ${cfg.epoch} epochs; pass --epochs N with N > ${cfg.epoch} to train further\n`);
      return 0;
    }
    if (values.plots && out === null) throw new UsageError('--plots writes its charts next to the checkpoint; give --out DIR');
    if (values.overwrite && out === null) throw new UsageError('--overwrite applies to --out DIR');
    const anomaly = <T>(run: () => Promise<T>): Promise<T> => (values.detectAnomaly === true ? detectAnomaly(run) : run());
    if (out === null) return anomaly(() => train(io, session, cfg, data, history, null, null, values));
    await ensureDir(out); // a bad --out fails now, not after the first epoch
    const lock = await lockDir(out, ['chainrule', 'train', ...argv].join(' '));
    try {
      if (!values.overwrite) await checkOutputDir(out, cfg, values.resume ?? null);
      const saved = values.resume !== undefined && out === values.resume ? cfg.epoch : null;
      return await anomaly(() => train(io, session, cfg, data, history, out, saved, values));
    } finally {
      await lock.release();
    }
  },
};

async function newRun(v: Flags): Promise<{ session: Session; cfg: RunConfig; data: LoadedData; history: EpochMetrics[] }> {
  const fromFile: ConfigValues = v.config !== undefined ? await readTrainConfig(v.config) : {};
  // Data flags on the command line replace the config file's choice of data as a whole.
  const dataFlags = hasDataFlags(v) ? v : { ...fromFile, ...v };
  const nanCells = dataFlags.csv !== undefined ? dataFlags.allowNan : undefined; // --allow-nan also covers the loss
  const s = { ...TRAIN_DEFAULTS, ...fromFile, ...v };
  if (s.model === 'gpt') throw new UsageError('a config file cannot choose the GPT; pass --model gpt on the command line');
  if (s.model === 'cnn' && s.layers !== undefined) throw new UsageError('--layers applies to --model mlp; the cnn preset is fixed');
  if (s.momentum !== undefined && s.optimizer !== 'sgd' && s.optimizer !== 'rmsprop') {
    throw new UsageError(`--momentum applies to sgd and rmsprop, not ${s.optimizer}`);
  }
  const source = dataSourceFromFlags({ ...dataFlags, allowNan: nanCells }, s.seed);
  const data = await loadData(source, undefined, { training: true });
  const model: ModelConfig = s.model === 'cnn'
    ? {
        kind: 'cnn', imageShape: data.imageShape ?? [1, 1, data.features], classes: data.numClasses,
        activation: s.activation, channels: [8, 16], hidden: 64, dropout: s.dropout,
      }
    : { kind: 'mlp', layers: s.layers ?? [data.features, ...TRAIN_DEFAULTS.hidden, data.numClasses], activation: s.activation, dropout: s.dropout };
  if (model.kind === 'cnn' && data.imageShape === null) throw new UsageError('--model cnn needs image data (Fashion-MNIST), not a CSV');
  const cfg: RunConfig = {
    format: 'chainrule-run',
    chainruleVersion: chainruleVersion(),
    model,
    data: source,
    preprocess: data.preprocess,
    classNames: data.classNames,
    featureNames: data.featureNames,
    training: {
      optimizer: s.optimizer, lr: s.lr, epochs: s.epochs, batchSize: s.batchSize, seed: s.seed,
      weightDecay: s.weightDecay ?? null, momentum: s.momentum ?? null, clipNorm: s.clipNorm ?? null, scheduler: s.scheduler,
    },
    epoch: 0,
  };
  return { session: createSession(cfg, data), cfg, data, history: [] };
}

async function resumeRun(v: Flags): Promise<{ session: Session; cfg: RunConfig; data: LoadedData; history: EpochMetrics[] }> {
  const extra = Object.keys(v).find((k) => !RESUME_FLAGS.has(k));
  if (extra !== undefined) {
    throw new UsageError(`--resume continues the saved run with its own settings; --${extra.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} cannot change them (only --epochs, --out, --quiet, --data, --full)`);
  }
  const ckpt = await loadCheckpoint(v.resume!);
  const cfg = runConfigOf(ckpt.config, `${v.resume}/config.json`);
  if (v.epochs !== undefined) cfg.training.epochs = v.epochs;
  if ((v.data !== undefined || v.full) && cfg.data.kind === 'fashion-mnist') {
    cfg.data = dataSourceFromFlags({ data: v.data, full: v.full, limit: cfg.data.limit ?? undefined }, cfg.training.seed);
  }
  const data = await loadData(cfg.data, cfg.preprocess);
  const session = createSession(cfg, data);
  restore(session, ckpt);
  const history = Array.isArray(ckpt.metrics) ? ckpt.metrics.filter(isEpochMetrics).slice(0, cfg.epoch) : [];
  return { session, cfg, data, history };
}

/** config.json as a RunConfig, or a message saying what is wrong with it. */
export function runConfigOf(json: unknown, source: string): RunConfig {
  return validateRunConfig(json, source);
}

function describeModel(cfg: RunConfig, params: number): string {
  const m = cfg.model;
  const shape = m.kind === 'mlp' ? `mlp ${m.layers.join('-')} ${m.activation}` : `cnn conv${m.channels.join('-conv')} fc${m.hidden} ${m.activation}`;
  const t = cfg.training;
  const extras = [
    t.weightDecay !== null ? `weight decay ${t.weightDecay}` : '', t.momentum !== null ? `momentum ${t.momentum}` : '',
    t.clipNorm !== null ? `clip ${t.clipNorm}` : '', t.scheduler !== 'none' ? `${t.scheduler} schedule` : '',
  ].filter(Boolean);
  return `model: ${shape} (${params.toLocaleString('en-US')} parameters); ${t.optimizer} lr ${t.lr}, batch ${t.batchSize}, ` +
    `${t.epochs} epoch${t.epochs === 1 ? '' : 's'}, seed ${t.seed}${extras.length ? `, ${extras.join(', ')}` : ''}`;
}

export function epochLine(m: EpochMetrics, epochs: number): string {
  const test = m.testAccuracy === null ? '' : `  test loss ${m.testLoss!.toFixed(4)} acc ${percent(m.testAccuracy)}`;
  const width = String(epochs).length;
  return `epoch ${String(m.epoch).padStart(width)}/${epochs}  train loss ${m.trainLoss.toFixed(4)} acc ${percent(m.trainAccuracy)}` +
    `${test}  lr ${Number(m.lr.toPrecision(4))}  ${m.seconds.toFixed(1)}s`;
}

/**
 * Trains, saving into `out` after every epoch. `saved`: the epoch of the checkpoint already in
 * `out` (null: none). A loss that becomes NaN/Inf, a failed save, or a closed standard output
 * stops the run with one line saying what happened and what `out` still holds.
 */
async function train(
  io: CliIO, s: Session, cfg: RunConfig, data: LoadedData, history: EpochMetrics[], out: string | null, saved: number | null,
  v: Flags,
): Promise<number> {
  const quiet = v.quiet === true;
  const plots = v.plots === true;
  const holds = () => (out === null ? 'nothing was saved (no --out)'
    : saved === null ? `nothing was saved to ${out}` : `the checkpoint in ${out} (epoch ${saved}) is intact`);
  try {
    return await trainEpochs(io, s, cfg, data, history, out, quiet, plots, v.allowNan === true, (e) => { saved = e; });
  } catch (err) {
    if (err instanceof NonFiniteLossError) {
      const where = `epoch ${err.epoch}${err.batch > 0 ? `, batch ${err.batch}` : ''}`;
      throw new ExitError(`${err.what} became ${Number.isNaN(err.value) ? 'NaN' : err.value} at ${where}; training stopped and epoch ${err.epoch} was not saved; ` +
        `${holds()}. Lower --lr, check the data for NaN/Inf, or pass --allow-nan to keep going`, EXIT_DIVERGED);
    }
    if (err instanceof OutputClosedError) throw new ExitError(`${err.message}; training stopped; ${holds()}`, EXIT_WRITE);
    if (err instanceof WriteError && !err.message.includes('saving the checkpoint')) {
      throw new WriteError(err.code, err.path, `${err.message}; ${holds()}`, { cause: err });
    }
    throw err;
  }
}

async function trainEpochs(
  io: CliIO, s: Session, cfg: RunConfig, data: LoadedData, history: EpochMetrics[], out: string | null, quiet: boolean,
  plots: boolean, allowNan: boolean, onSaved: (epoch: number) => void,
): Promise<number> {
  const say = (line: string) => { if (!quiet) io.stdout.write(`${line}\n`); };
  const t = cfg.training;
  say(`data: ${data.description}: ${data.train.y.shape[0]} training, ${data.test?.y.shape[0] ?? 0} test samples, ${data.numClasses} classes`);
  say(describeModel(cfg, s.model.numParameters()));
  const kernels = backend().name;
  if (cfg.epoch > 0) {
    say(`resuming after epoch ${cfg.epoch} of ${t.epochs}`);
    if (cfg.backend !== undefined && cfg.backend !== kernels) {
      say(`note: the run so far used ${cfg.backend} kernels and goes on with ${kernels}; the losses will differ in the last digits from an uninterrupted run`);
    }
  }
  cfg.backend = kernels;

  // --plots: per-layer gradient norms of the Linear layers, recorded every batch.
  let monitor: GradientMonitor | null = null;
  if (plots) {
    try {
      monitor = new GradientMonitor(s.model);
    } catch {
      say('note: --plots draws the gradient flow of Linear-layer models only; writing loss and accuracy curves');
    }
  }

  let bar: ProgressBar | null = null;
  const start = performance.now();
  await fit({
    model: s.model, optimizer: s.optimizer, scheduler: s.scheduler,
    trainLoader: s.trainLoader, testLoader: s.testLoader,
    epochs: t.epochs, startEpoch: cfg.epoch, clipNorm: t.clipNorm, allowNan,
    onBatch: (p) => {
      monitor?.step();
      if (quiet) return;
      if (bar === null) bar = new ProgressBar(io.stdout, `epoch ${p.epoch}/${t.epochs}`, p.total);
      bar.update(p.seen, p);
    },
    onEpochEnd: async (m) => {
      bar?.clear();
      bar = null;
      history.push(m);
      say(epochLine(m, t.epochs));
      cfg.epoch = m.epoch;
      if (out !== null) {
        await saveCheckpoint(out, checkpointOf(s, cfg, history));
        onSaved(m.epoch);
      }
      if (plots && out !== null) await writeTrainingPlots(out, history, monitor);
    },
  });
  const seconds = (performance.now() - start) / 1000;

  const last = history[history.length - 1]!;
  const diverged = history.filter((m) => !Number.isFinite(m.trainLoss) || (m.testLoss !== null && !Number.isFinite(m.testLoss)));
  if (diverged.length > 0) {
    io.stdout.write(`note: the loss was NaN or infinite in epoch${diverged.length === 1 ? '' : 's'} ${diverged.map((m) => m.epoch).join(', ')} (kept going: --allow-nan)\n`);
  }
  let summary: string;
  if (last.testAccuracy !== null) {
    const best = history.reduce((a, b) => ((b.testAccuracy ?? -1) > (a.testAccuracy ?? -1) ? b : a));
    summary = `done: test accuracy ${percent(last.testAccuracy)} after epoch ${last.epoch} (best ${percent(best.testAccuracy!)} at epoch ${best.epoch})`;
  } else {
    summary = `done: train accuracy ${percent(last.trainAccuracy)} after epoch ${last.epoch} (no test set)`;
  }
  io.stdout.write(`${summary}, ${seconds < 60 ? `${seconds.toFixed(1)}s` : formatDuration(seconds)} on ${kernels} kernels${out !== null ? `; checkpoint in ${out}` : ''}\n`);
  return 0;
}
