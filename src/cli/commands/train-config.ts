/**
 * `chainrule train`'s settings: the flags, a JSON config file with the same names in
 * camelCase, and the defaults, in that order of precedence:
 *
 *   { "layers": [784, 256, 128, 10], "optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "epochs": 10 }
 *
 * Config values go through the same parsers as the flags, so `"lr": "abc"` is refused
 * with the same words as `--lr abc` (but as a file error, exit 1, naming the file). The
 * paths in it ("csv", "data") are relative to the config file.
 */
import { dirname, resolve } from 'node:path';
import { FormatError } from '../../io/errors.js';
import { readInputFile } from '../../io/read-input.js';
import { ACTIVATIONS } from '../../train/model.js';
import { OPTIMIZERS, SCHEDULERS } from '../../train/session.js';
import { flag, kebab, type FlagValues } from '../args.js';
import { DATA_FLAGS } from './data-flags.js';

/**
 * Defaults measured so that `chainrule train` on the embedded subset (10k images) beats 82%
 * test accuracy in well under two minutes on two cores with the reference kernels.
 */
export const TRAIN_DEFAULTS = {
  model: 'mlp' as 'mlp' | 'cnn' | 'gpt',
  hidden: [128],
  activation: 'relu' as (typeof ACTIVATIONS)[number],
  dropout: 0,
  optimizer: 'adam' as (typeof OPTIMIZERS)[number],
  lr: 1e-3,
  epochs: 5,
  batchSize: 64,
  seed: 0,
  scheduler: 'none' as (typeof SCHEDULERS)[number],
};

export const MODEL_FLAGS = {
  model: flag.choice('the model (gpt: a char-level GPT on a text, options below)', ['mlp', 'cnn', 'gpt'] as const, { defaultText: TRAIN_DEFAULTS.model }),
  layers: flag.intList('MLP layer sizes, inputs to classes', { minLength: 2, defaultText: '784,128,10 (<features>,128,<classes> for a CSV)' }),
  activation: flag.choice('hidden-layer activation', ACTIVATIONS, { defaultText: TRAIN_DEFAULTS.activation }),
  dropout: flag.number('dropout probability after each hidden layer', { nonNegative: true, belowOne: true, defaultText: '0' }),
};

export const OPTIM_FLAGS = {
  optimizer: flag.choice('the optimizer', OPTIMIZERS, { defaultText: TRAIN_DEFAULTS.optimizer }),
  lr: flag.number('learning rate', { positive: true, defaultText: String(TRAIN_DEFAULTS.lr) }),
  epochs: flag.int('epochs to train (with --resume: the total to reach)', { positive: true, defaultText: String(TRAIN_DEFAULTS.epochs) }),
  batchSize: flag.int('samples per update', { positive: true, defaultText: String(TRAIN_DEFAULTS.batchSize) }),
  seed: flag.int('seed of the initial weights, the shuffling and the CSV split', { nonNegative: true, defaultText: '0' }),
  weightDecay: flag.number('weight decay (L2; decoupled for adamw)', { nonNegative: true, defaultText: '0, adamw 0.01' }),
  momentum: flag.number('momentum (sgd, rmsprop)', { nonNegative: true, belowOne: true, defaultText: '0' }),
  clipNorm: flag.number('clip the gradients\' total 2-norm to this', { positive: true }),
  scheduler: flag.choice('learning-rate schedule, stepped per epoch', SCHEDULERS, { defaultText: TRAIN_DEFAULTS.scheduler }),
};

/** The keys a config file may hold. */
export const CONFIG_KEYS = { ...MODEL_FLAGS, ...OPTIM_FLAGS, ...DATA_FLAGS };
export type ConfigValues = FlagValues<typeof CONFIG_KEYS>;

/** Reads a --config file into flag values. */
export async function readTrainConfig(path: string): Promise<ConfigValues> {
  const text = new TextDecoder().decode(await readInputFile(path));
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new FormatError(path, `not valid JSON: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new FormatError(path, 'a config file holds one JSON object, e.g. {"layers": [784, 128, 10], "epochs": 5}');
  }
  const out: Record<string, unknown> = {};
  const specs = CONFIG_KEYS as Record<string, (typeof CONFIG_KEYS)[keyof typeof CONFIG_KEYS]>;
  for (const [key, value] of Object.entries(json)) {
    const camel = key.replace(/[-_]([a-z])/g, (_, c: string) => c.toUpperCase());
    // An own key only: "constructor" or "toString" would otherwise find Object.prototype's.
    const spec = Object.hasOwn(specs, camel) ? specs[camel] : undefined;
    if (spec === undefined) {
      throw new FormatError(path, `unknown key ${JSON.stringify(key)}; known keys: ${Object.keys(specs).join(', ')}`);
    }
    if (spec.valueName === undefined) {
      if (typeof value !== 'boolean') throw new FormatError(path, `${JSON.stringify(key)} must be true or false`);
      if (value) out[camel] = true;
      continue;
    }
    const raw = Array.isArray(value) ? value.join(',') : typeof value === 'number' || typeof value === 'string' ? String(value) : undefined;
    if (raw === undefined) throw new FormatError(path, `${JSON.stringify(key)} has a ${value === null ? 'null' : typeof value} value; see chainrule train --help for --${kebab(camel)}`);
    const parsed = spec.parse(raw);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && 'error' in parsed) {
      throw new FormatError(path, `${JSON.stringify(key)}: ${parsed.error}`);
    }
    // Paths in a config file are relative to the file, wherever it is run from.
    out[camel] = camel === 'csv' || camel === 'data' ? resolve(dirname(path), parsed as string) : parsed;
  }
  return out as ConfigValues;
}
