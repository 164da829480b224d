/**
 * Per-step wall times of one epoch of the MLP benchmark's loop (784-256-128-10, Adam, batch 128,
 * real Fashion-MNIST): first steps, median, p90, max, and the phases of fast and slow steps.
 * A training step's tail (steps at twice the median) shows up here and not in an average.
 *   npx esbuild bench/step_times.ts --bundle --platform=node --format=esm --outfile=bench/.build/out/step_times.mjs
 *   node bench/.build/out/step_times.mjs        (SLOW_INDICES=1 also lists which steps were slow)
 */
import { data, F, manualSeed, nn, optim, Tensor } from '../src/index.js';
import { loadFashionTrain } from './common.js';
const { images, labels, n } = await loadFashionTrain();
manualSeed(0);
const model = new nn.Sequential(new nn.Linear(784, 256), new nn.ReLU(), new nn.Linear(256, 128), new nn.ReLU(), new nn.Linear(128, 10));
const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
const perm = Int32Array.from({ length: n }, (_, i) => (i * 7919) % n);
const times: number[] = [];
const phases: number[][] = [];
const t00 = performance.now();
for (let i = 0, s = 0; i + 128 <= n; i += 128, s++) {
  const t0 = performance.now();
  const rows = perm.subarray(i, i + 128);
  const xb = data.gatherBytes(images, 784, rows, { scale: 1 / 255 });
  const yb = new Int32Array(128);
  for (let r = 0; r < 128; r++) yb[r] = labels[rows[r]!]!;
  const t1 = performance.now();
  const out = model.forward(xb);
  const t2 = performance.now();
  const loss = F.crossEntropy(out, new Tensor(yb, [128], 'int32'));
  opt.zeroGrad();
  const t3 = performance.now();
  loss.backward();
  const t4 = performance.now();
  opt.step();
  const t5 = performance.now();
  times.push(t5 - t0);
  phases.push([t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4]);
}
const total = performance.now() - t00;
console.log('first 12 (ms):', times.slice(0, 12).map((t) => t.toFixed(2)).join(' '));
const sorted = [...times].sort((a, b) => a - b);
console.log(`steps ${times.length}, total ${total.toFixed(0)} ms = ${(times.length * 128 / total * 1000).toFixed(0)} samples/s; median ${(sorted[times.length >> 1]! * 1000).toFixed(0)} µs, p90 ${(sorted[Math.floor(times.length * 0.9)]! * 1000).toFixed(0)}, max ${(sorted[times.length - 1]! * 1000).toFixed(0)}; sum of first 20 ${times.slice(0, 20).reduce((a, b) => a + b, 0).toFixed(1)} ms`);

const med = sorted[times.length >> 1]!;
for (const [label, pick] of [['fast', (t: number) => t < 1.3 * med], ['slow', (t: number) => t >= 1.6 * med]] as const) {
  const sel = phases.filter((_, i) => i >= 20 && pick(times[i]!));
  const avg = [0, 1, 2, 3, 4].map((k) => sel.reduce((a, p) => a + p[k]!, 0) / Math.max(1, sel.length) * 1000);
  console.log(`${label} (${sel.length}): gather ${avg[0]!.toFixed(0)} fwd ${avg[1]!.toFixed(0)} loss ${avg[2]!.toFixed(0)} bwd ${avg[3]!.toFixed(0)} step ${avg[4]!.toFixed(0)} µs`);
}
if (process.env.SLOW_INDICES) console.log('slow steps:', times.map((t, i) => (t >= 1.6 * med ? i : -1)).filter((i) => i >= 0).join(' '));
