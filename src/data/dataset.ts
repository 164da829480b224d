import { ShapeError, ValueError, fmtShape } from '../errors.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';

/** A map-style dataset, as PyTorch's: a length and random access by index. */
export interface Dataset<T> {
  readonly length: number;
  get(index: number): T;
}

/**
 * Rows of several tensors that share their first dim (features, labels, ...). Item i is
 * the i-th row of each. DataLoader batches it with one indexSelect per tensor instead of
 * stacking rows.
 */
export class TensorDataset implements Dataset<Tensor[]> {
  readonly tensors: Tensor[];

  constructor(...tensors: Tensor[]) {
    if (tensors.length === 0) throw new ValueError('TensorDataset: needs at least one tensor');
    const n = tensors[0]!.shape[0];
    tensors.forEach((t, i) => {
      if (t.ndim === 0 || t.shape[0] !== n) {
        throw new ShapeError(
          `TensorDataset: tensor ${i} has shape ${fmtShape(t.shape)}, but tensor 0 has ${n} rows (shape ${fmtShape(tensors[0]!.shape)}); all must share dim 0`,
        );
      }
    });
    this.tensors = tensors;
  }

  get length(): number {
    return this.tensors[0]!.shape[0]!;
  }

  get(index: number): Tensor[] {
    return this.tensors.map((t) => t.select(0, index));
  }
}

/** The items of `dataset` at `indices`, in that order. */
export class Subset<T> implements Dataset<T> {
  constructor(
    readonly dataset: Dataset<T>,
    readonly indices: Int32Array | readonly number[],
  ) {}

  get length(): number {
    return this.indices.length;
  }

  get(index: number): T {
    if (index < 0 || index >= this.indices.length) {
      throw new ValueError(`Subset: index ${index} is out of range for a subset of ${this.indices.length} items`);
    }
    return this.dataset.get(this.indices[index]!);
  }
}

/**
 * Split a dataset into non-overlapping random subsets. Lengths are counts that add up to the
 * dataset's length, or fractions that add up to 1 (the remainder is dealt round-robin, as
 * PyTorch does).
 */
export function randomSplit<T>(dataset: Dataset<T>, lengths: readonly number[], generator: Generator = defaultGenerator): Subset<T>[] {
  const n = dataset.length;
  let counts = [...lengths];
  const total = counts.reduce((a, b) => a + b, 0);
  if (counts.every((l) => l >= 0 && l <= 1) && Math.abs(total - 1) < 1e-9 && total !== n) {
    counts = counts.map((f) => Math.floor(f * n));
    let rest = n - counts.reduce((a, b) => a + b, 0);
    for (let i = 0; rest > 0; i = (i + 1) % counts.length, rest--) counts[i]!++;
  } else if (total !== n || counts.some((c) => !Number.isInteger(c) || c < 0)) {
    throw new ValueError(`randomSplit: lengths [${lengths.join(', ')}] must be counts adding up to ${n} or fractions adding up to 1`);
  }
  const perm = generator.permutation(n);
  const out: Subset<T>[] = [];
  let start = 0;
  for (const c of counts) {
    out.push(new Subset(dataset, perm.slice(start, start + c)));
    start += c;
  }
  return out;
}
