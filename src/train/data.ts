/**
 * The data a training run reads (Node only): Fashion-MNIST (the embedded subset, the full
 * set found on disk, or any directory of the four IDX files) or a numeric CSV of one's own,
 * turned into float32 features [n, d] and int32 class labels [n], scaled and normalised.
 *
 * The source and the normalisation are plain JSON (DataSource, Preprocess) so that a
 * checkpoint records them and `eval`/`predict` rebuild exactly the same inputs.
 */
import { readCsvFile } from '../io/csv-file.js';
import { FormatError } from '../io/errors.js';
import type { RawTensor } from '../io/raw.js';
import { loadFashionMnist } from '../data/fashion.js';
import { Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { ValueError } from '../errors.js';

export type DataSource =
  /** dir null: the subset shipped with chainrule. */
  | { kind: 'fashion-mnist'; dir: string | null; limit?: number | null }
  | { kind: 'csv'; path: string; labelColumn: string | number; testSplit: number; seed: number; limit?: number | null; allowNan?: boolean };

/** x ↦ (x·scale − mean) / std, with one mean/std for all features or one per feature. */
export interface Preprocess {
  scale: number;
  mean: number[];
  std: number[];
}

export interface Split {
  x: Tensor;
  y: Tensor;
}

export interface LoadedData {
  train: Split;
  /** null when the source has no test set (a CSV with --test-split 0). */
  test: Split | null;
  /** Features per sample. */
  features: number;
  /** Image layout [channels, height, width] when the features are pixels. */
  imageShape: [number, number, number] | null;
  numClasses: number;
  classNames: string[] | null;
  /** The CSV's feature column names when it has a header row (predict matches columns by them), else null. */
  featureNames: string[] | null;
  preprocess: Preprocess;
  /** For messages: "Fashion-MNIST subset (data/fashion-mnist-subset)". */
  description: string;
}

/** Raw (unscaled) features and labels of the source, before any normalisation. */
interface RawSplits {
  train: { x: Float32Array; y: Int32Array };
  test: { x: Float32Array; y: Int32Array } | null;
  features: number;
  imageShape: [number, number, number] | null;
  classNames: string[] | null;
  featureNames: string[] | null;
  scale: number;
  perFeatureStats: boolean;
  description: string;
}

/** The most classes a dataset may have (a label of 2147483647 would otherwise ask for a 2^31-way output layer). */
export const MAX_CLASSES = 100_000;

export interface LoadOptions {
  /**
   * Loading to train a new model: a dataset of one class is then refused (a classifier of one
   * class learns nothing and reports 100% accuracy). Evaluating on such a file is fine.
   */
  training?: boolean;
  /**
   * The class names of the checkpoint being evaluated: the file's labels are then matched to them
   * by name (a CSV numbers its label names on its own, so a file of some of the classes would be
   * scored against the wrong ones), and a name the model does not know is an error.
   */
  classNames?: readonly string[] | null;
}

/** The labels of `raw` renumbered as the checkpoint's class names (see LoadOptions.classNames). */
function matchClassNames(raw: RawSplits, known: readonly string[] | null): RawSplits {
  if (raw.classNames === null) return raw;
  if (known === null) {
    throw new FormatError(raw.description, `its labels are names (${raw.classNames.slice(0, 3).map((c) => JSON.stringify(c)).join(', ')}${raw.classNames.length > 3 ? ', …' : ''}) but the checkpoint was trained on numbered classes`);
  }
  const index = new Map(known.map((c, i) => [c, i]));
  const to = raw.classNames.map((c) => {
    const k = index.get(c);
    if (k === undefined) throw new FormatError(raw.description, `label ${JSON.stringify(c)} is not one of the checkpoint's classes (${known.map((n) => JSON.stringify(n)).join(', ')})`);
    return k;
  });
  const remap = (s: { x: Float32Array; y: Int32Array }) => ({ x: s.x, y: Int32Array.from(s.y, (v) => to[v]!) });
  return { ...raw, train: remap(raw.train), test: raw.test === null ? null : remap(raw.test), classNames: [...known] };
}

export async function loadData(source: DataSource, preprocess?: Preprocess, options: LoadOptions = {}): Promise<LoadedData> {
  const read = source.kind === 'fashion-mnist' ? await readFashion(source) : await readCsv(source);
  const raw = options.classNames !== undefined && source.kind === 'csv' ? matchClassNames(read, options.classNames) : read;
  const limit = source.limit ?? null;
  const cut = (s: { x: Float32Array; y: Int32Array }) =>
    limit === null || s.y.length <= limit ? s : { x: s.x.subarray(0, limit * raw.features), y: s.y.subarray(0, limit) };
  const train = cut(raw.train);
  const test = raw.test === null ? null : cut(raw.test);
  if (train.y.length === 0) throw new FormatError(raw.description, 'the training set is empty: no samples to train on');

  let maxLabel = 0;
  for (const ys of [train.y, test?.y ?? new Int32Array(0)]) for (const v of ys) if (v > maxLabel) maxLabel = v;
  const rows = raw.train.y.length + (raw.test?.y.length ?? 0);
  const numClasses = raw.classNames?.length ?? maxLabel + 1;
  checkClasses(raw, numClasses, maxLabel, rows, options.training === true);
  const pre = preprocess ?? computePreprocess(train.x, raw.features, raw.scale, raw.perFeatureStats);
  const toSplit = (s: { x: Float32Array; y: Int32Array }): Split => ({
    x: new Tensor(applyPreprocess(s.x, raw.features, pre), [s.y.length, raw.features], 'float32'),
    y: new Tensor(Int32Array.from(s.y), [s.y.length], 'int32'),
  });
  return {
    train: toSplit(train),
    test: test === null || test.y.length === 0 ? null : toSplit(test),
    features: raw.features,
    imageShape: raw.imageShape,
    numClasses,
    classNames: raw.classNames,
    featureNames: raw.featureNames,
    preprocess: pre,
    description: raw.description,
  };
}

/** Refuses a class count that is absurd (more than MAX_CLASSES, or more than 10× the rows), labels beyond the class names, and (to train) a single class. */
function checkClasses(raw: RawSplits, numClasses: number, maxLabel: number, rows: number, training: boolean): void {
  const where = raw.description;
  if (raw.classNames !== null && maxLabel >= raw.classNames.length) {
    throw new FormatError(where, `label ${maxLabel} is beyond the ${raw.classNames.length} class names (labels must be 0..${raw.classNames.length - 1})`);
  }
  if (numClasses > MAX_CLASSES || numClasses > 10 * rows) {
    throw new FormatError(
      where,
      `the largest label is ${maxLabel}, which makes ${numClasses.toLocaleString('en-US')} classes for ${rows} rows ` +
        `(at most ${MAX_CLASSES.toLocaleString('en-US')} classes, and at most 10 per row, are accepted); labels must be class indices 0..C-1 or class names`,
    );
  }
  if (training) {
    const seen = new Set<number>();
    for (const ys of [raw.train.y, raw.test?.y ?? new Int32Array(0)]) for (const v of ys) if (seen.add(v).size > 1) return;
    const only = seen.values().next().value as number;
    const name = raw.classNames?.[only];
    throw new FormatError(where, `every row has the same class (${name === undefined ? `label ${only}` : JSON.stringify(name)}); a classifier needs at least two classes to learn from`);
  }
}

async function readFashion(source: Extract<DataSource, { kind: 'fashion-mnist' }>): Promise<RawSplits> {
  const fm = await loadFashionMnist(source.dir === null ? {} : { dir: source.dir });
  const images = (t: RawTensor, labels: RawTensor) => {
    const [n, h, w] = t.shape as [number, number, number];
    if (n === 0) throw new FormatError(fm.dir, 'the dataset is empty: the IDX files hold 0 images');
    // The typed-array constructors convert natively (Float32Array.from iterates: ~5× slower).
    return { x: new Float32Array(t.data as ArrayLike<number>), y: new Int32Array(labels.data as ArrayLike<number>), h, w };
  };
  const train = images(fm.trainImages, fm.trainLabels);
  const test = images(fm.testImages, fm.testLabels);
  if (train.h !== test.h || train.w !== test.w) {
    throw new FormatError(fm.dir, `training images are ${train.h}×${train.w} but test images are ${test.h}×${test.w}`);
  }
  return {
    train, test, features: train.h * train.w, imageShape: [1, train.h, train.w],
    classNames: [...fm.classNames], featureNames: null, scale: 1 / 255, perFeatureStats: false,
    description: source.dir === null ? `Fashion-MNIST subset (${fm.dir})` : `Fashion-MNIST (${fm.dir})`,
  };
}

async function readCsv(source: Extract<DataSource, { kind: 'csv' }>): Promise<RawSplits> {
  const csv = await readCsvFile(source.path, { labelColumn: source.labelColumn, allowNan: source.allowNan === true });
  const labels = csv.labels!;
  const n = labels.shape[0]!;
  const d = csv.features.shape[1]!;
  if (labels.dtype !== 'int32') {
    throw new FormatError(source.path, `label column ${JSON.stringify(csv.labelName)} holds non-integer numbers; classification needs class indices 0..C-1 or class names`);
  }
  const y = labels.data as Int32Array;
  const bad = y.findIndex((v) => v < 0);
  if (bad >= 0) throw new FormatError(source.path, `data row ${bad + 1}: label ${y[bad]} is negative; labels must be class indices 0..C-1 or class names`);
  const x = csv.features.data as Float32Array;
  if (!(source.testSplit >= 0 && source.testSplit < 1)) throw new ValueError(`test split must be in [0, 1), got ${source.testSplit}`);
  const nTest = Math.round(n * source.testSplit);
  // A permutation of its own, so the split depends on the seed alone, not on what else drew numbers.
  const perm = new Generator(source.seed).permutation(n);
  const take = (idx: Int32Array) => {
    const xs = new Float32Array(idx.length * d);
    const ys = new Int32Array(idx.length);
    idx.forEach((r, i) => {
      xs.set(x.subarray(r * d, (r + 1) * d), i * d);
      ys[i] = y[r]!;
    });
    return { x: xs, y: ys };
  };
  return {
    train: take(perm.subarray(nTest)),
    test: nTest > 0 ? take(perm.subarray(0, nTest)) : null,
    features: d, imageShape: null, classNames: csv.labelClasses ?? null, featureNames: csv.hasHeader ? csv.columns : null, scale: 1, perFeatureStats: true,
    description: `${source.path} (${n} rows, ${d} features, label ${JSON.stringify(csv.labelName)})`,
  };
}

/** Mean and std of the scaled training features: one pair for pixels, one per column for a CSV. */
export function computePreprocess(x: Float32Array, d: number, scale: number, perFeature: boolean): Preprocess {
  const k = perFeature ? d : 1;
  const sum = new Float64Array(k);
  const sq = new Float64Array(k);
  if (perFeature) {
    for (let i = 0; i < x.length; i++) {
      const v = x[i]! * scale;
      const j = i % d;
      sum[j]! += v;
      sq[j]! += v * v;
    }
  } else {
    // One pair of accumulators (the same sums, in the same order, without the index arithmetic).
    let s = 0;
    let q = 0;
    for (let i = 0; i < x.length; i++) {
      const v = x[i]! * scale;
      s += v;
      q += v * v;
    }
    sum[0] = s;
    sq[0] = q;
  }
  const count = x.length / k;
  const mean = Array.from(sum, (s) => s / count);
  const std = Array.from(sq, (s, j) => {
    const sd = Math.sqrt(Math.max(0, s / count - mean[j]! ** 2));
    return sd > 1e-8 ? sd : 1; // a constant column stays constant rather than dividing by 0
  });
  return { scale, mean, std };
}

export function applyPreprocess(x: ArrayLike<number>, d: number, p: Preprocess): Float32Array {
  const out = new Float32Array(x.length);
  const perFeature = p.mean.length > 1;
  if (perFeature && p.mean.length !== d) {
    throw new ValueError(`the inputs have ${d} features but the normalisation was computed for ${p.mean.length}`);
  }
  const scale = p.scale;
  if (perFeature) {
    for (let i = 0; i < x.length; i++) {
      const j = i % d;
      out[i] = (x[i]! * scale - p.mean[j]!) / p.std[j]!;
    }
  } else {
    const mean = p.mean[0]!;
    const std = p.std[0]!;
    for (let i = 0; i < x.length; i++) out[i] = (x[i]! * scale - mean) / std;
  }
  return out;
}
