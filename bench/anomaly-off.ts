/**
 * The cost of anomaly mode when it is off: a 784-128-10 MLP training step (batch 64, SGD) timed
 * on two source trees in one process, alternately, best of 12 rounds of 300 steps each.
 *
 *   git archive <commit-before> src package.json | tar -x -C /tmp/before   # the tree to compare with
 *   ln -s "$PWD/native" /tmp/before/native                                 # same native addon
 *   npx tsx bench/anomaly-off.ts /tmp/before
 *
 * Both copies load the same native addon; the rounds alternate which tree is timed first. On a
 * loaded machine either side moves by 5-15% from run to run: compare several runs.
 */
const beforeRoot = process.argv[2];
if (!beforeRoot) throw new Error('usage: npx tsx bench/anomaly-off.ts <path of the source tree to compare with>');
const before = await import(`${beforeRoot}/src/index.ts`);
const after = await import(new URL('../src/index.ts', import.meta.url).href);

function setup(c: any): () => void {
  c.manualSeed(0);
  const model = new c.nn.Sequential(new c.nn.Linear(784, 128), new c.nn.ReLU(), new c.nn.Linear(128, 10));
  const opt = new c.optim.SGD(model.parameters(), { lr: 0.01 });
  const x = c.randn([64, 784]);
  const y = c.randint(0, 10, [64]);
  return () => {
    opt.zeroGrad();
    c.F.crossEntropy(model.call(x), y).backward();
    opt.step();
  };
}

const steps = { before: setup(before), after: setup(after) };
const best = { before: Infinity, after: Infinity };
const N = 300;
for (const k of ['before', 'after'] as const) for (let i = 0; i < 50; i++) steps[k]();
for (let round = 0; round < 12; round++) {
  for (const k of (round % 2 ? ['after', 'before'] : ['before', 'after']) as ('before' | 'after')[]) {
    const t0 = performance.now();
    for (let i = 0; i < N; i++) steps[k]();
    best[k] = Math.min(best[k], (performance.now() - t0) / N);
  }
}
console.log(
  `backend ${after.backendName()}; best of 12 rounds of ${N} steps, ms/step: ` +
    `${beforeRoot} ${best.before.toFixed(4)}, this tree ${best.after.toFixed(4)} (${((best.after / best.before - 1) * 100).toFixed(2)}%)`,
);
