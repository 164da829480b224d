/**
 * A GPT checkpoint's config.json checked field by field (as config-schema.ts does for the
 * classifiers): a missing field, a value of the wrong type or out of range, a vocabulary that
 * does not match the model each give one FormatError naming the field ("model.heads") and
 * the value, before anything is built from it.
 */
import { GPT_LIMITS, type GptConfig } from './gpt-model.js';
import type { GptRunConfig, GptTrainingOptions, TextSource } from './gpt.js';
import { own, Reader } from './config-schema.js';

type Obj = Record<string, unknown>;

function readModel(r: Reader, c: Obj): GptConfig {
  const m = r.obj(c, 'model', 'model');
  r.choice(m, 'kind', 'model.kind', ['gpt'] as const);
  const int = (key: keyof typeof GPT_LIMITS) => r.num(m, key, `model.${key}`, { int: true, min: 1, max: GPT_LIMITS[key] });
  const cfg: GptConfig = {
    kind: 'gpt', vocabSize: int('vocabSize'), context: int('context'), layers: int('layers'), heads: int('heads'), embed: int('embed'),
    dropout: r.num(m, 'dropout', 'model.dropout', { min: 0, below: 1 }),
  };
  if (cfg.embed % cfg.heads !== 0) r.fail('model.embed', `${cfg.embed} is not a multiple of model.heads (${cfg.heads})`);
  return cfg;
}

function readData(r: Reader, c: Obj): TextSource {
  const d = r.obj(c, 'data', 'data');
  r.choice(d, 'kind', 'data.kind', ['text'] as const);
  const path = own(d, 'path');
  if (path !== null && typeof path !== 'string') r.fail('data.path', `expected a file path or null (the shipped text), got ${r.show(path)}`);
  return { kind: 'text', path: path as string | null, valFraction: r.num(d, 'valFraction', 'data.valFraction', { above: 0, below: 1 }) };
}

function readTraining(r: Reader, c: Obj): GptTrainingOptions {
  const t = r.obj(c, 'training', 'training');
  const steps = r.num(t, 'steps', 'training.steps', { int: true, min: 1, max: 1e12 });
  const lr = r.num(t, 'lr', 'training.lr', { above: 0 });
  return {
    steps, lr,
    batchSize: r.num(t, 'batchSize', 'training.batchSize', { int: true, min: 1, max: 1_000_000 }),
    minLr: r.num(t, 'minLr', 'training.minLr', { min: 0, max: lr }),
    warmup: r.num(t, 'warmup', 'training.warmup', { int: true, min: 0, max: steps }),
    weightDecay: r.num(t, 'weightDecay', 'training.weightDecay', { min: 0 }),
    beta2: r.num(t, 'beta2', 'training.beta2', { min: 0, below: 1 }),
    clipNorm: r.optNum(t, 'clipNorm', 'training.clipNorm', { above: 0 }),
    seed: r.num(t, 'seed', 'training.seed', { int: true, min: 0, max: Number.MAX_SAFE_INTEGER }),
    evalInterval: r.num(t, 'evalInterval', 'training.evalInterval', { int: true, min: 1 }),
    evalIters: r.num(t, 'evalIters', 'training.evalIters', { int: true, min: 1, max: 1_000_000 }),
  };
}

/** config.json of a GPT run as a GptRunConfig, or a FormatError naming the first field that is wrong. */
export function validateGptRunConfig(json: unknown, source: string): GptRunConfig {
  const r = new Reader(source);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    r.fail('config', `expected a JSON object (a chainrule GPT training config), got ${r.show(json)}`);
  }
  const c = json as Obj;
  if (own(c, 'format') !== 'chainrule-gpt-run') {
    const hint = own(c, 'format') === 'chainrule-run' ? ' (this checkpoint holds a classifier: use chainrule predict or eval)' : '';
    r.fail('format', `expected "chainrule-gpt-run"${hint}, got ${r.show(own(c, 'format'))}`);
  }
  const model = readModel(r, c);
  const data = readData(r, c);
  const vocab = own(c, 'vocab');
  if (!Array.isArray(vocab) || !vocab.every((ch) => typeof ch === 'string' && Array.from(ch).length === 1)) {
    r.fail('vocab', `expected an array of single characters, got ${r.show(vocab)}`);
  }
  const chars = vocab as string[];
  if (new Set(chars).size !== chars.length) r.fail('vocab', 'lists a character twice');
  if (chars.length !== model.vocabSize) r.fail('vocab', `has ${chars.length} characters but model.vocabSize is ${model.vocabSize}`);
  const training = readTraining(r, c);
  const step = r.num(c, 'step', 'step', { int: true, min: 0 });
  const version = own(c, 'chainruleVersion');
  const backend = own(c, 'backend');
  if (backend !== undefined && typeof backend !== 'string') r.fail('backend', `expected a string, got ${r.show(backend)}`);
  return {
    format: 'chainrule-gpt-run',
    chainruleVersion: typeof version === 'string' ? version : 'unknown',
    model, data, vocab: [...chars], training, step,
    ...(backend === undefined ? {} : { backend: backend as string }),
  };
}
