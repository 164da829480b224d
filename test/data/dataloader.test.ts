import { describe, expect, it } from 'vitest';
import { arange, tensor } from '../../src/index.js';
import { DataLoader } from '../../src/data/dataloader.js';
import { Subset, TensorDataset, randomSplit, type Dataset } from '../../src/data/dataset.js';
import { blobs, circles, moons, spirals, xor } from '../../src/data/synthetic.js';
import { Generator } from '../../src/tensor/random.js';

const ds = () => new TensorDataset(arange(10, undefined, 1, { dtype: 'float32' }).reshape([10, 1]), arange(10));

describe('TensorDataset and DataLoader', () => {
  it('batches in order, with a short last batch unless dropLast', () => {
    const batches = [...new DataLoader(ds(), { batchSize: 4 })];
    expect(batches.map(([x]) => x!.shape[0])).toEqual([4, 4, 2]);
    expect(batches[2]![1]!.tolist()).toEqual([8, 9]);
    const dropped = [...new DataLoader(ds(), { batchSize: 4, dropLast: true })];
    expect(dropped.length).toBe(2);
  });

  it('shuffles with a seed: same seed same order, each epoch a new permutation of all items', () => {
    const order = (seed: number) => {
      const dl = new DataLoader(ds(), { batchSize: 3, shuffle: true, seed });
      return [[...dl].flatMap(([, y]) => y!.tolist()), [...dl].flatMap(([, y]) => y!.tolist())];
    };
    const [e1, e2] = order(5);
    expect(order(5)).toEqual([e1, e2]);
    expect(e1).not.toEqual(e2);
    expect([...e1!].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('a generic dataset goes through collate (default stacks fields)', () => {
    const squares: Dataset<{ x: number; y: number }> = { length: 5, get: (i) => ({ x: i, y: i * i }) };
    const [b] = [...new DataLoader(squares, { batchSize: 5 })] as unknown as { x: { tolist(): number[] }; y: { tolist(): number[] } }[];
    expect(b!.y.tolist()).toEqual([0, 1, 4, 9, 16]);
    const custom = [...new DataLoader(squares, { batchSize: 2, collate: (items) => items.length })];
    expect(custom).toEqual([2, 2, 1]);
  });

  it('rejects an empty dataset and a bad batch size, and mismatched tensors', () => {
    expect(() => new DataLoader({ length: 0, get: () => 0 })).toThrow(/empty/);
    expect(() => new DataLoader(ds(), { batchSize: 0 })).toThrow(/batchSize/);
    expect(() => new TensorDataset(tensor([1, 2]), tensor([1, 2, 3]))).toThrow(/share dim 0/);
  });
});

describe('randomSplit', () => {
  it('splits by counts or fractions into disjoint subsets covering everything', () => {
    const [a, b] = randomSplit(ds(), [7, 3], new Generator(1));
    expect(a!.length + b!.length).toBe(10);
    const all = [...(a as Subset<unknown>).indices, ...(b as Subset<unknown>).indices].sort((p, q) => p - q);
    expect(all).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const parts = randomSplit(ds(), [0.5, 0.3, 0.2]);
    expect(parts.map((p) => p.length)).toEqual([5, 3, 2]);
    expect(() => randomSplit(ds(), [4, 4])).toThrow(/adding up/);
  });

  it('a subset of a TensorDataset still batches by indexSelect', () => {
    const [a] = randomSplit(ds(), [6, 4], new Generator(2));
    const [[x, y]] = [...new DataLoader(a!, { batchSize: 6 })];
    expect(x!.reshape([-1]).tolist()).toEqual(y!.tolist());
  });
});

describe('synthetic 2-D sets', () => {
  for (const [name, make] of Object.entries({ xor, spirals, moons, circles, blobs })) {
    it(`${name}: seeded, shaped [n,2] / [n], two balanced classes`, () => {
      const a = make({ n: 100, noise: 0.1, seed: 3 });
      const b = make({ n: 100, noise: 0.1, seed: 3 });
      expect(a.x.shape).toEqual([100, 2]);
      expect(a.y.dtype).toBe('int32');
      expect(a.x.tolist()).toEqual(b.x.tolist());
      const ones = a.y.tolist().filter((v) => v === 1).length;
      expect(ones).toBeGreaterThan(25);
      expect(ones).toBeLessThan(75);
    });
  }

  it('xor labels are the sign of x·y without noise', () => {
    const { x, y } = xor({ n: 50 });
    for (let i = 0; i < 50; i++) expect(y.typedData[i]).toBe(x.typedData[2 * i]! * x.typedData[2 * i + 1]! >= 0 ? 0 : 1);
  });
});
