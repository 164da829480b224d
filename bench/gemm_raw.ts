/**
 * The backend's gemm at the shapes of one MLP training step (784-256-128-10, batch 128), called
 * directly into a preallocated C: µs per call (best of 5 runs) and GFLOP/s.
 *   npx tsx bench/gemm_raw.ts            (CHAINRULE_NATIVE_THREADS=1 for one thread; CHAINRULE_BACKEND=wasm for the wasm backend)
 */
import { backend } from '../src/backend/index.js';

const b = backend();
const cases: [string, number, number, number, boolean, boolean][] = [
  ['fwd1', 128, 784, 256, false, true],
  ['dW1', 256, 128, 784, true, false],
  ['fwd2', 128, 256, 128, false, true],
  ['dW2', 128, 128, 256, true, false],
  ['dh', 128, 128, 256, false, false],
  ['fwd3', 128, 128, 10, false, true],
  ['dW3', 10, 128, 128, true, false],
  ['dh2', 128, 10, 128, false, false],
  ['n128', 128, 128, 128, false, false],
  ['n256', 256, 256, 256, false, false],
  ['n512', 512, 512, 512, false, false],
  ['n1024', 1024, 1024, 1024, false, false],
];
const only = process.argv[2]?.split(',');
const rand = (n: number) => Float32Array.from({ length: n }, () => Math.random() - 0.5);
console.log(b.name);
for (const [label, m, k, n, transA, transB] of cases) {
  if (only && !only.includes(label)) continue;
  const a = rand(m * k), bb = rand(k * n), c = new Float32Array(m * n);
  const args = { transA, transB, m, n, k, a, aOffset: 0, b: bb, bOffset: 0, c, cOffset: 0, accumulate: false };
  const flops = 2 * m * n * k;
  const reps = Math.max(5, Math.min(20000, Math.round(2e9 / flops)));
  for (let i = 0; i < Math.min(reps, 50); i++) b.gemm(args);
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) b.gemm(args);
    best = Math.min(best, (performance.now() - t0) / reps);
  }
  const tag = `${m}×${k}×${n} ${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}`;
  console.log(`${label.padEnd(6)} ${tag.padEnd(18)} ${(best * 1000).toFixed(1).padStart(8)} µs ${(flops / best / 1e6).toFixed(0).padStart(5)} GFLOP/s`);
}
