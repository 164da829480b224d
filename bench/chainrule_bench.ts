/**
 * chainrule side of `npm run bench`: the same work as bench/tfjs_bench.ts and
 * bench/torch_bench.py, printed as one JSON line. Usage:
 *   tsx bench/chainrule_bench.ts mlp|cnn|xor|matmul [--backend reference|wasm|native] [--epochs N] [--batches N] [--batch B]
 * mlp without --epochs trains 100 batches; cnn without --batches trains one epoch.
 */
import { parseArgs } from 'node:util';
import { data, F, manualSeed, nn, noGrad, optim, setBackend, tensor, Tensor } from '../src/index.js';
import { buildModel } from '../src/train/model.js';
import { loadFashionTest, loadFashionTrain, median, peakRssMb } from './common.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { backend: { type: 'string', default: 'auto' }, epochs: { type: 'string' }, batches: { type: 'string' }, batch: { type: 'string' } },
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

const name = await chooseBackend();
if (work === 'mlp' || work === 'cnn') await train(work, name);
else if (work === 'xor') xor(name);
else matmul(name);
process.exit(0);
