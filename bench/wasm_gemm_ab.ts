/**
 * A/B of two checkouts' wasm GEMM in one process, calls interleaved round by round so load on a
 * shared machine hits both alike: median µs and GFLOP/s per shape for each.
 *   npx tsx bench/wasm_gemm_ab.ts /path/to/other/checkout [labels,comma,separated] [--rounds N] [--threads N] [--fresh]
 * --fresh: a new output array each call (allocateUninit, as Tensor.matmul does) instead of one reused.
 * Labels: n1024, n512, n256, and the MLP step shapes in four layouts (128x784x256NT, ...); a label
 * selects every case it begins. One checkout alone: CHAINRULE_BACKEND=wasm npx tsx bench/gemm_raw.ts.
 */
import { referenceBackend } from '../src/backend/reference.js';
import type { Backend } from '../src/backend/types.js';
import { createWasmBackend } from '../src/backend/wasm/index.js';
import { allocateUninit } from '../src/tensor/dtype.js';

const args = process.argv.slice(2);
const opt = (name: string, d: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args.splice(i, 2)[1]) : d;
};
const fresh = args.includes('--fresh') ? (args.splice(args.indexOf('--fresh'), 1), true) : false;
const rounds = opt('--rounds', 9);
const threads = opt('--threads', 2);
const other = args[0]!;
const only = args[1]?.split(',') ?? null;

// A checkout from before the kernel registry takes the fallback backend first.
type Create = (...args: unknown[]) => Promise<Backend>;
const mod = (await import(`${other}/src/backend/wasm/index.ts`)) as { createWasmBackend: Create };
const a: Backend = await (mod.createWasmBackend.length >= 1 ? mod.createWasmBackend(referenceBackend, { threads }) : mod.createWasmBackend({ threads }));
const b: Backend = await createWasmBackend({ threads });

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
const med = (x: number[]) => [...x].sort((p, q) => p - q)[x.length >> 1]!;
console.log(`A = ${other} (${a.name}), B = this checkout (${b.name}), ${rounds} rounds${fresh ? ', fresh outputs' : ''}`);
for (const [label, m, k, n, transA, transB] of cases) {
  if (only && !only.some((o) => label.startsWith(o))) continue;
  const A = rand(m * k), B = rand(k * n);
  const flops = 2 * m * n * k;
  const reps = Math.max(2, Math.min(20000, Math.round(2e9 / flops)));
  const times: [number[], number[]] = [[], []];
  const ca = new Float32Array(m * n), cb = new Float32Array(m * n);
  const run = (be: Backend, c: Float32Array) => {
    const g = { transA, transB, m, n, k, a: A, aOffset: 0, b: B, bOffset: 0, c, cOffset: 0, accumulate: false };
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) {
      if (fresh) g.c = allocateUninit('float32', m * n) as Float32Array;
      be.gemm(g);
    }
    if (fresh) c.set(g.c);
    return (performance.now() - t0) / reps;
  };
  run(a, ca); run(b, cb); run(a, ca); run(b, cb);
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) { times[0].push(run(a, ca)); times[1].push(run(b, cb)); }
    else { times[1].push(run(b, cb)); times[0].push(run(a, ca)); }
  }
  let maxDiff = 0;
  for (let i = 0; i < ca.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ca[i]! - cb[i]!));
  const [ta, tb] = [med(times[0]), med(times[1])];
  const g = (t: number) => (flops / t / 1e6).toFixed(1).padStart(6);
  console.log(`${label.padEnd(16)} A ${(ta * 1000).toFixed(1).padStart(8)} µs ${g(ta)} GF/s   B ${(tb * 1000).toFixed(1).padStart(8)} µs ${g(tb)} GF/s   B/A ${(ta / tb).toFixed(3)}  maxdiff ${maxDiff.toExponential(1)}`);
}
process.exit(0);
