/**
 * fp32 matrix multiply, GFLOP/s at n = 128, 256, 512, 1024 (C = A·B, all n×n), for every route:
 * chainrule's reference, wasm and native backends on 1 and 2 threads, TensorFlow.js cpu and
 * wasm, and OpenBLAS through bench/matmul_numpy.py when Debian's numpy is there.
 *
 *   npm run bench:matmul                 # all sizes
 *   npm run bench:matmul -- 256 1024     # chosen sizes
 *
 * The machine is shared and noisy: each figure is a median, and OpenBLAS runs at each size right
 * after chainrule's routes. Compare ratios within one run, not absolute figures across runs.
 */
import type * as TF from '@tensorflow/tfjs-core';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNativeBackend } from '../src/backend/native/index.js';
import { referenceBackend } from '../src/backend/reference.js';
import type { Backend } from '../src/backend/types.js';
import { createWasmBackend } from '../src/backend/wasm/index.js';

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const SIZES = sizes.length ? sizes : [128, 256, 512, 1024];
/** Per route and size: at least MIN_RUNS runs, more while under TIME_BUDGET_MS (up to MAX_RUNS). */
const MIN_RUNS = 3;
const MAX_RUNS = 21;
const TIME_BUDGET_MS = 1500;

interface Route {
  name: string;
  /** One timed product; returns milliseconds. */
  run(n: number): number;
  /** Skip sizes that would take too long (the plain loops). */
  maxN?: number;
}

function randomMatrix(n: number, seed: number): Float32Array {
  const a = new Float32Array(n * n);
  let s = seed;
  for (let i = 0; i < a.length; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    a[i] = s / 2 ** 32 - 0.5;
  }
  return a;
}

const inputs = new Map<number, { a: Float32Array; b: Float32Array; c: Float32Array }>();
function operands(n: number) {
  let x = inputs.get(n);
  if (!x) inputs.set(n, (x = { a: randomMatrix(n, 1), b: randomMatrix(n, 2), c: new Float32Array(n * n) }));
  return x;
}

function backendRoute(name: string, backend: Backend, maxN?: number): Route {
  return {
    name,
    maxN,
    run(n) {
      const { a, b, c } = operands(n);
      const t0 = performance.now();
      backend.gemm({ transA: false, transB: false, m: n, n, k: n, a, aOffset: 0, b, bOffset: 0, c, cOffset: 0, accumulate: false });
      return performance.now() - t0;
    },
  };
}

async function tfjsRoutes(): Promise<Route[]> {
  const req = createRequire(import.meta.url);
  let tf: typeof TF;
  try {
    tf = req('@tensorflow/tfjs-core') as typeof TF;
    req('@tensorflow/tfjs-backend-cpu');
    const { setWasmPaths } = req('@tensorflow/tfjs-backend-wasm') as { setWasmPaths: (p: string) => void };
    setWasmPaths(path.dirname(req.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + '/');
  } catch {
    return [];
  }
  const routes: Route[] = [];
  for (const backend of ['cpu', 'wasm']) {
    if (!(await tf.setBackend(backend))) continue;
    await tf.ready();
    const tensors = new Map<number, [TF.Tensor2D, TF.Tensor2D]>();
    routes.push({
      name: `tfjs-${backend}${backend === 'wasm' ? ' (XNNPACK, 1 thread)' : ''}`,
      maxN: backend === 'cpu' ? 512 : undefined,
      run(n) {
        // setBackend is global: switch to this route's backend before each run.
        tf.setBackend(backend);
        let t = tensors.get(n);
        if (!t) {
          const { a, b } = operands(n);
          tensors.set(n, (t = [tf.tensor2d(a, [n, n]), tf.tensor2d(b, [n, n])]));
        }
        const t0 = performance.now();
        const c = tf.matMul(t[0], t[1]);
        c.dataSync();
        const ms = performance.now() - t0;
        c.dispose();
        return ms;
      },
    });
  }
  return routes;
}

/** OpenBLAS through numpy, 1 and 2 threads; null where Python/numpy is missing. */
function openblas(n: number, threads: number): number | null {
  const script = fileURLToPath(new URL('./matmul_numpy.py', import.meta.url));
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const res = spawnSync(python, [script, String(threads), String(n)], { encoding: 'utf8', timeout: 120_000 });
  if (res.status !== 0) return null;
  const m = /gflops=([\d.]+)/.exec(res.stdout);
  return m ? Number(m[1]) : null;
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const wasm1 = await createWasmBackend({ threads: 1 });
  const wasm2 = await createWasmBackend({ threads: 2 });
  const native1 = createNativeBackend({ threads: 1 });
  const native2 = createNativeBackend({ threads: 2 });
  const routes: Route[] = [
    backendRoute('chainrule reference (TS loops)', referenceBackend, 512),
    backendRoute(`chainrule ${wasm1.name}`, wasm1),
    backendRoute(`chainrule ${wasm2.name}`, wasm2),
    ...(native1 && native2 ? [backendRoute(`chainrule ${native1.name}`, native1), backendRoute(`chainrule ${native2.name}`, native2)] : []),
    ...(await tfjsRoutes()),
  ];
  const table = new Map<string, Map<number, number>>();
  for (const n of SIZES) {
    const flop = 2 * n ** 3;
    const active = routes.filter((r) => !r.maxN || n <= r.maxN);
    const times = new Map<Route, number[]>();
    for (const r of active) {
      // Each route's runs back to back (a worker left spinning by another route would steal
      // its second core), after a pause that lets the previous route's workers go to sleep.
      await new Promise((res) => setTimeout(res, 20));
      r.run(n); // warm-up: JIT tiers, worker start, packing buffers
      const ts: number[] = [];
      let spent = 0;
      while (ts.length < MIN_RUNS || (spent < TIME_BUDGET_MS && ts.length < MAX_RUNS)) {
        const ms = r.run(n);
        ts.push(ms);
        spent += ms;
      }
      times.set(r, ts);
    }
    for (const r of active) {
      if (!table.has(r.name)) table.set(r.name, new Map());
      table.get(r.name)!.set(n, flop / median(times.get(r)!) / 1e6);
    }
    for (const threads of [1, 2]) {
      const g = openblas(n, threads);
      if (g !== null) {
        const name = `OpenBLAS via numpy (${threads} thread${threads > 1 ? 's' : ''})`;
        if (!table.has(name)) table.set(name, new Map());
        table.get(name)!.set(n, g);
      }
    }
    process.stderr.write(`n=${n} done\n`);
  }
  const width = Math.max(...[...table.keys()].map((k) => k.length));
  console.log(`fp32 matmul C = A·B, n×n, GFLOP/s (median), ${new Date().toISOString()}`);
  console.log(`${'route'.padEnd(width)} | ${SIZES.map((n) => `n=${n}`.padStart(8)).join(' | ')}`);
  console.log(`${'-'.repeat(width)}-|-${SIZES.map(() => '-'.repeat(8)).join('-|-')}`);
  for (const [name, row] of table) {
    const cells = SIZES.map((n) => (row.has(n) ? row.get(n)!.toFixed(1) : '-').padStart(8));
    console.log(`${name.padEnd(width)} | ${cells.join(' | ')}`);
  }
  process.exit(0);
}

await main();
