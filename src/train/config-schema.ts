/**
 * A checkpoint's config.json checked field by field before anything is built from it: a missing
 * field, a value of the wrong type or out of range, an unknown activation, optimizer or
 * scheduler each give one FormatError naming the field ("model.activation") and the value, not
 * a "Cannot read properties of undefined" from deep inside buildModel.
 *
 * Only the fields listed here are read; the result is a fresh object, so a key such as
 * "constructor", "toString" or "__proto__" in the file is never taken for a setting.
 */
import { FormatError } from '../io/errors.js';
import { ACTIVATIONS, type ModelConfig } from './model.js';
import type { DataSource, Preprocess } from './data.js';
import { OPTIMIZERS, SCHEDULERS, type RunConfig, type TrainingOptions } from './session.js';

type Obj = Record<string, unknown>;

/** The largest layer width or class count a config may name (a class count above it is refused on loading data too). */
export const MAX_LAYER_SIZE = 1_000_000;

/** Reads fields of a parsed JSON object, failing with the field's path (also used by gpt-config.ts). */
export class Reader {
  constructor(readonly source: string) {}

  fail(path: string, message: string): never {
    throw new FormatError(this.source, `${path}: ${message}`);
  }

  show(v: unknown): string {
    if (v === undefined) return 'missing';
    const s = JSON.stringify(v);
    return s === undefined ? typeof v : s.length > 60 ? `${s.slice(0, 57)}...` : s;
  }

  obj(parent: Obj, key: string, path: string): Obj {
    const v = own(parent, key);
    if (v === undefined) this.fail(path, 'missing');
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(path, `expected an object, got ${this.show(v)}`);
    return v as Obj;
  }

  str(parent: Obj, key: string, path: string): string {
    const v = own(parent, key);
    if (typeof v !== 'string') this.fail(path, `expected a string, got ${this.show(v)}`);
    return v as string;
  }

  choice<T extends string>(parent: Obj, key: string, path: string, options: readonly T[]): T {
    const v = own(parent, key);
    if (typeof v !== 'string' || !(options as readonly string[]).includes(v)) {
      this.fail(path, `${v === undefined ? 'missing' : `unknown value ${this.show(v)}`}; expected one of ${options.join(', ')}`);
    }
    return v as T;
  }

  num(parent: Obj, key: string, path: string, rule: { int?: boolean; min?: number; max?: number; above?: number; below?: number } = {}): number {
    const v = own(parent, key);
    const kind = rule.int ? 'an integer' : 'a finite number';
    if (typeof v !== 'number' || !Number.isFinite(v) || (rule.int && !Number.isInteger(v))) this.fail(path, `expected ${kind}, got ${this.show(v)}`);
    const n = v as number;
    const bad =
      (rule.min !== undefined && n < rule.min) ||
      (rule.max !== undefined && n > rule.max) ||
      (rule.above !== undefined && n <= rule.above) ||
      (rule.below !== undefined && n >= rule.below);
    if (bad) {
      const parts = [
        rule.min !== undefined ? `>= ${rule.min}` : '',
        rule.above !== undefined ? `> ${rule.above}` : '',
        rule.max !== undefined ? `<= ${rule.max}` : '',
        rule.below !== undefined ? `< ${rule.below}` : '',
      ].filter((p) => p !== '');
      this.fail(path, `${n} is out of range (must be ${parts.join(' and ')})`);
    }
    return n;
  }

  optNum(parent: Obj, key: string, path: string, rule: Parameters<Reader['num']>[3] = {}): number | null {
    const v = own(parent, key);
    return v === undefined || v === null ? null : this.num(parent, key, path, rule);
  }

  ints(parent: Obj, key: string, path: string, length: number | [number, number], min: number, max: number): number[] {
    const v = own(parent, key);
    const [lo, hi] = typeof length === 'number' ? [length, length] : length;
    if (!Array.isArray(v) || v.length < lo || v.length > hi) {
      this.fail(path, `expected an array of ${lo === hi ? lo : `${lo} to ${hi}`} integers, got ${this.show(v)}`);
    }
    const list = v as unknown[];
    return list.map((_, i) => this.num(list as unknown as Obj, String(i), `${path}[${i}]`, { int: true, min, max }));
  }

  nums(parent: Obj, key: string, path: string, rule: Parameters<Reader['num']>[3] = {}): number[] {
    const v = own(parent, key);
    if (!Array.isArray(v) || v.length === 0) this.fail(path, `expected a non-empty array of numbers, got ${this.show(v)}`);
    const list = v as unknown[];
    return list.map((_, i) => this.num(list as unknown as Obj, String(i), `${path}[${i}]`, rule));
  }
}

/** An own property only: never one inherited from Object.prototype. */
export function own(o: Obj, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

function readModel(r: Reader, c: Obj): ModelConfig {
  const m = r.obj(c, 'model', 'model');
  const kind = r.choice(m, 'kind', 'model.kind', ['mlp', 'cnn'] as const);
  const activation = r.choice(m, 'activation', 'model.activation', ACTIVATIONS);
  const dropout = r.optNum(m, 'dropout', 'model.dropout', { min: 0, below: 1 }) ?? 0;
  if (kind === 'mlp') {
    const layers = r.ints(m, 'layers', 'model.layers', [2, 64], 1, MAX_LAYER_SIZE);
    return { kind, layers, activation, dropout };
  }
  const imageShape = r.ints(m, 'imageShape', 'model.imageShape', 3, 1, 65_536) as [number, number, number];
  const channels = r.ints(m, 'channels', 'model.channels', 2, 1, 65_536) as [number, number];
  const hidden = r.num(m, 'hidden', 'model.hidden', { int: true, min: 1, max: MAX_LAYER_SIZE });
  const classes = r.num(m, 'classes', 'model.classes', { int: true, min: 2, max: MAX_LAYER_SIZE });
  return { kind, imageShape, channels, hidden, classes, activation, dropout };
}

function readData(r: Reader, c: Obj): DataSource {
  const d = r.obj(c, 'data', 'data');
  const kind = r.choice(d, 'kind', 'data.kind', ['fashion-mnist', 'csv'] as const);
  const limit = r.optNum(d, 'limit', 'data.limit', { int: true, min: 1 });
  const allowNan = own(d, 'allowNan');
  if (allowNan !== undefined && typeof allowNan !== 'boolean') r.fail('data.allowNan', `expected true or false, got ${r.show(allowNan)}`);
  const extra = allowNan === true ? { allowNan: true } : {};
  if (kind === 'fashion-mnist') {
    const dir = own(d, 'dir');
    if (dir !== null && typeof dir !== 'string') r.fail('data.dir', `expected a directory path or null, got ${r.show(dir)}`);
    return { kind, dir: dir as string | null, limit };
  }
  const path = r.str(d, 'path', 'data.path');
  const lc = own(d, 'labelColumn');
  if (typeof lc !== 'string' && !(typeof lc === 'number' && Number.isInteger(lc))) {
    r.fail('data.labelColumn', `expected a column name or an integer index, got ${r.show(lc)}`);
  }
  const testSplit = r.num(d, 'testSplit', 'data.testSplit', { min: 0, below: 1 });
  const seed = r.num(d, 'seed', 'data.seed', { int: true, min: 0, max: Number.MAX_SAFE_INTEGER });
  return { kind, path, labelColumn: lc as string | number, testSplit, seed, limit, ...extra };
}

function readPreprocess(r: Reader, c: Obj): Preprocess {
  const p = r.obj(c, 'preprocess', 'preprocess');
  const scale = r.num(p, 'scale', 'preprocess.scale', { above: 0 });
  const mean = r.nums(p, 'mean', 'preprocess.mean');
  const std = r.nums(p, 'std', 'preprocess.std', { above: 0 });
  if (mean.length !== std.length) r.fail('preprocess', `mean has ${mean.length} entries but std has ${std.length}`);
  return { scale, mean, std };
}

function readTraining(r: Reader, c: Obj): TrainingOptions {
  const t = r.obj(c, 'training', 'training');
  return {
    optimizer: r.choice(t, 'optimizer', 'training.optimizer', OPTIMIZERS),
    lr: r.num(t, 'lr', 'training.lr', { above: 0 }),
    epochs: r.num(t, 'epochs', 'training.epochs', { int: true, min: 0 }),
    batchSize: r.num(t, 'batchSize', 'training.batchSize', { int: true, min: 1, max: 1_000_000 }),
    seed: r.num(t, 'seed', 'training.seed', { int: true, min: 0, max: Number.MAX_SAFE_INTEGER }),
    weightDecay: r.optNum(t, 'weightDecay', 'training.weightDecay', { min: 0 }),
    momentum: r.optNum(t, 'momentum', 'training.momentum', { min: 0, below: 1 }),
    clipNorm: r.optNum(t, 'clipNorm', 'training.clipNorm', { above: 0 }),
    scheduler: r.choice(t, 'scheduler', 'training.scheduler', SCHEDULERS),
  };
}

/** config.json as a RunConfig, or a FormatError naming the first field that is wrong. */
export function validateRunConfig(json: unknown, source: string): RunConfig {
  const r = new Reader(source);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    r.fail('config', `expected a JSON object (a chainrule training config), got ${r.show(json)}`);
  }
  const c = json as Obj;
  if (own(c, 'format') === 'chainrule-gpt-run') {
    r.fail('format', 'this is a GPT checkpoint (chainrule train --model gpt); sample from it with chainrule generate DIR');
  }
  if (own(c, 'format') !== 'chainrule-run') {
    r.fail('format', `expected "chainrule-run" (this is not a chainrule training config), got ${r.show(own(c, 'format'))}`);
  }
  const model = readModel(r, c);
  const data = readData(r, c);
  const preprocess = readPreprocess(r, c);
  const cn = own(c, 'classNames');
  if (cn !== null && cn !== undefined && !(Array.isArray(cn) && cn.every((n) => typeof n === 'string'))) {
    r.fail('classNames', `expected null or an array of strings, got ${r.show(cn)}`);
  }
  const classNames = (cn ?? null) as string[] | null;
  const fn = own(c, 'featureNames');
  if (fn !== null && fn !== undefined && !(Array.isArray(fn) && fn.every((n) => typeof n === 'string'))) {
    r.fail('featureNames', `expected null or an array of strings, got ${r.show(fn)}`);
  }
  const featureNames = (fn ?? null) as string[] | null;
  const training = readTraining(r, c);
  const epoch = r.num(c, 'epoch', 'epoch', { int: true, min: 0 });
  const version = own(c, 'chainruleVersion');
  const backend = own(c, 'backend');
  if (backend !== undefined && typeof backend !== 'string') r.fail('backend', `expected a string, got ${r.show(backend)}`);

  const classes = model.kind === 'mlp' ? model.layers[model.layers.length - 1]! : model.classes;
  if (classNames !== null && classNames.length !== classes) {
    r.fail('classNames', `lists ${classNames.length} classes but the model has ${classes} outputs`);
  }
  const features = model.kind === 'mlp' ? model.layers[0]! : model.imageShape[0] * model.imageShape[1] * model.imageShape[2];
  if (featureNames !== null && featureNames.length !== features) {
    r.fail('featureNames', `lists ${featureNames.length} columns but the model takes ${features} features`);
  }
  if (preprocess.mean.length !== 1 && preprocess.mean.length !== features) {
    r.fail('preprocess.mean', `has ${preprocess.mean.length} entries; expected 1 or one per input feature (${features})`);
  }
  return {
    format: 'chainrule-run',
    chainruleVersion: typeof version === 'string' ? version : 'unknown',
    model, data, preprocess, classNames, featureNames, training, epoch,
    ...(backend === undefined ? {} : { backend: backend as string }),
  };
}
