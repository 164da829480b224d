/**
 * `chainrule train --model gpt`: a char-level GPT on a text (the shipped one or --text FILE),
 * with a progress line, an evaluation of both splits every --eval-interval steps, checkpoints
 * and --resume. `train` hands its arguments here when they ask for the GPT (see isGptRun).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { backend } from '../../backend/index.js';
import { ensureDir, loadCheckpoint, saveCheckpoint } from '../../io/checkpoint.js';
import { FormatError } from '../../io/errors.js';
import { Generator } from '../../tensor/random.js';
import { sampleGpt } from '../../train/generate.js';
import { validateGptRunConfig } from '../../train/gpt-config.js';
import {
  createGptSession, defaultWarmup, fitGpt, gptCheckpointOf, GPT_DEFAULTS, isGptStepMetrics, loadText, restoreGpt,
  type GptRunConfig, type GptSession, type GptStepMetrics,
} from '../../train/gpt.js';
import { GPT_LIMITS } from '../../train/gpt-model.js';
import { CharVocab, unigramEntropy } from '../../train/text.js';
import { flag, formatFlags, kebab, parseArgs, type FlagValues } from '../args.js';
import { UsageError } from '../errors.js';
import { formatDuration } from '../progress.js';
import { chainruleVersion } from '../version.js';
import type { CliIO } from './types.js';

const D = GPT_DEFAULTS;
export const GPT_FLAGS = {
  model: flag.choice('the model', ['gpt'] as const),
  layers: flag.int('transformer blocks', { positive: true, defaultText: String(D.layers) }),
  heads: flag.int('attention heads per block (a divisor of --embed)', { positive: true, defaultText: String(D.heads) }),
  embed: flag.int('embedding width', { positive: true, defaultText: String(D.embed) }),
  context: flag.int('characters of context the model sees', { positive: true, defaultText: String(D.context) }),
  dropout: flag.number('dropout on embeddings, attention and residual branches', { nonNegative: true, belowOne: true, defaultText: String(D.dropout) }),
  steps: flag.int('optimizer steps (with --resume: the total to reach)', { positive: true, defaultText: String(D.steps) }),
  batchSize: flag.int('windows per step', { positive: true, defaultText: String(D.batchSize) }),
  lr: flag.number('peak learning rate (AdamW)', { positive: true, defaultText: String(D.lr) }),
  minLr: flag.number('learning rate at the end of the cosine decay', { nonNegative: true, defaultText: String(D.minLr) }),
  warmup: flag.int('steps of linear warm-up', { nonNegative: true, defaultText: 'a tenth of --steps, at most 100' }),
  weightDecay: flag.number('AdamW weight decay (matrices only)', { nonNegative: true, defaultText: String(D.weightDecay) }),
  clipNorm: flag.number('clip the gradients\' total 2-norm to this', { positive: true, defaultText: String(D.clipNorm) }),
  seed: flag.int('seed of the weights, the batches and dropout', { nonNegative: true, defaultText: String(D.seed) }),
  evalInterval: flag.int('evaluate and checkpoint every N steps', { positive: true, defaultText: String(D.evalInterval) }),
  evalIters: flag.int('batches per split in each evaluation', { positive: true, defaultText: String(D.evalIters) }),
  text: flag.string('train on this UTF-8 text file', { valueName: 'FILE', defaultText: 'data/text/river-town.txt' }),
  valFraction: flag.number('fraction of the text (its end) held out for validation', { positive: true, belowOne: true, defaultText: String(D.valFraction) }),
  out: flag.string('write the checkpoint and metrics.csv/metrics.json here at every evaluation', { valueName: 'DIR' }),
  resume: flag.string('continue the GPT run saved in DIR (writes back to DIR unless --out is given)', { valueName: 'DIR' }),
  quiet: flag.bool('print only the final summary'),
};
type Flags = FlagValues<typeof GPT_FLAGS>;

const RESUME_FLAGS = new Set(['resume', 'steps', 'out', 'quiet', 'model']);

export const GPT_HELP = `With --model gpt it trains a character-level GPT (nanoGPT-style: causal self-attention,
GELU MLP, AdamW with weight decay on matrices, gradient clipping, warm-up and cosine decay)
on a text, by default the one shipped in data/text, and reports the loss on the training
and validation splits every --eval-interval steps. Sample from the checkpoint with
chainrule generate. Options with --model gpt:
${formatFlags(GPT_FLAGS)}

  chainrule train --model gpt --out runs/gpt
  chainrule train --model gpt --text my.txt --layers 4 --heads 4 --embed 128 --context 64 --steps 3000 --out runs/my
  chainrule train --resume runs/gpt --steps 3000
`;

/** Whether `train`'s arguments ask for the GPT: --model gpt, or --resume of a GPT checkpoint. */
export async function isGptRun(argv: readonly string[]): Promise<boolean> {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a.toLowerCase() === '--model=gpt' || (a === '--model' && argv[i + 1]?.trim().toLowerCase() === 'gpt')) return true;
    const dir = a === '--resume' ? argv[i + 1] : a.startsWith('--resume=') ? a.slice('--resume='.length) : undefined;
    if (dir !== undefined) {
      try {
        const cfg = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as { format?: unknown };
        if (cfg.format === 'chainrule-gpt-run') return true;
      } catch {
        // Not readable here: train's own resume reports what is wrong with DIR.
      }
    }
  }
  return false;
}

function check(v: Flags): void {
  for (const key of ['layers', 'heads', 'embed', 'context'] as const) {
    const x = v[key];
    if (x !== undefined && x > GPT_LIMITS[key]) throw new UsageError(`--${key}: at most ${GPT_LIMITS[key]}, got ${x}`);
  }
  const embed = v.embed ?? D.embed;
  const heads = v.heads ?? D.heads;
  if (embed % heads !== 0) throw new UsageError(`--embed ${embed} must be a multiple of --heads ${heads} (each head gets embed/heads dimensions)`);
  const steps = v.steps ?? D.steps;
  if (v.warmup !== undefined && v.warmup > steps) throw new UsageError(`--warmup ${v.warmup} is longer than the run (--steps ${steps})`);
  const lr = v.lr ?? D.lr;
  if ((v.minLr ?? Math.min(D.minLr, lr)) > lr) throw new UsageError(`--min-lr ${v.minLr} is above the peak --lr ${lr}`);
}

interface Run {
  session: GptSession;
  cfg: GptRunConfig;
  text: string;
  description: string;
  history: GptStepMetrics[];
}

async function newRun(v: Flags): Promise<Run> {
  check(v);
  const source = { kind: 'text' as const, path: v.text ?? null, valFraction: v.valFraction ?? D.valFraction };
  const { text, description } = await loadText(source);
  const vocab = CharVocab.fromText(text);
  if (vocab.size < 2) throw new FormatError(description, `has ${vocab.size} distinct character; a language model needs at least 2`);
  const steps = v.steps ?? D.steps;
  const lr = v.lr ?? D.lr;
  const cfg: GptRunConfig = {
    format: 'chainrule-gpt-run',
    chainruleVersion: chainruleVersion(),
    model: {
      kind: 'gpt', vocabSize: vocab.size, context: v.context ?? D.context, layers: v.layers ?? D.layers,
      heads: v.heads ?? D.heads, embed: v.embed ?? D.embed, dropout: v.dropout ?? D.dropout,
    },
    data: source,
    vocab: [...vocab.chars],
    training: {
      steps, batchSize: v.batchSize ?? D.batchSize, lr, minLr: v.minLr ?? Math.min(D.minLr, lr),
      warmup: v.warmup ?? defaultWarmup(steps), weightDecay: v.weightDecay ?? D.weightDecay, beta2: D.beta2,
      clipNorm: v.clipNorm ?? D.clipNorm, seed: v.seed ?? D.seed, evalInterval: v.evalInterval ?? D.evalInterval,
      evalIters: v.evalIters ?? D.evalIters,
    },
    step: 0,
  };
  return { session: createGptSession(cfg, text, description), cfg, text, description, history: [] };
}

async function resumeRun(v: Flags): Promise<Run> {
  const extra = Object.keys(v).find((k) => !RESUME_FLAGS.has(k));
  if (extra !== undefined) {
    throw new UsageError(`--resume continues the saved run with its own settings; --${kebab(extra)} cannot change them (only --steps, --out, --quiet)`);
  }
  const ckpt = await loadCheckpoint(v.resume!);
  const cfg = validateGptRunConfig(ckpt.config, `${v.resume}/config.json`);
  if (v.steps !== undefined) {
    if (cfg.training.warmup > v.steps) throw new UsageError(`--steps ${v.steps} is shorter than the run's warm-up (${cfg.training.warmup} steps)`);
    cfg.training.steps = v.steps;
  }
  const { text, description } = await loadText(cfg.data);
  const session = createGptSession(cfg, text, description);
  restoreGpt(session, ckpt);
  const history = Array.isArray(ckpt.metrics) ? ckpt.metrics.filter(isGptStepMetrics).filter((m) => m.step <= cfg.step) : [];
  return { session, cfg, text, description, history };
}

function describeRun(cfg: GptRunConfig, params: number): string {
  const m = cfg.model;
  const t = cfg.training;
  return `model: gpt ${m.layers} layer${m.layers === 1 ? '' : 's'}, ${m.heads} head${m.heads === 1 ? '' : 's'}, ${m.embed} embed, ` +
    `context ${m.context}, dropout ${m.dropout} (${params.toLocaleString('en-US')} parameters); adamw lr ${t.lr} to ${t.minLr} ` +
    `(warm-up ${t.warmup}, cosine), weight decay ${t.weightDecay}${t.clipNorm !== null ? `, clip ${t.clipNorm}` : ''}, ` +
    `batch ${t.batchSize}, ${t.steps} steps, seed ${t.seed}`;
}

export function evalLine(m: GptStepMetrics, steps: number): string {
  return `step ${String(m.step).padStart(String(steps).length)}/${steps}  train loss ${m.trainLoss.toFixed(4)}  ` +
    `val loss ${m.valLoss.toFixed(4)}  lr ${Number(m.lr.toPrecision(4))}  ${m.seconds.toFixed(1)}s`;
}

export async function trainGptCommand(argv: string[], io: CliIO): Promise<number> {
  const { values: v, positionals } = parseArgs(argv, GPT_FLAGS, 'chainrule train --model gpt');
  if (positionals.length) throw new UsageError(`chainrule train takes no positional arguments, got ${positionals.join(' ')}`);
  if (v.model === undefined && v.resume === undefined) throw new UsageError('the GPT options need --model gpt');
  const run = v.resume !== undefined ? await resumeRun(v) : await newRun(v);
  const { session: s, cfg, history } = run;
  const t = cfg.training;
  const out = v.out ?? v.resume ?? null;
  if (cfg.step >= t.steps) {
    io.stdout.write(`${v.resume} already holds ${cfg.step} steps; pass --steps N with N > ${cfg.step} to train further\n`);
    return 0;
  }
  if (out !== null) await ensureDir(out);
  const quiet = v.quiet === true;
  const say = (line: string) => { if (!quiet) io.stdout.write(`${line}\n`); };
  const entropy = unigramEntropy(run.text);
  say(`data: ${run.description}: ${s.data.train.length.toLocaleString('en-US')} training, ${s.data.val.length.toLocaleString('en-US')} validation characters, ` +
    `vocabulary ${s.data.vocab.size}; unigram entropy ${entropy.toFixed(4)} nats`);
  say(describeRun(cfg, s.model.numParameters()));
  const kernels = backend().name;
  if (cfg.step > 0) {
    say(`resuming after step ${cfg.step} of ${t.steps}`);
    if (cfg.backend !== undefined && cfg.backend !== kernels) {
      say(`note: the run so far used ${cfg.backend} kernels and goes on with ${kernels}; the losses will differ in the last digits from an uninterrupted run`);
    }
  }
  cfg.backend = kernels;

  const tty = !quiet && io.stdout.isTTY === true;
  const start = performance.now();
  const startStep = cfg.step;
  let lastDraw = -Infinity;
  let drawn = false;
  const clear = () => { if (drawn) io.stdout.write('\r\x1b[K'); drawn = false; };
  await fitGpt({
    session: s, cfg,
    onStep: (step, loss, lr) => {
      if (!tty) return;
      const now = performance.now();
      if (now - lastDraw < 100 && step < t.steps) return;
      lastDraw = now;
      const seconds = (now - start) / 1000;
      const rate = (step - startStep) / seconds;
      const tokens = Math.round(rate * t.batchSize * cfg.model.context);
      const line = `step ${step}/${t.steps} loss ${loss.toFixed(4)} lr ${Number(lr.toPrecision(3))} ${tokens} tokens/s ETA ${formatDuration((t.steps - step) / rate)}`;
      io.stdout.write(`\r${line.slice(0, (io.stdout.columns || 100) - 1)}\x1b[K`);
      drawn = true;
    },
    onEval: async (m) => {
      clear();
      history.push(m);
      say(evalLine(m, t.steps));
      if (out !== null) await saveCheckpoint(out, gptCheckpointOf(s, cfg, history));
    },
  });
  clear();
  const seconds = (performance.now() - start) / 1000;
  const last = history[history.length - 1]!;
  const best = history.reduce((a, b) => (b.valLoss < a.valLoss ? b : a));
  io.stdout.write(`done: val loss ${last.valLoss.toFixed(4)} after step ${last.step} (best ${best.valLoss.toFixed(4)} at step ${best.step}; ` +
    `unigram entropy ${entropy.toFixed(4)}), ${seconds < 60 ? `${seconds.toFixed(1)}s` : formatDuration(seconds)} on ${kernels} kernels` +
    `${out !== null ? `; checkpoint in ${out}` : ''}\n`);
  if (!quiet) {
    const vocab = s.data.vocab;
    const startId = vocab.encode(vocab.has('\n') ? '\n' : vocab.chars[0]!);
    const ids = sampleGpt(s.model, startId, { tokens: 200, temperature: 0.8, generator: new Generator(t.seed) });
    say(`sample (temperature 0.8, seed ${t.seed}):\n${vocab.decode(ids.subarray(1))}`);
  }
  return 0;
}
