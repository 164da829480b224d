/**
 * The wasm backend's gemm called directly (copies in and out included) at the n×n squares and
 * the MLP training-step shapes in all four layouts: median µs and GFLOP/s over 7 timed runs.
 *   npx tsx bench/wasm_gemm_shapes.ts [labels,comma,separated] [--threads N]
 * CHAINRULE_WASM_RELAXED=0 measures the mul+add build.
 */
import { referenceBackend } from '../src/backend/reference.js';
import { createWasmBackend } from '../src/backend/wasm/index.js';

const tIdx = process.argv.indexOf('--threads');
const threads = tIdx > 0 ? Number(process.argv[tIdx + 1]) : 2;
const only = process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2].split(',') : null;
const b = await createWasmBackend(referenceBackend, { threads });

// [label, m, k, n, transA, transB]: C[m×n] = op(A)·op(B)
const cases: [string, number, number, number, boolean, boolean][] = [
  ['n1024', 1024, 1024, 1024, false, false],
  ['n512', 512, 512, 512, false, false],
  ['n256', 256, 256, 256, false, false],
];
for (const [m, k, n] of [[128, 784, 256], [256, 128, 784], [128, 256, 128], [128, 128, 256], [128, 128, 10], [10, 128, 128], [128, 10, 128]] as const) {
  for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]] as const) {
    cases.push([`${m}x${k}x${n}${ta ? 'T' : 'N'}${tb ? 'T' : 'N'}`, m, k, n, ta, tb]);
  }
}
const rand = (n: number) => Float32Array.from({ length: n }, () => Math.random() - 0.5);
console.log(b.name);
for (const [label, m, k, n, transA, transB] of cases) {
  if (only && !only.some((o) => label.startsWith(o))) continue;
  const a = rand(m * k), bb = rand(k * n), c = new Float32Array(m * n);
  const args = { transA, transB, m, n, k, a, aOffset: 0, b: bb, bOffset: 0, c, cOffset: 0, accumulate: false };
  const flops = 2 * m * n * k;
  const reps = Math.max(3, Math.min(20000, Math.round(1e9 / flops)));
  for (let i = 0; i < Math.min(reps, 50); i++) b.gemm(args);
  const runs: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) b.gemm(args);
    runs.push((performance.now() - t0) / reps);
  }
  runs.sort((x, y) => x - y);
  const med = runs[3]!;
  console.log(`${label.padEnd(16)} ${(med * 1000).toFixed(1).padStart(8)} µs ${(flops / med / 1e6).toFixed(1).padStart(6)} GFLOP/s`);
}
process.exit(0);
