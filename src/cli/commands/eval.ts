/** `chainrule eval DIR`: the test accuracy of a saved checkpoint. */
import { loadCheckpoint } from '../../io/checkpoint.js';
import { loadData, type DataSource } from '../../train/data.js';
import { evaluate } from '../../train/loop.js';
import { buildModel } from '../../train/model.js';
import { checkModelFitsData, EVAL_BATCH_SIZE, loadWeights } from '../../train/session.js';
import { DataLoader } from '../../data/dataloader.js';
import { TensorDataset } from '../../data/dataset.js';
import { flag, formatFlags, parseArgs } from '../args.js';
import { UsageError } from '../errors.js';
import { percent } from '../progress.js';
import { DATA_FLAGS, dataSourceFromFlags, hasDataFlags } from './data-flags.js';
import { runConfigOf } from './train.js';
import type { Command } from './types.js';

const FLAGS = {
  ...DATA_FLAGS,
  batchSize: flag.int('samples per forward pass', { positive: true, defaultText: String(EVAL_BATCH_SIZE) }),
  format: flag.choice('output format', ['text', 'json'] as const, { defaultText: 'text' }),
};

const HELP = `Usage: chainrule eval DIR [options]

Measures the loss and accuracy of the checkpoint in DIR (written by chainrule train --out DIR)
on the test set of the data it was trained on, or on the data the options name. A --csv
given here is evaluated whole (all its rows), with the normalisation saved in the checkpoint.

Options:
${formatFlags(FLAGS)}

Examples:
  chainrule eval runs/fashion
  chainrule eval runs/fashion --full
  chainrule eval runs/iris --csv more-iris.csv --label-column species
`;

export const evalCommand: Command = {
  name: 'eval',
  summary: 'test accuracy of a saved checkpoint',
  help: () => HELP,
  async run(argv, io) {
    const { values, positionals } = parseArgs(argv, FLAGS, 'chainrule eval');
    if (positionals.length !== 1) {
      throw new UsageError(positionals.length === 0 ? 'eval needs the checkpoint directory: chainrule eval DIR' : `eval takes one checkpoint directory, got ${positionals.length}: ${positionals.join(' ')}`);
    }
    const dir = positionals[0]!;
    const ckpt = await loadCheckpoint(dir);
    const cfg = runConfigOf(ckpt.config, `${dir}/config.json`);
    let source: DataSource = cfg.data;
    if (hasDataFlags(values)) {
      const fallbackLabel = cfg.data.kind === 'csv' && values.labelColumn === undefined ? { labelColumn: String(cfg.data.labelColumn) } : {};
      source = dataSourceFromFlags({ ...values, ...fallbackLabel }, cfg.training.seed, { testSplit: 0 });
    } else if (values.limit !== undefined) {
      source = { ...cfg.data, limit: values.limit };
    }
    const data = await loadData(source, cfg.preprocess, { classNames: cfg.classNames });
    checkModelFitsData(cfg.model, data);
    // A CSV named here, or one trained on with no test split, is evaluated on all its rows.
    const split = data.test ?? data.train;
    const model = buildModel(cfg.model);
    loadWeights(model, ckpt);
    const loader = new DataLoader(new TensorDataset(split.x, split.y), { batchSize: values.batchSize ?? EVAL_BATCH_SIZE });
    const r = evaluate(model, loader);
    if (values.format === 'json') {
      io.stdout.write(`${JSON.stringify({ checkpoint: dir, epoch: cfg.epoch, data: data.description, ...r })}\n`);
    } else {
      io.stdout.write(`${data.description}: ${r.total} samples\n`);
      io.stdout.write(`test accuracy ${percent(r.accuracy)} (${r.correct}/${r.total}), loss ${r.loss.toFixed(4)} — ${dir}, epoch ${cfg.epoch}\n`);
    }
    return 0;
  },
};
