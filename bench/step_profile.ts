/**
 * Where one training step of the 784-256-128-10 MLP (Adam, batch 128, a fixed batch) spends its
 * time: µs per step overall and, with `prof`, per backend kernel call (shape and kind).
 *   npx esbuild bench/step_profile.ts --bundle --platform=node --format=esm --outfile=bench/.build/out/prof.mjs
 *   node bench/.build/out/prof.mjs [prof]        (STEPS=n, CHAINRULE_BACKEND=wasm|native|reference)
 * Kernel times are wall times of the calls; the rest of a step is JavaScript (graph, loss, optimizer).
 */
import { data, F, manualSeed, nn, optim, Tensor, backend } from '../src/index.js';
const b = backend() as any;
const stats = new Map<string, { n: number; t: number }>();
const prof = process.argv[2] === 'prof';
if (prof) for (const key of ['gemm', 'unary', 'binary', 'reduce', 'adamStep', 'compare', 'gatherRowsU8']) {
  const f = b[key];
  b[key] = (...args: any[]) => {
    const t0 = performance.now();
    const r = f(...args);
    const dt = performance.now() - t0;
    let label = key;
    if (key === 'gemm') label += ` ${args[0].m}x${args[0].k}x${args[0].n} ${args[0].transA ? 'T' : 'N'}${args[0].transB ? 'T' : 'N'}${args[0].accumulate ? '+' : ''}`;
    else if (key !== 'adamStep' && key !== 'gatherRowsU8') label += ` ${args[0]} ${key === 'reduce' ? args[1].length : args[args.length - 2]?.length ?? args[2]?.length}`;
    const s = stats.get(label) ?? { n: 0, t: 0 };
    s.n++; s.t += dt; stats.set(label, s);
    return r;
  };
}
manualSeed(0);
const model = new nn.Sequential(new nn.Linear(784, 256), new nn.ReLU(), new nn.Linear(256, 128), new nn.ReLU(), new nn.Linear(128, 10));
const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
// Batches drawn as the MLP benchmark draws them: 128 random rows of 60,000 uint8 images.
const images = Uint8Array.from({ length: 60000 * 784 }, (_, i) => (i * 2654435761) >>> 24);
const order = Int32Array.from({ length: 60000 }, (_, i) => (i * 7919) % 60000);
const yb = Int32Array.from({ length: 128 }, (_, i) => i % 10);
const steps = Number(process.env.STEPS ?? 400);
let t0 = 0;
for (let s = 0; s < steps + 50; s++) {
  if (s === 50) { t0 = performance.now(); stats.clear(); }
  const start = (s * 128) % (60000 - 128);
  const xb = data.gatherBytes(images, 784, order.subarray(start, start + 128), { scale: 1 / 255 });
  const loss = F.crossEntropy(model.forward(xb), new Tensor(yb, [128], 'int32'));
  opt.zeroGrad();
  loss.backward();
  opt.step();
}
const per = (performance.now() - t0) / steps;
console.log(`${b.name}: ${(per * 1000).toFixed(0)} µs/step = ${(128 / per * 1000).toFixed(0)} samples/s`);
let tot = 0;
for (const [k, s] of [...stats].sort((a, b) => b[1].t - a[1].t)) { tot += s.t; console.log(`  ${k.padEnd(36)} ${(s.n / steps).toFixed(1)}/step ${(s.t / steps * 1000).toFixed(1).padStart(7)} µs`); }
if (prof) console.log(`  kernels total ${(tot / steps * 1000).toFixed(0)} µs`);
