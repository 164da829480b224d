import { describe, expect, it } from 'vitest';
import {
  DTypeError, Generator, ShapeError, ValueError, arange, empty, eye, full, fullLike, linspace, manualSeed, ones, onesLike, rand,
  randint, randintLike, randLike, randn, randnLike, randperm, scalar, tensor, zeros, zerosLike,
} from '../../src/index.js';

const f32 = (v: number) => Math.fround(v);

describe('tensor()', () => {
  it('from nested arrays: shape from the nesting, float32 by default, bool from booleans', () => {
    const t = tensor([[1, 2, 3], [4, 5, 6]]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.dtype).toBe('float32');
    expect(t.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(tensor([[[true], [false]]]).dtype).toBe('bool');
    expect(tensor([[]]).shape).toEqual([1, 0]);
    expect(tensor([]).shape).toEqual([0]);
  });

  it('from a number is 0-d', () => {
    const t = tensor(2.5);
    expect(t.shape).toEqual([]);
    expect(t.item()).toBe(2.5);
    expect(t.toArray()).toBe(2.5);
  });

  it('from typed arrays: the dtype follows the array, the data is copied', () => {
    const src = new Float64Array([1, 2, 3, 4]);
    const t = tensor(src, { shape: [2, 2] });
    expect(t.dtype).toBe('float64');
    expect(t.toArray()).toEqual([[1, 2], [3, 4]]);
    src[0] = 99;
    expect(t.typedData[0]).toBe(1);
    expect(tensor(new Int32Array([1, 2])).dtype).toBe('int32');
    expect(tensor(new Float32Array([1, 2])).dtype).toBe('float32');
    expect(tensor(new Uint8Array([1, 0])).dtype).toBe('bool');
  });

  it('an explicit dtype converts: floats to int32 truncate toward zero', () => {
    expect(tensor([1.7, -1.7, 2], { dtype: 'int32' }).tolist()).toEqual([1, -1, 2]);
    expect(tensor([0.1], { dtype: 'float64' }).item()).toBe(0.1);
    expect(tensor([0.1]).item()).toBe(f32(0.1));
    expect(tensor(new Float64Array([0.1]), { dtype: 'float32' }).item()).toBe(f32(0.1));
  });

  it('refuses ragged arrays and non-numbers, naming where', () => {
    expect(() => tensor([[1, 2], [3]])).toThrow(new ValueError('tensor: ragged nested array: expected 2 elements at [1] (dim 1), got 1'));
    expect(() => tensor([1, 'a'] as unknown as number[])).toThrow(/tensor: expected a number at \[1\], got string/);
    expect(() => tensor([1, 2, 3], { shape: [2] })).toThrow(/3 elements do not fill shape \[2\]/);
  });

  it('requiresGrad on a float tensor makes a leaf', () => {
    const t = tensor([1, 2], { requiresGrad: true });
    expect(t.requiresGrad).toBe(true);
    expect(t.isLeaf).toBe(true);
  });
});

describe('filled tensors', () => {
  it('zeros, ones, full, empty', () => {
    expect(zeros([2, 3]).toArray()).toEqual([[0, 0, 0], [0, 0, 0]]);
    expect(ones([2], { dtype: 'float64' }).dtype).toBe('float64');
    expect(ones([3]).tolist()).toEqual([1, 1, 1]);
    expect(full([2, 2], 7, { dtype: 'int32' }).toArray()).toEqual([[7, 7], [7, 7]]);
    expect(full([], 1.5).item()).toBe(1.5);
    expect(empty([0, 4]).shape).toEqual([0, 4]);
    expect(scalar(3).shape).toEqual([]);
    expect(() => zeros([2, -1])).toThrow(ShapeError);
  });

  it('*Like copy shape and dtype unless told otherwise', () => {
    const base = zeros([2, 3], { dtype: 'float64' });
    expect(onesLike(base).dtype).toBe('float64');
    expect(onesLike(base).shape).toEqual([2, 3]);
    expect(zerosLike(base, { dtype: 'int32' }).dtype).toBe('int32');
    expect(fullLike(base, 4).tolist()).toEqual([4, 4, 4, 4, 4, 4]);
    expect(randLike(base).dtype).toBe('float64');
    expect(randnLike(base).shape).toEqual([2, 3]);
    expect(randintLike(zeros([4], { dtype: 'int32' }), 0, 3).dtype).toBe('int32');
  });

  it('eye, with an optional column count', () => {
    expect(eye(3).toArray()).toEqual([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
    expect(eye(2, 3, { dtype: 'int32' }).toArray()).toEqual([[1, 0, 0], [0, 1, 0]]);
  });
});

describe('ranges', () => {
  it('arange: end exclusive; int32 for integer arguments, float32 otherwise', () => {
    expect(arange(4).tolist()).toEqual([0, 1, 2, 3]);
    expect(arange(4).dtype).toBe('int32');
    expect(arange(5, 0, -2).tolist()).toEqual([5, 3, 1]);
    expect(arange(1, 2.5, 0.5).tolist()).toEqual([1, 1.5, 2]);
    expect(arange(0, 1, 0.3).tolist()).toEqual([0, 0.3, 0.6, 0.9].map(f32));
    expect(arange(0, 1, 0.1).shape).toEqual([10]);
    expect(arange(3, 3).shape).toEqual([0]);
    expect(() => arange(0, 1, 0)).toThrow(ValueError);
  });

  it('linspace: both ends included, the last exactly end; each value the exact one rounded once', () => {
    const t = linspace(-1, 1, 7);
    expect(t.typedData[0]).toBe(-1);
    expect(t.typedData[6]).toBe(1);
    t.tolist().forEach((v, i) => expect(v).toBe(f32(-1 + (2 * i) / 6)));
    expect(linspace(0, 1, 11, { dtype: 'float64' }).tolist()).toEqual([0, 0.1, 0.2, 0.30000000000000004, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
    expect(linspace(3, 3, 1).tolist()).toEqual([3]);
    expect(linspace(0, 1, 0).shape).toEqual([0]);
  });
});

describe('random tensors', () => {
  it('manualSeed: the same seed gives the same values, another seed others', () => {
    manualSeed(42);
    const a = [rand([5]).tolist(), randn([5]).tolist(), randint(0, 100, [5]).tolist()];
    manualSeed(42);
    const b = [rand([5]).tolist(), randn([5]).tolist(), randint(0, 100, [5]).tolist()];
    expect(b).toEqual(a);
    manualSeed(43);
    expect(rand([5]).tolist()).not.toEqual(a[0]);
  });

  it('a Generator of its own leaves the default stream alone', () => {
    manualSeed(1);
    const expected = rand([3]).tolist();
    manualSeed(1);
    const g = new Generator(7);
    const own = rand([3], { generator: g }).tolist();
    expect(rand([3]).tolist()).toEqual(expected);
    expect(rand([3], { generator: new Generator(7) }).tolist()).toEqual(own);
  });

  it('ranges and dtypes: rand in [0, 1), randint in [low, high) as int32', () => {
    manualSeed(3);
    const u = rand([1000], { dtype: 'float64' });
    expect(u.dtype).toBe('float64');
    expect(Math.min(...u.tolist())).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u.tolist())).toBeLessThan(1);
    const r = randint(-2, 3, [1000]);
    expect(r.dtype).toBe('int32');
    expect(new Set(r.tolist())).toEqual(new Set([-2, -1, 0, 1, 2]));
    expect(() => rand([2], { dtype: 'int32' })).toThrow(DTypeError);
    expect(() => randint(3, 3, [2])).toThrow(ValueError);
  });

  it('randn has mean ≈ 0 and variance ≈ 1', () => {
    manualSeed(11);
    const x = randn([20000], { dtype: 'float64' });
    expect(Math.abs(x.mean().item())).toBeLessThan(0.03);
    expect(Math.abs(x.var().item() - 1)).toBeLessThan(0.05);
  });

  it('randperm is a permutation', () => {
    manualSeed(5);
    expect([...randperm(10).tolist()].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

describe('reading values back', () => {
  it('item() of one element; refused for more', () => {
    expect(tensor([[5]]).item()).toBe(5);
    expect(tensor(true).item()).toBe(1);
    expect(() => tensor([1, 2]).item()).toThrow('item: a tensor with 2 elements (shape [2]) cannot be converted to a number');
  });

  it('toArray() nests like the shape; bool tensors give booleans', () => {
    expect(tensor(new Float32Array([1, 2, 3, 4, 5, 6]), { shape: [3, 1, 2] }).toArray()).toEqual([[[1, 2]], [[3, 4]], [[5, 6]]]);
    expect(tensor([true, false]).toArray()).toEqual([true, false]);
    expect(zeros([2, 0]).toArray()).toEqual([[], []]);
  });

  it('dataSync() is the tensor’s own typed array, row-major', () => {
    const t = tensor([[1, 2], [3, 4]], { dtype: 'float64' });
    const view = t.dataSync();
    expect(view).toBeInstanceOf(Float64Array);
    expect(view).toBe(t.typedData);
    expect(Array.from(view)).toEqual([1, 2, 3, 4]);
    expect(tensor([1], { dtype: 'int32' }).dataSync()).toBeInstanceOf(Int32Array);
    expect(tensor([true]).dataSync()).toBeInstanceOf(Uint8Array);
    expect(Array.from(t.transpose(0, 1).dataSync())).toEqual([1, 3, 2, 4]);
  });
});
