/**
 * GEMM at the shapes one training step of the 784-256-128-10 MLP (batch 128) runs, for
 * chainrule's backend and, where Debian's PyTorch is installed, PyTorch's OpenBLAS on one
 * thread. Shows where the MLP benchmark's time goes. Run: npx tsx bench/gemm_shapes.ts
 */
import { spawnSync } from 'node:child_process';
import { Tensor, backendName } from '../src/index.js';
import { matmulT } from '../src/ops/internal.js';

// [label, m, k, n, transA, transB]: C[m×n] = op(A)·op(B)
const cases: [string, number, number, number, boolean, boolean][] = [
  ['forward x·W1ᵀ', 128, 784, 256, false, true],
  ['dW1 = gᵀ·x', 256, 128, 784, true, false],
  ['forward h·W2ᵀ', 128, 256, 128, false, true],
  ['dW2 = gᵀ·h', 128, 128, 256, true, false],
  ['dh = g·W2', 128, 128, 256, false, false],
];

const rand = (n: number) => Float32Array.from({ length: n }, () => Math.random() - 0.5);
console.log(`chainrule (${backendName()}):`);
for (const [label, m, k, n, ta, tb] of cases) {
  const a = new Tensor(rand(m * k), ta ? [k, m] : [m, k], 'float32');
  const b = new Tensor(rand(k * n), tb ? [n, k] : [k, n], 'float32');
  for (let i = 0; i < 20; i++) matmulT(a, b, ta, tb);
  const reps = 300;
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) matmulT(a, b, ta, tb);
  const s = (performance.now() - t0) / reps / 1000;
  console.log(`  ${label.padEnd(16)} ${m}×${k}·${k}×${n}: ${(s * 1e6).toFixed(0).padStart(5)} µs ${((2 * m * n * k) / s / 1e9).toFixed(0).padStart(4)} GFLOP/s`);
}

const py = `
import time, torch
torch.set_num_threads(1)
for label, m, k, n, ta, tb in ${JSON.stringify(cases.map(([l, m, k, n, ta, tb]) => [l, m, k, n, ta ? 1 : 0, tb ? 1 : 0]))}:
    a = torch.randn(k, m).t() if ta else torch.randn(m, k)
    b = torch.randn(n, k).t() if tb else torch.randn(k, n)
    for _ in range(20): a @ b
    t = time.perf_counter()
    for _ in range(300): a @ b
    s = (time.perf_counter() - t) / 300
    print(f"  {label:16} {m}x{k}.{k}x{n}: {s*1e6:5.0f} us {2*m*n*k/s/1e9:4.0f} GFLOP/s")
`;
const env = { ...process.env };
delete env.OPENBLAS_CORETYPE;
delete env.OPENBLAS_L2_SIZE;
const r = spawnSync('/usr/bin/python3', ['-c', py], { encoding: 'utf8', env });
if (r.status === 0) console.log(`PyTorch (OpenBLAS, 1 thread):\n${r.stdout.trimEnd()}`);
