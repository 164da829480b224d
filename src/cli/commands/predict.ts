/** `chainrule predict DIR --input FILE`: class probabilities for each row of a file. */
import { noGrad } from '../../autograd/grad-mode.js';
import { ShapeError } from '../../errors.js';
import { loadCheckpoint } from '../../io/checkpoint.js';
import { readCsvFile } from '../../io/csv-file.js';
import { FormatError } from '../../io/errors.js';
import { isGzip, readIdx } from '../../io/idx.js';
import type { RawTensor } from '../../io/raw.js';
import { readInputFile } from '../../io/read-input.js';
import { applyPreprocess } from '../../train/data.js';
import { buildModel, modelShape } from '../../train/model.js';
import { loadWeights } from '../../train/session.js';
import { Tensor } from '../../tensor/tensor.js';
import { flag, formatFlags, parseArgs } from '../args.js';
import { UsageError } from '../errors.js';
import { parseLabelColumn } from './data-flags.js';
import { runConfigOf } from './train.js';
import type { Command } from './types.js';

const FLAGS = {
  input: flag.string('the samples: an IDX images file (.gz or not), a CSV of features, or a JSON array', { valueName: 'FILE' }),
  format: flag.choice('output format', ['text', 'json'] as const, { defaultText: 'text' }),
  top: flag.int('classes listed per row in text output', { positive: true, defaultText: '3' }),
};

const HELP = `Usage: chainrule predict DIR --input FILE [options]

Prints the most likely class and the class probabilities for every sample in FILE, using
the checkpoint in DIR. Inputs are in the units of the training data (pixels 0-255 for
Fashion-MNIST, the CSV's raw values); the checkpoint's normalisation is applied to them.

FILE may be
  an IDX file      e.g. t10k-images-idx3-ubyte.gz: one sample per leading index
  a CSV file       one sample per row, the feature columns in training order (a column named
                   like the training label column is ignored)
  a JSON file      [[...], [...]] (one array per sample, nested arrays are flattened) or [...]

Options:
${formatFlags(FLAGS)}

Examples:
  chainrule predict runs/fashion --input data/fashion-mnist-subset/t10k-images-idx3-ubyte.gz
  chainrule predict runs/iris --input new-flowers.csv --format json
`;

/**
 * A CSV's feature columns: all columns, or all but the training label column when the file
 * has one more column (the training CSV itself, say). The first attempt's error is the one
 * reported.
 */
async function readCsvFeatures(path: string, features: number, labelColumn: string | number | null, names: string[] | null): Promise<RawTensor> {
  if (names !== null) {
    const byName = await readCsvByName(path, names, labelColumn);
    if (byName !== null) return byName;
  }
  let firstError: unknown;
  for (const options of labelColumn === null ? [{}] : [{}, { labelColumn }]) {
    try {
      const csv = await readCsvFile(path, options);
      const width = csv.features.shape[1]!;
      if (width === features) return csv.features;
      firstError ??= new FormatError(path, `rows have ${width} feature columns, but the model takes ${features}`);
    } catch (err) {
      firstError ??= err;
    }
  }
  throw firstError;
}

/**
 * The columns of a CSV with a header row, picked by the training CSV's column names (in the
 * training order, whatever the file's order; other columns, such as the label, are ignored);
 * null when the file has no header row. A training column the file lacks is an error naming it.
 */
async function readCsvByName(path: string, names: string[], labelColumn: string | number | null): Promise<RawTensor | null> {
  let csv;
  try {
    // The training label column, when the file has it, may hold class names rather than numbers.
    csv = await readCsvFile(path, typeof labelColumn === 'string' ? { labelColumn } : {});
  } catch {
    csv = await readCsvFile(path);
  }
  if (!csv.hasHeader) return null;
  const own = csv.columns;
  const missing = names.filter((n) => !own.includes(n));
  if (missing.length > 0) {
    throw new FormatError(path, `has no column ${missing.map((n) => JSON.stringify(n)).join(', ')} of the ${names.length} the model was trained on (${names.map((n) => JSON.stringify(n)).join(', ')})`);
  }
  const rows = csv.features.shape[0]!;
  const width = own.length;
  const pick = names.map((n) => own.indexOf(n));
  const src = csv.features.data as Float32Array;
  const out = new Float32Array(rows * names.length);
  for (let r = 0; r < rows; r++) for (let j = 0; j < pick.length; j++) out[r * pick.length + j] = src[r * width + pick[j]!]!;
  return { dtype: 'float32', shape: [rows, names.length], data: out };
}

/** The samples of FILE as rows of `features` raw values. */
async function readSamples(path: string, features: number, labelColumn: string | number | null, names: string[] | null = null): Promise<{ x: Float32Array; n: number }> {
  const bytes = await readInputFile(path);
  const head = new TextDecoder().decode(bytes.subarray(0, 64)).trimStart();
  const lower = path.toLowerCase();
  let rows: number;
  let flat: ArrayLike<number>;
  if (lower.endsWith('.json') || head.startsWith('[')) {
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(bytes));
    } catch (err) {
      throw new FormatError(path, `not valid JSON: ${(err as Error).message}`);
    }
    if (!Array.isArray(json) || json.length === 0) throw new FormatError(path, 'expected a non-empty JSON array of samples');
    const samples = json.every((v) => typeof v === 'number') ? [json] : json;
    const values: number[] = [];
    samples.forEach((s, i) => {
      const row = Array.isArray(s) ? (s.flat(Infinity) as unknown[]) : [s];
      const bad = row.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v));
      if (bad >= 0) throw new FormatError(path, `sample ${i}, value ${bad}: ${JSON.stringify(row[bad])} is not a finite number`);
      if (row.length !== features) throw new FormatError(path, `sample ${i} has ${row.length} values, but the model takes ${features}`);
      values.push(...(row as number[]));
    });
    rows = samples.length;
    flat = values;
  } else if (lower.endsWith('.csv') || lower.endsWith('.tsv') || lower.endsWith('.txt')) {
    const csv = await readCsvFeatures(path, features, labelColumn, names);
    rows = csv.shape[0]!;
    flat = csv.data;
  } else if (isGzip(bytes) || (bytes[0] === 0 && bytes[1] === 0)) {
    const t = await readIdx(path);
    rows = t.shape.length <= 1 ? 1 : t.shape[0]!;
    if (rows === 0 || t.data.length !== rows * features) {
      throw new FormatError(path, `holds ${t.dtype} [${t.shape.join(',')}], which is not samples of ${features} values each`);
    }
    flat = t.data;
  } else {
    throw new FormatError(path, 'not an IDX, CSV or JSON file (name CSV files .csv and JSON files .json)');
  }
  if (rows === 0) throw new FormatError(path, 'no samples');
  return { x: Float32Array.from(flat), n: rows };
}

export const predictCommand: Command = {
  name: 'predict',
  summary: 'class probabilities for new samples from a checkpoint',
  help: () => HELP,
  async run(argv, io) {
    const { values, positionals } = parseArgs(argv, FLAGS, 'chainrule predict');
    if (positionals.length !== 1) throw new UsageError('predict needs the checkpoint directory: chainrule predict DIR --input FILE');
    if (values.input === undefined) throw new UsageError('predict needs --input FILE (IDX, CSV or JSON samples)');
    const dir = positionals[0]!;
    const ckpt = await loadCheckpoint(dir);
    const cfg = runConfigOf(ckpt.config, `${dir}/config.json`);
    const { features, classes } = modelShape(cfg.model);
    const labelColumn = cfg.data.kind === 'csv' ? parseLabelColumn(String(cfg.data.labelColumn)) : null;
    const { x, n } = await readSamples(values.input, features, labelColumn, cfg.featureNames ?? null);
    const model = buildModel(cfg.model);
    loadWeights(model, ckpt);
    model.eval();
    const input = new Tensor(applyPreprocess(x, features, cfg.preprocess), [n, features], 'float32');
    const probs = noGrad(() => (model.call(input) as Tensor).softmax(1));
    if (probs.shape[1] !== classes) throw new ShapeError(`predict: the model gave ${probs.shape[1]} outputs, expected ${classes}`);
    const name = (k: number) => cfg.classNames?.[k] ?? String(k);
    const rows = Array.from({ length: n }, (_, i) => {
      const p = Array.from(probs.typedData.subarray(i * classes, (i + 1) * classes) as Float32Array);
      const order = p.map((_, k) => k).sort((a, b) => p[b]! - p[a]! || a - b);
      return { row: i, class: order[0]!, label: name(order[0]!), probabilities: p, order };
    });
    if (values.format === 'json') {
      const out = rows.map(({ row, class: c, label, probabilities }) => ({ row, class: c, label, probabilities: probabilities.map((v) => Number(v.toPrecision(6))) }));
      io.stdout.write(`${JSON.stringify(out)}\n`);
      return 0;
    }
    const top = values.top ?? 3;
    const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
    for (const r of rows) {
      const rest = r.order.slice(1, top).map((k) => `${name(k)} ${pct(r.probabilities[k]!)}`).join(', ');
      io.stdout.write(`${r.row}\t${r.class}\t${r.label}\t${pct(r.probabilities[r.class]!)}${rest ? `\t(${rest})` : ''}\n`);
    }
    return 0;
  },
};
