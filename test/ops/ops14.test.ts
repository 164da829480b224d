import { describe, expect, it } from 'vitest';
import {
  ChainruleError, Generator, allclose, arange, autogradGrad, clone, enableGrad, gradcheck, isclose, noGrad, pad, tensor, type Tensor,
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
