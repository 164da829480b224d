/**
 * chainrule side of `npm run bench`: the same work as bench/tfjs_bench.ts and
 * bench/torch_bench.py, printed as one JSON line. Usage:
 *   tsx bench/chainrule_bench.ts mlp|cnn|xor|matmul|mlp64|gpt|lstm [--backend reference|wasm|native] [--epochs N] [--batches N] [--batch B] [--quick]
 * mlp without --epochs trains 100 batches; cnn without --batches trains one epoch.
 * mlp64, gpt and lstm (the small-op rows) warm up, then time several rounds of steps and report
 * the median round and the best one; --quick takes fewer rounds.
 */
import { parseArgs } from 'node:util';
import { data, F, manualSeed, nn, noGrad, optim, setBackend, tensor, Tensor } from '../src/index.js';
import { GPT } from '../src/train/gpt-model.js';
import { buildModel } from '../src/train/model.js';
import { loadFashionTest, loadFashionTrain, median, peakRssMb } from './common.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    backend: { type: 'string', default: 'auto' }, epochs: { type: 'string' }, batches: { type: 'string' }, batch: { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
});
const work = positionals[0] ?? 'xor';

async function chooseBackend(): Promise<string> {
  try {
    const sel = (await import('../src/backend/select.js')) as { initBackend: (p: string) => Promise<{ name: string }> };
    const b = await sel.initBackend(values.backend!);
    setBackend(b as never);
    return b.name;
  } catch {
    return 'reference';
  }
}

function mlpModel(): nn.Sequential {
  return new nn.Sequential(new nn.Linear(784, 256), new nn.ReLU(), new nn.Linear(256, 128), new nn.ReLU(), new nn.Linear(128, 10));
}

/** The model `chainrule train --model cnn` builds, so the row measures the CLI's own network. */
function cnnModel(): nn.Module {
  return buildModel({ kind: 'cnn', imageShape: [1, 28, 28], classes: 10, channels: [8, 16], hidden: 64, activation: 'relu' });
}

/** Adam training on Fashion-MNIST (flat [N, 784] pixels / 255); the test accuracy after whole epochs. */
async function train(work: 'mlp' | 'cnn', backendName: string): Promise<void> {
  const { images, labels, n } = await loadFashionTrain();
  manualSeed(0);
  const model = work === 'mlp' ? mlpModel() : cnnModel();
  const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
  const batch = Number(values.batch ?? 128);
  const epochs = Number(values.epochs ?? (work === 'cnn' && values.batches === undefined ? 1 : 0));
  const maxBatches = epochs > 0 ? Infinity : Number(values.batches ?? 100);
  let samples = 0;
  let steps = 0;
  const stepMs: number[] = [];
  const epochRates: number[] = [];
  const t0 = performance.now();
  for (let e = 0; e < Math.max(1, epochs); e++) {
    const te = performance.now();
    const samples0 = samples;
    const perm = randperm(n, e);
    for (let i = 0; i + batch <= n && steps < maxBatches; i += batch, steps++) {
      const ts = performance.now();
      // The images stay uint8 in memory (47 MB, not 188); each batch becomes float32 pixels / 255.
      const rows = perm.subarray(i, i + batch);
      const xb = data.gatherBytes(images, 784, rows, { scale: 1 / 255 });
      const yb = new Int32Array(batch);
      for (let r = 0; r < batch; r++) yb[r] = labels[rows[r]!]!;
      const loss = F.crossEntropy(model.forward(xb), new Tensor(yb, [batch], 'int32'));
      opt.zeroGrad();
      loss.backward();
      opt.step();
      samples += batch;
      stepMs.push(performance.now() - ts);
    }
    epochRates.push((samples - samples0) / ((performance.now() - te) / 1000));
  }
  const dt = (performance.now() - t0) / 1000;
  stepMs.sort((p, q) => p - q);
  const out: Record<string, unknown> = {
    work, system: `chainrule-${backendName}`, batch, samples_per_s: samples / dt, peak_rss_mb: peakRssMb(),
    median_step_ms: stepMs[stepMs.length >> 1], p90_step_ms: stepMs[Math.floor(stepMs.length * 0.9)],
  };
  if (epochs > 0) {
    const test = await loadFashionTest();
    const timg = test.images;
    const nt = test.n;
    const all = Int32Array.from({ length: nt }, (_, i) => i);
    let correct = 0;
    for (let s = 0; s < nt; s += 1000) {
      const cnt = Math.min(1000, nt - s);
      const xs = data.gatherBytes(timg, 784, all.subarray(s, s + cnt), { scale: 1 / 255 });
      const pred = noGrad(() => model.forward(xs).argmax(1));
      for (let i = 0; i < cnt; i++) if (pred.typedData[i] === test.labels[s + i]) correct++;
    }
    out.test_acc = correct / nt;
    out.epochs = epochs;
    out.epoch_samples_per_s = epochRates;
  }
  console.log(JSON.stringify(out));
}

/**
 * The epoch's shuffle (Fisher–Yates on an LCG), inside the timed loop as PyTorch's randperm is.
 * Plain loops: a callback fill and a destructuring swap made it 7 ms in the first epoch.
 */
function randperm(n: number, seed: number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  let s = (seed + 1) * 2654435761;
  for (let i = n - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

function xor(backendName: string): void {
  manualSeed(0);
  const X = tensor([[0, 0], [0, 1], [1, 0], [1, 1]]);
  const Y = tensor([[0], [1], [1], [0]]);
  const model = new nn.Sequential(new nn.Linear(2, 4), new nn.Sigmoid(), new nn.Linear(4, 1), new nn.Sigmoid());
  const opt = new optim.SGD(model.parameters(), { lr: 0.5 });
  const step = () => {
    const loss = F.mseLoss(model.forward(X), Y);
    opt.zeroGrad();
    loss.backward();
    opt.step();
  };
  for (let i = 0; i < 5000; i++) step();
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < 5000; i++) step();
    runs.push(((performance.now() - t0) / 5000) * 1000);
  }
  console.log(JSON.stringify({ work: 'xor', system: `chainrule-${backendName}`, us_per_step: median(runs) }));
}

function matmul(backendName: string): void {
  const out: Record<number, number> = {};
  for (const n of [128, 256, 512, 1024]) {
    const a = new Tensor(Float32Array.from({ length: n * n }, () => Math.random() - 0.5), [n, n], 'float32');
    const b = new Tensor(Float32Array.from({ length: n * n }, () => Math.random() - 0.5), [n, n], 'float32');
    a.matmul(b);
    const flop = 2 * n ** 3;
    const reps = Math.max(1, Math.round(4e9 / flop / (backendName === 'reference' ? 20 : 1)));
    const runs: number[] = [];
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) a.matmul(b);
      runs.push((performance.now() - t0) / 1000 / reps);
    }
    out[n] = flop / median(runs) / 1e9;
  }
  console.log(JSON.stringify({ work: 'matmul', system: `chainrule-${backendName}`, gflops: out }));
}

// ---- the small-op rows (issue 17 point 6, issue 14's bench rows) ---------------------------
// Each builds the same model, data and optimiser as its counterpart in bench/torch_bench.py.

/**
 * Warm-up steps, then `rounds` timed rounds of `perRound` steps; the median round's and the
 * best round's time per step, in ms.
 */
function timeSteps(step: () => void, warm: number, rounds: number, perRound: number): { median: number; best: number; runs: number[] } {
  for (let i = 0; i < warm; i++) step();
  const runs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < perRound; i++) step();
    runs.push((performance.now() - t0) / perRound);
  }
  return { median: median(runs), best: Math.min(...runs), runs };
}

/**
 * 100 two-moons points, without randomness so that both scripts build the same float64 values:
 * the offsets are the fractional parts of i·φ⁻¹ (a low-discrepancy sequence), scaled to ±0.1.
 * Labels ±1 (upper moon +1), as micrograd's SVM demo.
 */
function moons(): { x: Float64Array; y: Float64Array } {
  const x = new Float64Array(200);
  const y = new Float64Array(100);
  const jitter = (j: number) => 0.2 * (((j * 0.6180339887498949) % 1) - 0.5);
  for (let i = 0; i < 100; i++) {
    const t = (Math.PI * (i % 50)) / 49;
    const upper = i < 50;
    x[2 * i] = (upper ? Math.cos(t) : 1 - Math.cos(t)) + jitter(2 * i);
    x[2 * i + 1] = (upper ? Math.sin(t) : 0.5 - Math.sin(t)) + jitter(2 * i + 1);
    y[i] = upper ? 1 : -1;
  }
  return { x, y };
}

/** micrograd's moons demo in float64: a 2-16-16-1 ReLU MLP, hinge loss + 1e-4·Σp², full-batch SGD. */
function mlp64(backendName: string): void {
  manualSeed(0);
  const { x, y } = moons();
  const X = new Tensor(x, [100, 2], 'float64');
  const Y = new Tensor(y, [100, 1], 'float64');
  const model = new nn.Sequential(
    new nn.Linear(2, 16, { dtype: 'float64' }), new nn.ReLU(),
    new nn.Linear(16, 16, { dtype: 'float64' }), new nn.ReLU(),
    new nn.Linear(16, 1, { dtype: 'float64' }),
  );
  const params = model.parameters();
  const opt = new optim.SGD(params, { lr: 0.05 });
  let last = 0;
  const step = () => {
    const scores = model.forward(X);
    const hinge = Y.mul(scores).neg().add(1).relu().mean();
    let reg = params[0]!.mul(params[0]!).sum();
    for (let i = 1; i < params.length; i++) reg = reg.add(params[i]!.mul(params[i]!).sum());
    const loss = hinge.add(reg.mul(1e-4));
    opt.zeroGrad();
    loss.backward();
    opt.step();
    last = loss.item();
  };
  const quick = values.quick!;
  const t = timeSteps(step, quick ? 200 : 1000, quick ? 3 : 7, quick ? 200 : 1000);
  console.log(JSON.stringify({
    work: 'mlp64', system: `chainrule-${backendName}`, us_per_step: t.median * 1000, best_us_per_step: t.best * 1000,
    rounds_us: t.runs.map((v) => v * 1000), final_loss: last,
  }));
}

/** MINSTD (16807 · 48271 variant): exact in float64, so Python computes the same stream. */
function tokenStream(n: number, vocab: number, seed: number): Int32Array {
  const out = new Int32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 48271) % 2147483647;
    out[i] = s % vocab;
  }
  return out;
}

/** `count` batches of `rows` windows of `len` + 1 tokens from one stream: inputs and next-token targets. */
function windows(stream: Int32Array, count: number, rows: number, len: number): { x: Int32Array; y: Int32Array }[] {
  const out: { x: Int32Array; y: Int32Array }[] = [];
  for (let b = 0; b < count; b++) {
    const x = new Int32Array(rows * len);
    const y = new Int32Array(rows * len);
    for (let r = 0; r < rows; r++) {
      const start = ((b * rows + r) * 37) % (stream.length - len - 1);
      for (let j = 0; j < len; j++) {
        x[r * len + j] = stream[start + j]!;
        y[r * len + j] = stream[start + j + 1]!;
      }
    }
    out.push({ x, y });
  }
  return out;
}

/** nanoGPT's char model, 2 layers × 4 heads × 64 wide, context 32, batch 16, vocab 65: AdamW + clip 1.0. */
function gpt(backendName: string): void {
  const B = 16, T = 32, V = 65;
  manualSeed(0);
  const model = new GPT({ kind: 'gpt', vocabSize: V, context: T, layers: 2, heads: 4, embed: 64, dropout: 0 });
  const { decay, noDecay } = model.decayGroups();
  const opt = new optim.AdamW([{ params: decay, weightDecay: 0.1 }, { params: noDecay, weightDecay: 0 }], { lr: 1e-3, betas: [0.9, 0.99] });
  const params = model.parameters();
  const batchesData = windows(tokenStream(20000, V, 1), 8, B, T).map(({ x, y }) => [new Tensor(x, [B, T], 'int32'), new Tensor(y, [B, T], 'int32')] as const);
  let k = 0;
  let last = 0;
  const step = () => {
    const [xb, yb] = batchesData[k++ % batchesData.length]!;
    const loss = model.loss(model.call(xb), yb);
    opt.zeroGrad();
    loss.backward();
    nn.clipGradNorm_(params, 1.0);
    opt.step();
    last = loss.item();
  };
  const quick = values.quick!;
  const t = timeSteps(step, quick ? 3 : 10, quick ? 3 : 7, quick ? 3 : 8);
  console.log(JSON.stringify({
    work: 'gpt', system: `chainrule-${backendName}`, tokens_per_s: (B * T) / (t.median / 1000), best_tokens_per_s: (B * T) / (t.best / 1000),
    median_step_ms: t.median, rounds_ms: t.runs, final_loss: last,
  }));
}

/** pytorch/examples word_language_model: embedding 200, 2-layer LSTM 200, dropout 0.2, BPTT 35 × batch 20, SGD lr 20 + clip 0.25. */
class WordLstm extends nn.Module<[Tensor, [Tensor, Tensor]], [Tensor, [Tensor, Tensor]]> {
  encoder = new nn.Embedding(1000, 200);
  drop = new nn.Dropout(0.2);
  rnn = new nn.LSTM(200, 200, { numLayers: 2, dropout: 0.2 });
  decoder = new nn.Linear(200, 1000);

  override forward(x: Tensor, hidden: [Tensor, Tensor]): [Tensor, [Tensor, Tensor]] {
    const [out, h] = this.rnn.call(this.drop.call(this.encoder.call(x)), hidden);
    return [this.decoder.call(this.drop.call(out)), h];
  }
}

function lstm(backendName: string): void {
  const S = 35, B = 20, V = 1000;
  manualSeed(0);
  const model = new WordLstm();
  const params = model.parameters();
  const opt = new optim.SGD(params, { lr: 20 });
  // Sequence-first [S, B] windows, as the example's batchify/get_batch.
  const batchesData = windows(tokenStream(50000, V, 2), 8, B, S).map(({ x, y }) => [
    new Tensor(x, [B, S], 'int32').t().contiguous(), new Tensor(y, [B, S], 'int32').t().contiguous(),
  ] as const);
  let hidden: [Tensor, Tensor] = [tensor(new Float32Array(2 * B * 200)).reshape([2, B, 200]), tensor(new Float32Array(2 * B * 200)).reshape([2, B, 200])];
  let k = 0;
  let last = 0;
  const step = () => {
    const [xb, yb] = batchesData[k++ % batchesData.length]!;
    // Truncated BPTT: the state carries over, its history does not.
    hidden = [hidden[0].detach(), hidden[1].detach()];
    opt.zeroGrad();
    const [logits, h] = model.call(xb, hidden);
    hidden = h;
    const loss = F.crossEntropy(logits.reshape([-1, V]), yb.reshape([-1]));
    loss.backward();
    nn.clipGradNorm_(params, 0.25);
    opt.step();
    last = loss.item();
  };
  const quick = values.quick!;
  const t = timeSteps(step, quick ? 3 : 8, quick ? 3 : 7, quick ? 3 : 6);
  console.log(JSON.stringify({
    work: 'lstm', system: `chainrule-${backendName}`, tokens_per_s: (S * B) / (t.median / 1000), best_tokens_per_s: (S * B) / (t.best / 1000),
    median_step_ms: t.median, rounds_ms: t.runs, final_loss: last,
  }));
}

const name = await chooseBackend();
if (work === 'mlp' || work === 'cnn') await train(work, name);
else if (work === 'xor') xor(name);
else if (work === 'mlp64') mlp64(name);
else if (work === 'gpt') gpt(name);
else if (work === 'lstm') lstm(name);
else matmul(name);
process.exit(0);
