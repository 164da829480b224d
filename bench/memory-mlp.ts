/**
 * Memory stays flat without dispose(): 100,000 training steps of a small MLP, printing the
 * resident set size as it goes. Run: npx tsx bench/memory-mlp.ts [steps]
 */
import { manualSeed, noGrad, randn, tensor, type Tensor } from '../src/index.js';

const steps = Number(process.argv[2] ?? 100_000);
manualSeed(0);
const init = (shape: number[], scale: number) => randn(shape).mul(scale).requiresGrad_(true);
const params: Tensor[] = [init([16, 8], 0.3), init([16], 0), init([1, 16], 0.3), init([1], 0)];
const [W1, b1, W2, b2] = params as [Tensor, Tensor, Tensor, Tensor];
const X = randn([32, 8]);
const Y = X.sum(1, true).sin();
const mb = () => (process.memoryUsage().rss / 2 ** 20).toFixed(1);
const t0 = Date.now();
let loss = 0;
for (let step = 1; step <= steps; step++) {
  const h = X.matmul(W1.t()).add(b1).relu();
  const out = h.matmul(W2.t()).add(b2);
  const l = out.sub(Y).pow(2).mean();
  for (const p of params) p.grad = null;
  l.backward();
  noGrad(() => {
    for (const p of params) p.sub_(p.grad!.mul(0.05));
  });
  loss = l.item();
  if (step % (steps / 10) === 0 || step === 1) console.log(`step ${step}\tloss ${loss.toFixed(5)}\trss ${mb()} MB`);
}
console.log(`${steps} steps in ${((Date.now() - t0) / 1000).toFixed(1)} s; final rss ${mb()} MB`);
void tensor;
