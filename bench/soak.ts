/**
 * Soak benchmark (issue 18 point 8; not run in CI): does memory stay flat over long training?
 *
 *   small: the XOR 2-4-1 MLP (nn.Sequential, Tanh, MSE, SGD with momentum) for 1,000,000
 *          steps on the four XOR rows, RSS and heapUsed sampled every 10,000 steps;
 *   large: the 784-256-128-10 MLP (ReLU, cross-entropy, Adam) for 10,000 steps on batches of
 *          synthetic data (a fresh random batch each step), RSS sampled every 100 steps.
 *
 * Both use the modules, optimizers and losses a user would (model.call, opt.zeroGrad,
 * loss.backward, opt.step, loss.item()), and never call dispose: memory is left to the
 * garbage collector, as in ordinary code. Writes each curve as CSV and a summary as JSON to
 * bench/results/ and prints the summary: first / last / max RSS and the least-squares slope of
 * RSS over the second half of the run (after warm-up), in MB per 100,000 steps (small) or per
 * 1,000 steps (large).
 *
 *   npm run bench:soak                        # both, full length
 *   npx tsx bench/soak.ts --small 100000 --large 1000 --batch 512 [--backend auto|native|wasm|reference]
 *   npx tsx bench/soak.ts --only small        # or --only large
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { F, manualSeed, nn, optim, randn, setBackend, tensor, type Tensor } from '../src/index.js';

const { values } = parseArgs({
  options: {
    small: { type: 'string', default: '1000000' },
    large: { type: 'string', default: '10000' },
    batch: { type: 'string', default: '512' },
    backend: { type: 'string', default: 'auto' },
    only: { type: 'string' },
    out: { type: 'string', default: 'bench/results' },
  },
});

interface Sample {
  step: number;
  seconds: number;
  rssMb: number;
  heapUsedMb: number;
  externalMb: number;
  loss: number;
}

interface Summary {
  run: string;
  steps: number;
  sampleEvery: number;
  seconds: number;
  stepsPerSecond: number;
  firstRssMb: number;
  lastRssMb: number;
  maxRssMb: number;
  minRssMb: number;
  firstHeapMb: number;
  lastHeapMb: number;
  maxHeapMb: number;
  /** Least-squares slope of RSS over the second half of the samples, per `slopePer` steps. */
  rssSlopeMb: number;
  heapSlopeMb: number;
  slopePer: number;
  firstLoss: number;
  lastLoss: number;
}

const MB = 2 ** 20;

function sample(step: number, t0: number, loss: number): Sample {
  const m = process.memoryUsage();
  return { step, seconds: (performance.now() - t0) / 1000, rssMb: m.rss / MB, heapUsedMb: m.heapUsed / MB, externalMb: (m.external + m.arrayBuffers) / MB, loss };
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

function summarise(run: string, steps: number, every: number, samples: Sample[], slopePer: number): Summary {
  const half = samples.slice(Math.floor(samples.length / 2));
  const xs = half.map((s) => s.step);
  const last = samples[samples.length - 1]!;
  return {
    run, steps, sampleEvery: every, seconds: last.seconds, stepsPerSecond: steps / last.seconds,
    firstRssMb: samples[0]!.rssMb, lastRssMb: last.rssMb,
    maxRssMb: Math.max(...samples.map((s) => s.rssMb)), minRssMb: Math.min(...samples.map((s) => s.rssMb)),
    firstHeapMb: samples[0]!.heapUsedMb, lastHeapMb: last.heapUsedMb, maxHeapMb: Math.max(...samples.map((s) => s.heapUsedMb)),
    rssSlopeMb: slope(xs, half.map((s) => s.rssMb)) * slopePer,
    heapSlopeMb: slope(xs, half.map((s) => s.heapUsedMb)) * slopePer,
    slopePer, firstLoss: samples[0]!.loss, lastLoss: last.loss,
  };
}

function writeCurve(name: string, samples: Sample[]): string {
  const path = `${values.out}/soak-${name}.csv`;
  const rows = samples.map((s) => [s.step, s.seconds.toFixed(2), s.rssMb.toFixed(2), s.heapUsedMb.toFixed(2), s.externalMb.toFixed(2), s.loss.toPrecision(6)].join(','));
  writeFileSync(path, `step,seconds,rss_mb,heap_used_mb,external_mb,loss\n${rows.join('\n')}\n`);
  return path;
}

function report(s: Summary): void {
  const f = (v: number) => v.toFixed(1);
  const per = s.slopePer.toLocaleString('en-US');
  console.log(
    `${s.run}: ${s.steps.toLocaleString('en-US')} steps in ${f(s.seconds)} s (${Math.round(s.stepsPerSecond)} steps/s); ` +
      `RSS first ${f(s.firstRssMb)} MB, last ${f(s.lastRssMb)} MB, min ${f(s.minRssMb)}, max ${f(s.maxRssMb)} MB, ` +
      `slope ${s.rssSlopeMb.toFixed(2)} MB per ${per} steps (second half); heapUsed first ${f(s.firstHeapMb)}, last ${f(s.lastHeapMb)}, max ${f(s.maxHeapMb)} MB, ` +
      `slope ${s.heapSlopeMb.toFixed(2)} MB per ${per} steps; loss ${s.firstLoss.toPrecision(4)} → ${s.lastLoss.toPrecision(4)}`,
  );
}

/** The XOR 2-4-1 MLP with SGD: many tiny steps, where per-step bookkeeping would pile up. */
function soakSmall(steps: number, every: number): Sample[] {
  manualSeed(0);
  const model = new nn.Sequential(new nn.Linear(2, 4), new nn.Tanh(), new nn.Linear(4, 1));
  const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
  const x = tensor([[0, 0], [0, 1], [1, 0], [1, 1]]);
  const y = tensor([[0], [1], [1], [0]]);
  const samples: Sample[] = [];
  const t0 = performance.now();
  let loss = NaN;
  for (let step = 1; step <= steps; step++) {
    opt.zeroGrad();
    const l = F.mseLoss(model.call(x) as Tensor, y);
    l.backward();
    opt.step();
    if (step === 1 || step % every === 0) {
      loss = l.item();
      samples.push(sample(step, t0, loss));
      if (step % (every * 10) === 0) process.stderr.write(`small ${step}: rss ${samples.at(-1)!.rssMb.toFixed(1)} MB, loss ${loss.toPrecision(3)}\n`);
    }
  }
  return samples;
}

/** The 784-256-128-10 MLP with Adam on large synthetic batches: big buffers every step. */
function soakLarge(steps: number, every: number, batch: number): Sample[] {
  manualSeed(1);
  const model = new nn.Sequential(new nn.Linear(784, 256), new nn.ReLU(), new nn.Linear(256, 128), new nn.ReLU(), new nn.Linear(128, 10));
  const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
  // Labels that depend on the input, so the loss can fall: the class of a fixed projection's argmax.
  const proj = randn([784, 10]);
  const samples: Sample[] = [];
  const t0 = performance.now();
  for (let step = 1; step <= steps; step++) {
    const xb = randn([batch, 784]);
    const yb = xb.matmul(proj).argmax(1);
    opt.zeroGrad();
    const l = F.crossEntropy(model.call(xb) as Tensor, yb);
    l.backward();
    opt.step();
    if (step === 1 || step % every === 0) {
      samples.push(sample(step, t0, l.item()));
      if (step % (every * 10) === 0) process.stderr.write(`large ${step}: rss ${samples.at(-1)!.rssMb.toFixed(1)} MB, loss ${samples.at(-1)!.loss.toPrecision(3)}\n`);
    }
  }
  return samples;
}

async function main(): Promise<void> {
  let backendName = 'reference';
  try {
    const sel = (await import('../src/backend/select.js')) as { initBackend: (p: string) => Promise<{ name: string }> };
    const b = await sel.initBackend(values.backend!);
    setBackend(b as never);
    backendName = b.name;
  } catch {
    // the reference backend
  }
  mkdirSync(values.out!, { recursive: true });
  const smallSteps = Number(values.small);
  const largeSteps = Number(values.large);
  const batch = Number(values.batch);
  for (const [k, v] of [['--small', smallSteps], ['--large', largeSteps], ['--batch', batch]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`soak: ${k} must be a positive integer, got ${v}`);
  }
  const summaries: Summary[] = [];
  console.log(`soak: backend ${backendName}, node ${process.version}, small ${smallSteps} steps, large ${largeSteps} steps at batch ${batch}`);
  if (values.only !== 'large') {
    const every = Math.max(1, Math.min(10_000, Math.floor(smallSteps / 10)));
    const s = soakSmall(smallSteps, every);
    const sum = summarise('small (XOR 2-4-1, SGD)', smallSteps, every, s, 100_000);
    report(sum);
    console.log(`  curve: ${writeCurve('small', s)}`);
    summaries.push(sum);
  }
  if (values.only !== 'small') {
    const every = Math.max(1, Math.min(100, Math.floor(largeSteps / 10)));
    const s = soakLarge(largeSteps, every, batch);
    const sum = summarise(`large (784-256-128-10, Adam, batch ${batch})`, largeSteps, every, s, 1_000);
    report(sum);
    console.log(`  curve: ${writeCurve('large', s)}`);
    summaries.push(sum);
  }
  const path = `${values.out}/soak-summary.json`;
  writeFileSync(path, `${JSON.stringify({ backend: backendName, node: process.version, date: new Date().toISOString(), summaries }, null, 2)}\n`);
  console.log(`summary: ${path}`);
}

await main();
