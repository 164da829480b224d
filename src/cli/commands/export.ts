/** `chainrule export DIR --onnx FILE`: a checkpoint's model as an ONNX file. */
import { writeFileAtomic } from '../../io/atomic.js';
import { loadCheckpoint } from '../../io/checkpoint.js';
import { exportOnnxBytes, DEFAULT_OPSET } from '../../onnx/export.js';
import { zeros } from '../../tensor/creation.js';
import { buildModel, modelShape } from '../../train/model.js';
import { loadWeights } from '../../train/session.js';
import { flag, formatFlags, parseArgs } from '../args.js';
import { UsageError } from '../errors.js';
import { runConfigOf } from './train.js';
import type { Command } from './types.js';

const FLAGS = {
  onnx: flag.string('the ONNX file to write', { valueName: 'FILE' }),
  opset: flag.int('ONNX opset version, 13 to 17', { defaultText: String(DEFAULT_OPSET) }),
  batch: flag.int('fix the batch size to N (default: any batch size)', { positive: true }),
  raw: flag.bool("leave the checkpoint's input normalisation out: the graph takes normalised features"),
};

const HELP = `Usage: chainrule export DIR --onnx FILE [options]

Writes the model of the checkpoint in DIR as an ONNX file, for ONNX Runtime and other engines.
The graph takes a float32 "input" of shape [batch, features] in the units of the training data
(pixels 0-255 for Fashion-MNIST, the CSV's raw values): the checkpoint's normalisation is part
of the graph, unless --raw. Its "output" [batch, classes] holds the logits (apply softmax for
the probabilities that \`chainrule predict\` prints). The model is written in eval mode
(Dropout is the identity). An existing FILE is replaced whole, never left half-written.
In code: exportOnnx(model, sampleInput, { path }) from chainrule/onnx.

Options:
${formatFlags(FLAGS)}

Examples:
  chainrule export runs/fashion --onnx fashion.onnx
  chainrule export runs/iris --onnx iris.onnx --opset 13 --batch 1
`;

export const exportCommand: Command = {
  name: 'export',
  summary: "write a checkpoint's model as an ONNX file",
  help: () => HELP,
  async run(argv, io) {
    const { values, positionals } = parseArgs(argv, FLAGS, 'chainrule export');
    if (positionals.length !== 1) throw new UsageError('export needs the checkpoint directory: chainrule export DIR --onnx FILE');
    if (values.onnx === undefined) throw new UsageError('export needs --onnx FILE, the file to write');
    const dir = positionals[0]!;
    const ckpt = await loadCheckpoint(dir);
    const cfg = runConfigOf(ckpt.config, `${dir}/config.json`);
    const { features, classes } = modelShape(cfg.model);
    const model = buildModel(cfg.model);
    loadWeights(model, ckpt);
    // Raw values x map to (x·scale − mean) / std, as predict and training normalise them.
    const p = cfg.preprocess;
    const inputTransform = values.raw
      ? undefined
      : { scale: p.std.map((s) => p.scale / s), shift: p.mean.map((m, i) => -m / p.std[p.std.length > 1 ? i : 0]!) };
    const batch = values.batch ?? 1;
    const bytes = exportOnnxBytes(model.layers, zeros([batch, features]), {
      opset: values.opset, dynamicBatch: values.batch === undefined, inputTransform,
    });
    await writeFileAtomic(values.onnx, bytes);
    const b = values.batch === undefined ? 'batch' : String(batch);
    io.stdout.write(
      `wrote ${values.onnx} (${bytes.length} bytes, ONNX opset ${values.opset ?? DEFAULT_OPSET}): input [${b},${features}] ${values.raw ? 'normalised' : 'raw'} features, output [${b},${classes}] logits\n`,
    );
    return 0;
  },
};
