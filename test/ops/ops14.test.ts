import { describe, expect, it } from 'vitest';
import {
  ChainruleError, Generator, allclose, baddbmm, bmm, einsum, indexPut, linalg, manualSeed, multinomial, arange, autogradGrad, clone, enableGrad, gradcheck, isclose, noGrad, pad, tensor, type Tensor,
} from '../../src/index.js';

/**
 * The issue-14 tensor ops: float64 gradchecks (finite differences) on shapes where each op
 * does something, the behaviours fixtures cannot show (copies vs views, in-place forms), and
 * the errors for bad arguments, which must name the op and the shapes or values.
 */

const gen = new Generator(14);
function f64(shape: number[], requiresGrad = true): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(Float64Array.from({ length: n }, () => gen.normal()), { shape, dtype: 'float64', requiresGrad });
}
const ints = (values: number[], shape = [values.length]) => tensor(Int32Array.from(values), { shape });
const bools = (values: number[], shape: number[]) => tensor(Uint8Array.from(values), { shape, dtype: 'bool' });

type Fn = (...xs: Tensor[]) => Tensor | Tensor[];
const GRADCHECK: [string, Fn, number[][]][] = [
  ['tril', (x) => x!.tril(), [[4, 5]]],
  ['tril -1 batched', (x) => x!.tril(-1), [[2, 3, 4]]],
  ['triu 1', (x) => x!.triu(1), [[4, 5]]],
  ['maskedFill', (x) => x!.maskedFill(bools([1, 0, 0, 1], [4]), 2.5), [[3, 4]]],
  ['maskedFill tensor value', (x, v) => x!.maskedFill(bools([1, 0, 1], [3, 1]), v!), [[3, 4], []]],
  ['clone', (x) => clone(x!).mul(2), [[3, 4]]],
  ['flip', (x) => x!.flip([0, 2]), [[2, 3, 4]]],
  ['roll', (x) => x!.roll([1, -2], [0, 1]), [[3, 4]]],
  ['roll flat', (x) => x!.roll(5), [[3, 4]]],
  ['repeat', (x) => x!.repeat(2, 1, 3), [[2, 3]]],
  ['tile', (x) => x!.tile([2]), [[2, 3]]],
  ['repeatInterleave', (x) => x!.repeatInterleave(2, 1), [[2, 3]]],
  ['repeatInterleave tensor', (x) => x!.repeatInterleave(ints([2, 0, 1]), 1), [[2, 3]]],
  ['pad constant', (x) => pad(x!, [1, 2, 0, 1], 'constant', 0.5), [[2, 3, 4]]],
  ['pad constant negative', (x) => pad(x!, [-1, 2]), [[2, 4]]],
  ['pad reflect', (x) => pad(x!, [2, 3, 1, 1], 'reflect'), [[2, 3, 4]]],
  ['pad replicate', (x) => pad(x!, [2, 1, 1, 2, 1, 0], 'replicate'), [[2, 3, 4]]],
  ['pad circular', (x) => pad(x!, [1, 2], 'circular'), [[2, 3]]],
  ['sort values', (x) => x!.sort(1).values, [[3, 5]]],
  ['sort descending dim 0', (x) => x!.sort(0, true).values, [[4, 3]]],
  ['topk values', (x) => x!.topk(2, 1).values, [[3, 5]]],
  ['topk smallest', (x) => x!.topk(3, { dim: 0, largest: false }).values, [[4, 2, 3]]],
  ['cumprod', (x) => x!.cumprod(1), [[2, 5]]],
  ['cumprod dim 0', (x) => x!.cumprod(0), [[4, 3]]],
  ['nanToNum (finite input)', (x) => x!.nanToNum(), [[3, 4]]],
  ['bmm', (a, b) => bmm(a!, b!), [[2, 3, 4], [2, 4, 5]]],
  ['bmm transposed views', (a, b) => a!.transpose(1, 2).bmm(b!.transpose(1, 2)), [[2, 4, 3], [2, 5, 4]]],
  ['baddbmm', (i, a, b) => baddbmm(i!, a!, b!, { beta: 0.5, alpha: -2 }), [[3, 5], [2, 3, 4], [2, 4, 5]]],
  ['vectorNorm 2', (x) => linalg.vectorNorm(x!), [[3, 4]]],
  ['vectorNorm 1 dim', (x) => linalg.vectorNorm(x!, 1, 1), [[3, 4]]],
  ['vectorNorm inf', (x) => linalg.vectorNorm(x!, Infinity, [0, 2], true), [[2, 3, 4]]],
  ['vectorNorm -inf', (x) => linalg.vectorNorm(x!, -Infinity, 0), [[3, 4]]],
  ['vectorNorm 3', (x) => linalg.vectorNorm(x!, 3, -1), [[3, 4]]],
  ['norm', (x) => x!.norm(), [[3, 4]]],
  ['einsum matmul', (a, b) => einsum('ij,jk->ik', a!, b!), [[3, 4], [4, 2]]],
  ['einsum batched', (a, b) => einsum('bij,bjk->bik', a!, b!), [[2, 3, 4], [2, 4, 2]]],
  ['einsum outer', (a, b) => einsum('i,j->ij', a!, b!), [[3], [4]]],
  ['einsum trace', (a) => einsum('ii->', a!), [[4, 4]]],
  ['einsum transpose-contract', (a, b) => einsum('ji,jk->ki', a!, b!), [[4, 3], [4, 2]]],
  ['einsum sum over an index', (a) => einsum('ijk->ik', a!), [[2, 3, 4]]],
  ['einsum three operands', (a, b, c) => einsum('ij,jk,kl->il', a!, b!, c!), [[2, 3], [3, 4], [4, 2]]],
  ['index', (x) => x!.index([ints([0, 2, 2]), ints([1, -1, 0])]), [[3, 4]]],
  ['index with a slice between', (x) => x!.index([ints([1, 0]), null, ints([2, 0], [2, 1])]), [[2, 3, 4]]],
  ['indexPut', (x, v) => indexPut(x!, [null, ints([0, 2])], v!), [[3, 4], [3, 2]]],
  ['indexPut accumulate with repeats', (x, v) => indexPut(x!, [ints([1, 1, 0])], v!, true), [[3, 4], [3, 4]]],
];

describe('gradcheck through zeros', () => {
  it('cumprod with zeros in the input (the O(n²) path), and its second derivative', () => {
    const x = tensor([[1.5, 0, 2, -1, 0.7], [0, 3, 0, 2, 1.1]], { dtype: 'float64', requiresGrad: true });
    expect(gradcheck((t) => t.cumprod(1), [x]).ok).toBe(true);
    // The gradient itself, differentiated again (createGraph): finite differences of the VJP.
    const v = f64([2, 5], false);
    const vjp = (t: Tensor) =>
      enableGrad(() => {
        const y = t.cumprod(1).mul(v).sum();
        return autogradGrad([y], [t], { createGraph: true })[0]!;
      });
    expect(gradcheck(vjp, [x]).ok).toBe(true);
  });
});

describe('gradcheck (float64)', () => {
  it.each(GRADCHECK.map(([n, fn, s]) => [`${n} ${JSON.stringify(s)}`, fn, s] as const))('%s', (_, fn, shapes) => {
    const result = gradcheck(fn, shapes.map((s) => f64(s)));
    expect(result.ok).toBe(true);
    expect(result.checked).toBeGreaterThan(0);
  });
});

/** The error is a chainrule error whose message contains every fragment. */
function expectError(fn: () => unknown, ...fragments: string[]): void {
  let caught: unknown = null;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected an error').toBeInstanceOf(ChainruleError);
  for (const frag of fragments) expect((caught as Error).message).toContain(frag);
}

describe('group 1: triangles, masks, copies, flips, rolls, repeats, pad', () => {
  const x = arange(0, 12, 1, { dtype: 'float64' }).reshape(3, 4);

  it('copies where PyTorch copies: clone, flip, roll, repeat do not share storage', () => {
    for (const y of [clone(x), x.flip(0), x.roll(1, 0), x.roll(0, 0), x.repeat(1, 1), x.tile([1]), x.repeatInterleave(1, 0), x.tril(), pad(x, [0, 0])]) {
      expect(y.storage).not.toBe(x.storage);
    }
    expect(x.repeat(1, 1).toArray()).toEqual(x.toArray());
    const c = clone(x);
    noGrad(() => c.fill_(0));
    expect(x.sum().item()).toBe(66);
  });

  it('clone and flip of a strided view', () => {
    const t = x.t();
    expect(clone(t).toArray()).toEqual(t.toArray());
    expect(t.flip(1).toArray()).toEqual([[8, 4, 0], [9, 5, 1], [10, 6, 2], [11, 7, 3]]);
  });

  it('maskedFill takes bool or 0/1 masks and keeps the input dtype; maskedFill_ works in place', () => {
    const i = ints([1, 2, 3, 4], [2, 2]);
    expect(i.maskedFill(ints([1, 0]), 9).toArray()).toEqual([[9, 2], [9, 4]]);
    expect(i.maskedFill(ints([1, 0]), 9).dtype).toBe('int32');
    expect(x.maskedFill(tensor([0, 1, 0, 1]), -1).sum().item()).toBe(66 - (1 + 3 + 5 + 7 + 9 + 11) - 6);
    const y = clone(x);
    const r = y.maskedFill_(y.gt(5), 0);
    expect(r).toBe(y);
    expect(y.sum().item()).toBe(15);
    const v = x.clone().t();
    v.maskedFill_(bools([1, 0, 0], [3]), -1); // through a transposed view
    expect((v.toArray() as number[][])[0]).toEqual([-1, 4, 8]);
  });

  it('maskedFill_ refuses a graph tensor', () => {
    expectError(() => f64([2]).maskedFill_(bools([1, 0], [2]), 0), 'maskedFill_');
  });

  it('repeat and tile shapes follow PyTorch', () => {
    expect(x.repeat(2, 1, 3).shape).toEqual([2, 3, 12]);
    expect(arange(0, 3).tile([2, 2]).toArray()).toEqual([[0, 1, 2, 0, 1, 2], [0, 1, 2, 0, 1, 2]]);
    expect(arange(0, 3).repeatInterleave(2).toArray()).toEqual([0, 0, 1, 1, 2, 2]);
  });

  it('errors name the op and the shapes or values', () => {
    expectError(() => tensor([1, 2]).tril(), 'tril', '[2]');
    expectError(() => x.triu(0.5), 'triu', '0.5');
    expectError(() => x.maskedFill(bools([1, 0], [2, 1]), 0), 'maskedFill', '[2,1]', '[3,4]');
    expectError(() => x.maskedFill(tensor([0, 2, 0, 1]), 0), 'maskedFill', '2');
    expectError(() => x.maskedFill(bools([1, 0, 1, 0], [4]), f64([2])), 'maskedFill', '0-d');
    expectError(() => x.flip(2), 'flip', 'dim 2');
    expectError(() => x.flip([0, 0]), 'flip', 'repeats');
    expectError(() => x.roll([1, 2], [0]), 'roll', '[1, 2]', '[0]');
    expectError(() => x.roll([1, 2]), 'roll', 'one shift');
    expectError(() => x.repeat(2), 'repeat', '[3,4]');
    expectError(() => x.repeat(2, -1), 'repeat', '-1');
    expectError(() => x.repeatInterleave(ints([1, 2]), 0), 'repeatInterleave', '2 counts', 'size 3');
    expectError(() => x.repeatInterleave(tensor([1, 2, 3]), 0), 'repeatInterleave', 'float32');
    expectError(() => pad(x, [1]), 'pad', 'even');
    expectError(() => pad(x, [1, 1, 1, 1, 1, 1]), 'pad', '[3,4]');
    expectError(() => pad(x, [4, 0], 'reflect'), 'pad', 'reflect', 'size 4');
    expectError(() => pad(x, [1, 0], 'wrap' as never), 'pad', "'wrap'");
    expectError(() => pad(x, [-3, -2]), 'pad', 'crops');
  });
});

describe('group 2: sorting, cumprod, special values', () => {
  it('sort returns values and int32 indices, destructurable', () => {
    const x = tensor([[3, 1, 2], [0, 5, 4]], { dtype: 'float64' });
    const [values, indices] = x.sort(1);
    expect(values.toArray()).toEqual([[1, 2, 3], [0, 4, 5]]);
    expect(indices.dtype).toBe('int32');
    expect(x.sort({ dim: 0, descending: true }).indices.toArray()).toEqual([[0, 1, 1], [1, 0, 0]]);
    expect(x.argsort(1, true).toArray()).toEqual([[0, 2, 1], [1, 2, 0]]);
    expect(x.topk(1, 1).values.toArray()).toEqual([[3], [5]]);
    expect(x.t().sort(0).values.toArray()).toEqual([[1, 0], [2, 4], [3, 5]]); // a strided view
  });

  it('isclose / allclose follow torch (inf equals only itself, NaN only with equalNan)', () => {
    const a = tensor([1, NaN, Infinity], { dtype: 'float64' });
    expect(allclose(a, a)).toBe(false);
    expect(allclose(a, a, { equalNan: true })).toBe(true);
    expect(a.allclose(tensor([1 + 1e-6, NaN, Infinity], { dtype: 'float64' }), { equalNan: true })).toBe(true);
    expect(isclose(a, tensor([1, 0, -Infinity], { dtype: 'float64' })).toArray()).toEqual([true, false, false]);
    expect(allclose(tensor([[1, 2]]), tensor([1, 2]))).toBe(true); // broadcast
  });

  it('errors name the op and the shapes or values', () => {
    const x = tensor([[3, 1, 2], [0, 5, 4]]);
    expectError(() => x.sort(2), 'sort', 'dim 2');
    expectError(() => x.topk(4, 1), 'topk', 'k = 4', 'size 3');
    expectError(() => x.topk(-1), 'topk', 'k = -1');
    expectError(() => x.gt(1).sort(), 'sort', 'bool');
    expectError(() => x.cumprod(3), 'cumprod', 'dim 3');
    expectError(() => allclose(x, tensor([1, 2])), 'isclose', '[2,3]', '[2]');
    expectError(() => isclose(x, x, { rtol: -1 }), 'isclose', 'rtol -1');
  });
});

describe('group 3: batched products, norms', () => {
  it('norm at an all-zero vector has gradient 0 (not NaN)', () => {
    const x = tensor([[0, 0, 0], [3, 4, 0]], { dtype: 'float64', requiresGrad: true });
    linalg.vectorNorm(x, 2, 1).sum().backward();
    const g = x.grad!.tolist();
    expect(g.slice(0, 3)).toEqual([0, 0, 0]);
    [0.6, 0.8, 0].forEach((v, i) => expect(g[3 + i]).toBeCloseTo(v, 14));
    expect(linalg.vectorNorm(x.detach(), 0, 1).toArray()).toEqual([0, 2]);
  });

  it('errors name the op and the shapes or values', () => {
    expectError(() => bmm(f64([3, 4]), f64([4, 5])), 'bmm', '[3,4]', '3-D');
    expectError(() => bmm(f64([2, 3, 4]), f64([3, 4, 5])), 'bmm', 'batch sizes');
    expectError(() => bmm(f64([2, 3, 4]), f64([2, 3, 5])), 'bmm', 'inner dimensions 4 and 3');
    expectError(() => baddbmm(f64([4, 5]), f64([2, 3, 4]), f64([2, 4, 5])), 'baddbmm', '[4,5]', '[2,3,5]');
    expectError(() => linalg.vectorNorm(tensor([1, 2], { dtype: 'int32' })), 'vectorNorm', 'int32');
    expectError(() => linalg.vectorNorm(f64([3]), 2, 1), 'vectorNorm', 'dim 1');
    expectError(() => f64([3]).norm('nuc' as never), 'norm', 'nuc');
  });
});

describe('group 4: multinomial, einsum, indexing with tensors', () => {
  /** Pearson's chi-square statistic of counts against expected probabilities. */
  const chiSquare = (counts: number[], probs: number[], n: number) => counts.reduce((s, c, i) => s + (c - n * probs[i]!) ** 2 / (n * probs[i]!), 0);
  // 99.9% quantiles of chi-square with 3 and 4 degrees of freedom.
  const CHI2_999 = { 3: 16.27, 4: 18.47 };

  it('multinomial with replacement: frequencies within a chi-square bound (fixed seed)', () => {
    const w = tensor([1, 2, 3, 4, 0], { dtype: 'float64' });
    const n = 20000;
    const draws = multinomial(w, n, true, new Generator(5)).dataSync();
    const counts = [0, 0, 0, 0, 0];
    for (const d of draws) counts[d]!++;
    expect(counts[4]).toBe(0); // zero weight is never drawn
    expect(chiSquare(counts.slice(0, 4), [0.1, 0.2, 0.3, 0.4], n)).toBeLessThan(CHI2_999[3]);
  });

  it('multinomial without replacement: distinct categories; first draws follow the weights', () => {
    const w = tensor([[1, 1, 2, 4, 2], [0, 5, 0, 1, 1]], { dtype: 'float64' });
    const out = multinomial(w, 3, false, new Generator(9));
    expect(out.shape).toEqual([2, 3]);
    const rows = out.toArray() as number[][];
    for (const r of rows) expect(new Set(r).size).toBe(3);
    expect(rows[1]!.sort()).toEqual([1, 3, 4]);
    const n = 5000;
    const counts = [0, 0, 0, 0, 0];
    const gen = new Generator(11);
    const weights = tensor([1, 1, 2, 4, 2], { dtype: 'float64' });
    for (let k = 0; k < n; k++) counts[multinomial(weights, 2, false, gen).dataSync()[0]!]!++;
    expect(chiSquare(counts, [0.1, 0.1, 0.2, 0.4, 0.2], n)).toBeLessThan(CHI2_999[4]);
  });

  it('multinomial is reproducible from the global seed and from a Generator', () => {
    const w = tensor([0.2, 0.5, 0.3]);
    manualSeed(3);
    const a = multinomial(w, 10, true).tolist();
    manualSeed(3);
    expect(multinomial(w, 10, true).tolist()).toEqual(a);
    expect(w.multinomial(10, true, new Generator(4)).tolist()).toEqual(multinomial(w, 10, true, new Generator(4)).tolist());
  });

  it('indexPut_ writes x[i, j] = v in place, and accumulates', () => {
    const x = arange(0, 6, 1, { dtype: 'float64' }).reshape(2, 3);
    x.indexPut_([ints([0, 1]), ints([2, 0])], tensor([-1, -2], { dtype: 'float64' }));
    expect(x.toArray()).toEqual([[0, 1, -1], [-2, 4, 5]]);
    x.indexPut_([ints([1, 1])], 10, true);
    expect(x.toArray()).toEqual([[0, 1, -1], [18, 24, 25]]);
    x.indexPut_([bools([1, 0], [2])], 0);
    expect(x.toArray()).toEqual([[0, 0, 0], [18, 24, 25]]);
    expect(x.index([null, ints([2, 2])]).toArray()).toEqual([[0, 0], [25, 25]]);
  });

  it('errors name the op and the shapes or values', () => {
    expectError(() => multinomial(tensor([1, -1, 2]), 1), 'multinomial', 'row 0', '-1', 'category 1');
    expectError(() => multinomial(tensor([[1, 1], [0, 0]]), 1), 'multinomial', 'row 1', 'all-zero');
    expectError(() => multinomial(tensor([1, 0, 2]), 3), 'multinomial', '3 samples', 'only 2');
    expectError(() => multinomial(tensor([1, NaN]), 1), 'multinomial', 'NaN');
    expectError(() => multinomial(tensor([[[1]]]), 1), 'multinomial', '[1,1,1]');
    expectError(() => einsum('ij,jk->ik', f64([2, 3]), f64([4, 2])), 'einsum', "'j'", '3', '4');
    expectError(() => einsum('ij,jk->ik', f64([2, 3])), 'einsum', '2 operand terms', '1 tensors');
    expectError(() => einsum('ij->ik', f64([2, 3])), 'einsum', "'k'");
    expectError(() => einsum('ijk->i', f64([2, 3])), 'einsum', "'ijk'", '[2,3]');
    expectError(() => einsum('...i->i', f64([2, 3])), 'einsum', 'ellipsis');
    const x = f64([3, 4], false);
    expectError(() => x.index([ints([3])]), 'index', 'index 3', 'dim 0 of size 3');
    expectError(() => x.index([ints([0, 1]), ints([0, 1, 2])]), 'index', '[2]', '[3]', 'broadcast');
    expectError(() => x.index([tensor([0.5])]), 'index', 'float32');
    expectError(() => x.index([null, null, ints([0])]), 'index', '3 indices', '[3,4]');
    expectError(() => indexPut(x, [ints([0, 1])], f64([3, 4], false)), 'indexPut', '[3,4]', '[2,4]');
  });
});
