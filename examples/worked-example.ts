/**
 * The seeds' worked example (chapter 16.5): a 2-3-1 network with sigmoid on both layers,
 * trained one step on a single example with ½(a − y)², computed by chainrule's autograd in
 * float64. Run: npm run example
 */
import { noGrad, tensor, type Tensor } from '../src/index.js';

const f64 = { dtype: 'float64' as const, requiresGrad: true };
export const params = () => ({
  W1: tensor([[0.15, 0.2], [0.25, 0.3], [0.35, 0.4]], f64),
  b1: tensor([0.35, 0.35, 0.35], f64),
  W2: tensor([[0.4, 0.45, 0.5]], f64),
  b2: tensor([0.6], f64),
});
export const x = tensor([0.05, 0.1], { dtype: 'float64' });
export const y = tensor([0.01], { dtype: 'float64' });

type Params = ReturnType<typeof params>;

export function forward(p: Params) {
  const z1 = p.W1.matmul(x).add(p.b1);
  const a1 = z1.sigmoid();
  const z2 = p.W2.matmul(a1).add(p.b2);
  const a2 = z2.sigmoid();
  const loss = a2.sub(y).pow(2).mul(0.5).sum();
  return { z1, a1, z2, a2, loss };
}

/** One full step: forward, backward, the SGD update with η, and the loss after it. */
export function workedExample(lr = 0.5) {
  const p = params();
  const f = forward(p);
  f.z2.retainGrad(); // δ² = ∂L/∂z²
  f.z1.retainGrad(); // δ¹ = ∂L/∂z¹
  f.loss.backward();
  const grads = Object.fromEntries(Object.entries(p).map(([k, t]) => [k, t.grad!])) as Record<keyof Params, Tensor>;
  noGrad(() => {
    for (const t of Object.values(p)) t.sub_(t.grad!.mul(lr));
  });
  const after = noGrad(() => forward(p).loss.item());
  return { loss: f.loss.item(), output: f.a2.item(), delta2: f.z2.grad!, delta1: f.z1.grad!, grads, lossAfter: after };
}

const isMain = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('worked-example.ts');
if (isMain) {
  const r = workedExample();
  const fmt = (t: Tensor) => `[${t.tolist().map((v) => v.toFixed(6)).join(', ')}]`;
  console.log('chainrule — the seeds\' worked example (2-3-1 sigmoid network, ½(a − y)², float64)');
  console.log(`output a²          ${r.output.toFixed(6)}`);
  console.log(`loss               ${r.loss.toFixed(6)}`);
  console.log(`δ² = ∂L/∂z²        ${fmt(r.delta2)}`);
  console.log(`δ¹ = ∂L/∂z¹        ${fmt(r.delta1)}`);
  console.log(`∂L/∂W²             ${fmt(r.grads.W2)}`);
  console.log(`∂L/∂b²             ${fmt(r.grads.b2)}`);
  console.log(`∂L/∂W¹             [${r.grads.W1.chunk(3, 0).map((row) => `[${row.tolist().map((v) => v.toFixed(8)).join(", ")}]`).join(", ")}]`);
  console.log(`∂L/∂b¹             ${fmt(r.grads.b1)}`);
  console.log(`loss after one SGD step (η = 0.5): ${r.lossAfter.toFixed(6)}`);
}
