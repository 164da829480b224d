/**
 * The models the ONNX export tests write, built from a fixed seed so the same code gives the
 * same bytes: test/fixtures/gen_onnx_export.ts writes them to test/fixtures/onnx/chainrule_*.onnx
 * for test/fixtures/check_onnx.py (onnx.checker), and export.test.ts checks those files are
 * what exportOnnx writes today.
 */
import { manualSeed, nn, noGrad, rand, randint, randn, type Tensor } from '../../src/index.js';

export interface ExportCase {
  name: string;
  model: nn.AnyModule;
  /** A batch of the given size for this model. */
  input(batch: number): Tensor;
  opset?: number;
}

/**
 * Give every BatchNorm running statistics other than the initial 0 and 1, drawn from the seeded
 * generator rather than computed by training-mode passes, so the exported bytes do not depend
 * on the backend's last bits.
 */
function setBatchNormStats(model: nn.Module): void {
  noGrad(() => {
    for (const m of model.modules()) {
      if (m instanceof nn.BatchNorm1d || m instanceof nn.BatchNorm2d) {
        m.runningMean!.copy_(randn([m.numFeatures]).mul(0.5));
        m.runningVar!.copy_(rand([m.numFeatures]).add(0.5));
      }
    }
  });
  model.eval();
}

export function mlp(): nn.Sequential {
  return new nn.Sequential(
    new nn.Linear(6, 16), new nn.ReLU(), new nn.Dropout(0.3),
    new nn.Linear(16, 16), new nn.BatchNorm1d(16), new nn.Tanh(),
    new nn.Sequential(new nn.Linear(16, 12), new nn.LayerNorm(12), new nn.GELU()),
    new nn.Linear(12, 10), new nn.LeakyReLU(0.1), new nn.Linear(10, 8), new nn.Sigmoid(),
    new nn.Linear(8, 8), new nn.ELU(0.7), new nn.Linear(8, 6), new nn.Softplus(), new nn.GELU('tanh'),
    new nn.Linear(6, 4), new nn.Softmax(-1),
  );
}

export function cnn(): nn.Sequential {
  return new nn.Sequential(
    new nn.Conv2d(3, 6, 3, { padding: 1 }), new nn.BatchNorm2d(6), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(6, 8, 3, { padding: 1, stride: 1, dilation: 1 }), new nn.ReLU(),
    new nn.AvgPool2d(2, { padding: 1, countIncludePad: false }),
    new nn.Conv2d(8, 4, 1, { groups: 2, bias: false }), new nn.Flatten(2), new nn.Flatten(), new nn.Linear(4 * 3 * 3, 5), new nn.LogSoftmax(1),
  );
}

/** Embedding, a Linear over a 3-d input (MatMul), Flatten from dim 1 to 2, BatchNorm1d over [N,C,L]. */
export function embed(): nn.Sequential {
  return new nn.Sequential(
    new nn.Embedding(10, 6), new nn.Linear(6, 4), new nn.BatchNorm1d(5), new nn.Flatten(1, 2), new nn.Identity(), new nn.Linear(20, 3),
  );
}

/** Conv1d, GroupNorm, ConvTranspose1d over [N, C, L]. */
export function conv1d(): nn.Sequential {
  return new nn.Sequential(
    new nn.Conv1d(2, 4, 3, { padding: 1, stride: 2 }), new nn.GroupNorm(2, 4), new nn.ReLU(),
    new nn.ConvTranspose1d(4, 3, 3, { stride: 2, padding: 1, outputPadding: 1 }),
  );
}

/** GroupNorm, nearest and bilinear Upsample (scale and size), ConvTranspose2d, AdaptiveAvgPool2d (dividing and to 1). */
export function resize(): nn.Sequential {
  return new nn.Sequential(
    new nn.Conv2d(3, 4, 3, { padding: 1 }), new nn.GroupNorm(2, 4), new nn.Upsample({ scaleFactor: 2 }),
    new nn.ConvTranspose2d(4, 4, 3, { stride: 2, padding: 1, outputPadding: 1 }), new nn.ReLU(),
    new nn.Upsample({ size: [10, 14], mode: 'bilinear' }), new nn.AdaptiveAvgPool2d([5, 7]),
    new nn.Upsample({ scaleFactor: 1.5, mode: 'bilinear', alignCorners: true }), new nn.Upsample({ size: [3, 4] }),
    new nn.AdaptiveAvgPool2d(1), new nn.Flatten(), new nn.Linear(4, 3),
  );
}

/** A small transformer: token embedding, one (post-norm, ReLU) encoder layer, batch first, a Linear head. */
export function transformer(): nn.Sequential {
  return new nn.Sequential(
    new nn.Embedding(20, 16), new nn.TransformerEncoderLayer(16, 4, { dimFeedforward: 32, batchFirst: true }), new nn.Flatten(), new nn.Linear(6 * 16, 5),
  );
}

/** Two pre-norm GELU encoder layers, sequence first, a final LayerNorm, a Linear per position. */
export function encoder(): nn.Sequential {
  const layer = new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, normFirst: true, activation: 'gelu' });
  return new nn.Sequential(new nn.TransformerEncoder(layer, 2, { norm: new nn.LayerNorm(8) }), new nn.Linear(8, 3));
}

export function exportCases(): ExportCase[] {
  manualSeed(2026);
  const m1 = mlp();
  const mlpIn = (b: number) => randn([b, 6]);
  setBatchNormStats(m1);
  const m2 = cnn();
  const cnnIn = (b: number) => randn([b, 3, 10, 10]);
  setBatchNormStats(m2);
  const m3 = embed();
  const embIn = (b: number) => randint(0, 10, [b, 5], { dtype: 'int32' });
  setBatchNormStats(m3);
  return [
    { name: 'mlp', model: m1, input: mlpIn },
    { name: 'mlp_opset13', model: m1, input: mlpIn, opset: 13 },
    { name: 'cnn', model: m2, input: cnnIn },
    { name: 'embedding', model: m3, input: embIn },
    ...sequenceCases(),
  ];
}

/** The layers of the sequence-models issue and the other newer layers (a separate seed, so the cases above keep their bytes). */
function sequenceCases(): ExportCase[] {
  manualSeed(2027);
  const lstm = new nn.LSTM(3, 5, { numLayers: 2, batchFirst: true });
  const gru = new nn.GRU(4, 3, { bidirectional: true });
  const rnn = new nn.RNN(3, 4, { nonlinearity: 'relu', batchFirst: true, bias: false });
  const c1 = conv1d();
  const rs = resize();
  const tf = transformer();
  const enc = encoder();
  for (const m of [lstm, gru, rnn, c1, rs, tf, enc]) m.eval();
  return [
    { name: 'lstm', model: lstm, input: (b) => randn([b, 6, 3]) },
    { name: 'gru', model: gru, input: (b) => randn([5, b, 4]) },
    { name: 'rnn_relu', model: rnn, input: (b) => randn([b, 4, 3]), opset: 14 },
    { name: 'conv1d', model: c1, input: (b) => randn([b, 2, 9]) },
    { name: 'resize', model: rs, input: (b) => randn([b, 3, 5, 7]), opset: 13 },
    { name: 'transformer', model: tf, input: (b) => randint(0, 20, [b, 6], { dtype: 'int32' }) },
    { name: 'encoder_opset13', model: enc, input: (b) => randn([5, b, 8]), opset: 13 },
  ];
}
