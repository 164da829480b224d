import { describe, expect, it } from 'vitest';
import { cat, stack, where } from '../../src/index.js';
import { checkCase, loadCases, type OpCall } from './helpers.js';

/**
 * Every differentiable op against PyTorch 1.13 (test/fixtures/gen_ops.py): forward values and
 * input gradients, float64 to 1e-10 and float32 to 1e-5. Each op is one line mapping the
 * fixture's op name to the chainrule call; the fixtures carry the shapes and arguments. Every
 * case runs with and without createGraph: a rule has one backward body, so both must agree.
 */
const OPS: Record<string, OpCall> = {
  // elementwise
  add: ([a, b]) => a!.add(b!),
  sub: ([a, b]) => a!.sub(b!),
  mul: ([a, b]) => a!.mul(b!),
  div: ([a, b]) => a!.div(b!),
  pow: ([a, b]) => a!.pow(b!),
  powScalar: ([x], a) => x!.pow(a.exponent),
  maximum: ([a, b]) => a!.maximum(b!),
  minimum: ([a, b]) => a!.minimum(b!),
  neg: ([x]) => x!.neg(),
  exp: ([x]) => x!.exp(),
  log: ([x]) => x!.log(),
  sqrt: ([x]) => x!.sqrt(),
  abs: ([x]) => x!.abs(),
  sin: ([x]) => x!.sin(),
  cos: ([x]) => x!.cos(),
  clamp: ([x], a) => x!.clamp(a.min, a.max),
  where: ([c, a, b]) => where(c!, a!, b!),
  // matrix products
  matmul: ([a, b]) => a!.matmul(b!),
  // reductions (max/min are PyTorch's amax/amin)
  sum: ([x], a) => x!.sum(a.dim, a.keepdim),
  mean: ([x], a) => x!.mean(a.dim, a.keepdim),
  max: ([x], a) => x!.max(a.dim, a.keepdim),
  min: ([x], a) => x!.min(a.dim, a.keepdim),
  var: ([x], a) => x!.var(a.dim, { correction: a.correction, keepdim: a.keepdim }),
  std: ([x], a) => x!.std(a.dim, { correction: a.correction, keepdim: a.keepdim }),
  logsumexp: ([x], a) => x!.logsumexp(a.dim ?? x!.shape.map((_, i) => i), a.keepdim),
  argmax: ([x], a) => x!.argmax(a.dim, a.keepdim),
  cumsum: ([x], a) => x!.cumsum(a.dim),
  // shape
  reshape: ([x], a) => x!.reshape(a.shape),
  view: ([x], a) => x!.view(a.shape),
  flatten: ([x], a) => x!.flatten(a.start, a.end),
  squeeze: ([x], a) => x!.squeeze(a.dim),
  unsqueeze: ([x], a) => x!.unsqueeze(a.dim),
  transpose: ([x], a) => x!.transpose(a.dim0, a.dim1),
  permute: ([x], a) => x!.permute(a.dims),
  expand: ([x], a) => x!.expand(a.shape),
  cat: (xs, a) => cat(xs, a.dim),
  stack: (xs, a) => stack(xs, a.dim),
  split: ([x], a) => x!.split(a.sizes, a.dim),
  chunk: ([x], a) => x!.chunk(a.chunks, a.dim),
  narrow: ([x], a) => x!.narrow(a.dim, a.start, a.length),
  select: ([x], a) => x!.select(a.dim, a.index),
  slice: ([x], a) => x!.slice(a.dim, a.start, a.end, a.step),
  // indexing
  indexSelect: ([x, i], a) => x!.indexSelect(a.dim, i!),
  gather: ([x, i], a) => x!.gather(a.dim, i!),
  scatterAdd: ([s, i, x], a) => s!.scatterAdd(a.dim, i!, x!),
  // activations
  sigmoid: ([x]) => x!.sigmoid(),
  tanh: ([x]) => x!.tanh(),
  relu: ([x]) => x!.relu(),
  leakyRelu: ([x], a) => x!.leakyRelu(a.negativeSlope),
  elu: ([x], a) => x!.elu(a.alpha),
  gelu: ([x], a) => x!.gelu(a.approximate),
  softplus: ([x], a) => x!.softplus(a.beta, a.threshold),
  softmax: ([x], a) => x!.softmax(a.dim),
  logSoftmax: ([x], a) => x!.logSoftmax(a.dim),
};

const cases = loadCases();

it('every fixture op has a chainrule call, and every call has fixtures', () => {
  const inFixtures = new Set(cases.map((c) => c.op));
  expect([...inFixtures].filter((op) => !(op in OPS))).toEqual([]);
  expect(Object.keys(OPS).filter((op) => !inFixtures.has(op))).toEqual([]);
});

for (const [op, call] of Object.entries(OPS)) {
  describe(op, () => {
    // Each case twice: a plain backward, and one recorded with createGraph (the double-backward path).
    const mine = cases.filter((c) => c.op === op);
    const runs = mine.flatMap((c) => [[`${c.name} ${c.dtype}`, c, false], [`${c.name} ${c.dtype} createGraph`, c, true]] as const);
    it.each(runs)('%s', (_, c, createGraph) => checkCase(c, call, createGraph));
  });
}
