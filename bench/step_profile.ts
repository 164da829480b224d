/**
 * Where one training step of the 784-256-128-10 MLP (Adam, batch 128, a fixed batch) spends its
 * time: µs per step overall and, with `prof`, per backend kernel call (shape and kind).
 *   npx esbuild bench/step_profile.ts --bundle --platform=node --format=esm --outfile=bench/.build/out/prof.mjs
 *   node bench/.build/out/prof.mjs [prof]        (STEPS=n, CHAINRULE_BACKEND=wasm|native|reference)
 * Kernel times are wall times of the calls; the rest of a step is JavaScript (graph, loss, optimizer).
 */
import { F, manualSeed, nn, optim, Tensor, backend } from '../src/index.js';
const b = backend() as any;
const stats = new Map<string, { n: number; t: number }>();
const prof = process.argv[2] === 'prof';
if (prof) for (const key of ['gemm', 'unary', 'binary', 'reduce', 'adamStep', 'compare']) {
  const f = b[key];
  b[key] = (...args: any[]) => {
    const t0 = performance.now();
    const r = f(...args);
    const dt = performance.now() - t0;
    let label = key;
    if (key === 'gemm') label += ` ${args[0].m}x${args[0].k}x${args[0].n} ${args[0].transA ? 'T' : 'N'}${args[0].transB ? 'T' : 'N'}${args[0].accumulate ? '+' : ''}`;
    else if (key !== 'adamStep') label += ` ${args[0]} ${key === 'reduce' ? args[1].length : args[args.length - 2]?.length ?? args[2]?.length}`;
    const s = stats.get(label) ?? { n: 0, t: 0 };
    s.n++; s.t += dt; stats.set(label, s);
    return r;
  };
}
manualSeed(0);
const model = new nn.Sequential(new nn.Linear(784, 256), new nn.ReLU(), new nn.Linear(256, 128), new nn.ReLU(), new nn.Linear(128, 10));
const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
const xb = Float32Array.from({ length: 128 * 784 }, () => Math.random());
const yb = Int32Array.from({ length: 128 }, (_, i) => i % 10);
const steps = Number(process.env.STEPS ?? 400);
let t0 = 0;
for (let s = 0; s < steps + 50; s++) {
  if (s === 50) { t0 = performance.now(); stats.clear(); }
  const loss = F.crossEntropy(model.forward(new Tensor(xb.slice(), [128, 784], 'float32')), new Tensor(yb, [128], 'int32'));
  opt.zeroGrad();
  loss.backward();
  opt.step();
}
const per = (performance.now() - t0) / steps;
console.log(`${b.name}: ${(per * 1000).toFixed(0)} µs/step = ${(128 / per * 1000).toFixed(0)} samples/s`);
let tot = 0;
for (const [k, s] of [...stats].sort((a, b) => b[1].t - a[1].t)) { tot += s.t; console.log(`  ${k.padEnd(36)} ${(s.n / steps).toFixed(1)}/step ${(s.t / steps * 1000).toFixed(1).padStart(7)} µs`); }
if (prof) console.log(`  kernels total ${(tot / steps * 1000).toFixed(0)} µs`);
