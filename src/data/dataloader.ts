import { ValueError } from '../errors.js';
import { stack } from '../ops/functional.js';
import { Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { Subset, TensorDataset, type Dataset } from './dataset.js';

export interface DataLoaderOptions<T, B> {
  batchSize?: number;
  /** Reshuffle every epoch (each pass over the loader). */
  shuffle?: boolean;
  /** Seed of the loader's own generator (shuffling never disturbs the global one). */
  seed?: number;
  generator?: Generator;
  /** Drop the last batch when it is smaller than batchSize. */
  dropLast?: boolean;
  /** Turn a list of items into a batch; the default stacks tensors field by field. */
  collate?: (items: T[]) => B;
}

/**
 * Batches of a dataset, in order or shuffled with a seeded generator. Iterate it once per
 * epoch: `for (const [x, y] of loader) ...`. The generator's state can be saved and
 * restored (`generator.getState()`), so a resumed run shuffles exactly as an uninterrupted one.
 */
export class DataLoader<T = Tensor[], B = T> implements Iterable<B> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly generator: Generator;
  private readonly collate: ((items: T[]) => B) | null;

  constructor(
    readonly dataset: Dataset<T>,
    opts: DataLoaderOptions<T, B> = {},
  ) {
    this.batchSize = opts.batchSize ?? 1;
    if (!Number.isInteger(this.batchSize) || this.batchSize <= 0) {
      throw new ValueError(`DataLoader: batchSize must be a positive integer, got ${opts.batchSize}`);
    }
    if (dataset.length === 0) throw new ValueError('DataLoader: the dataset is empty');
    this.shuffle = opts.shuffle ?? false;
    this.dropLast = opts.dropLast ?? false;
    this.generator = opts.generator ?? new Generator(opts.seed ?? 0);
    this.collate = opts.collate ?? null;
  }

  /** Number of batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  *[Symbol.iterator](): Iterator<B> {
    const n = this.dataset.length;
    const order = this.shuffle ? this.generator.permutation(n) : null;
    for (let b = 0; b < this.length; b++) {
      const start = b * this.batchSize;
      const end = Math.min(n, start + this.batchSize);
      const idx = new Int32Array(end - start);
      for (let i = 0; i < idx.length; i++) idx[i] = order ? order[start + i]! : start + i;
      yield this.batch(idx);
    }
  }

  private batch(idx: Int32Array): B {
    if (!this.collate) {
      const fast = tensorRows(this.dataset, idx);
      if (fast) return fast as unknown as B;
    }
    const items = Array.from(idx, (i) => this.dataset.get(i));
    return this.collate ? this.collate(items) : (defaultCollate(items) as B);
  }
}

/** A TensorDataset (or a Subset of one) batched by indexSelect, without per-row tensors. */
function tensorRows<T>(ds: Dataset<T>, idx: Int32Array): Tensor[] | null {
  let base: Dataset<unknown> = ds as Dataset<unknown>;
  let map = idx;
  while (base instanceof Subset) {
    const sub = base as Subset<unknown>;
    map = Int32Array.from(map, (i) => sub.indices[i]!);
    base = sub.dataset;
  }
  if (!(base instanceof TensorDataset)) return null;
  const index = new Tensor(map, [map.length], 'int32');
  return base.tensors.map((t) => t.indexSelect(0, index));
}

/** Stack tensors (and numbers) item by item; arrays of fields are collated per field. */
export function defaultCollate(items: unknown[]): unknown {
  const first = items[0];
  if (first instanceof Tensor) return stack(items as Tensor[]);
  if (typeof first === 'number') return new Tensor(Float32Array.from(items as number[]), [items.length], 'float32');
  if (Array.isArray(first)) return first.map((_, k) => defaultCollate(items.map((it) => (it as unknown[])[k])));
  if (first && typeof first === 'object') {
    return Object.fromEntries(Object.keys(first).map((k) => [k, defaultCollate(items.map((it) => (it as Record<string, unknown>)[k]))]));
  }
  throw new ValueError(`DataLoader: cannot collate items of type ${typeof first}; pass a collate function`);
}
