import { DTypeError, IndexError, fmtShape } from '../errors.js';
import { normalizeDim, numel } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { SELF, defineOp } from './define.js';
import { apply } from './registry.js';
import { gather, narrow, reshape } from './shape-functional.js';

/**
 * Sorting and running products. sort / argsort / topk compute their order untracked (an int32
 * index tensor: chainrule has no int64, so indices are int32 where PyTorch gives int64) and take
 * the values with gather, so the gradient through the values is gather's (a scatter-add back
 * to where each value came from). The sort is stable, as PyTorch's `stable=True`; NaN sorts
 * as larger than every number, as in PyTorch.
 */

/**
 * values and indices, as PyTorch's named tuple: `x.sort().values`, or destructured,
 * `const [values, indices] = x.sort()`.
 */
export interface ValuesIndices extends Iterable<Tensor> {
  readonly values: Tensor;
  readonly indices: Tensor;
}

function valuesIndices(values: Tensor, indices: Tensor): ValuesIndices {
  return {
    values,
    indices,
    *[Symbol.iterator]() {
      yield values;
      yield indices;
    },
  };
}

function compareAscending(a: number, b: number): number {
  const na = a !== a;
  const nb = b !== b;
  if (na || nb) return na === nb ? 0 : na ? 1 : -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The stable order of each slice along dim (descending: largest first, ties in input order). */
function sortOrder(x: Tensor, dim: number, descending: boolean): Tensor {
  const src = x.dataSync();
  const size = x.shape[dim]!;
  const outer = numel(x.shape.slice(0, dim));
  const inner = numel(x.shape.slice(dim + 1));
  const out = new Int32Array(src.length);
  const order = new Array<number>(size);
  const vals = new Array<number>(size);
  const cmp = descending ? (i: number, j: number) => compareAscending(vals[j]!, vals[i]!) : (i: number, j: number) => compareAscending(vals[i]!, vals[j]!);
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < inner; k++) {
      const base = o * size * inner + k;
      for (let r = 0; r < size; r++) {
        order[r] = r;
        vals[r] = src[base + r * inner]!;
      }
      order.sort(cmp); // Array.prototype.sort is stable
      for (let r = 0; r < size; r++) out[base + r * inner] = order[r]!;
    }
  }
  return new Tensor(out, x.shape, 'int32');
}

function checkSortable(op: string, x: Tensor): void {
  if (x.dtype === 'bool') throw new DTypeError(`${op}: cannot sort a bool tensor; convert it with .int() first`);
}

export interface SortOptions {
  dim?: number;
  descending?: boolean;
  /** Accepted for PyTorch's signature; chainrule's sort is always stable. */
  stable?: boolean;
}

/**
 * Sorted values along dim (default the last) and the int32 indices they came from; the
 * gradient flows through the values. x.sort(dim, descending) or x.sort({ dim, descending }).
 */
export const sort = defineOp(
  (input: Tensor, dim: number | SortOptions = -1, descending = false): ValuesIndices => {
    const opts: SortOptions = typeof dim === 'number' ? { dim, descending } : dim;
    checkSortable('sort', input);
    if (input.ndim === 0) {
      const [v, i] = sort(reshape(input, [1]), 0, opts.descending ?? false);
      return valuesIndices(reshape(v, []), reshape(i, []));
    }
    const d = normalizeDim('sort', opts.dim ?? -1, input.ndim);
    const indices = sortOrder(input, d, opts.descending ?? false);
    return valuesIndices(gather(input, d, indices), indices);
  },
  { sort: SELF },
);

/** The int32 indices that sort input along dim (stable). */
export const argsort = defineOp(
  (input: Tensor, dim: number | SortOptions = -1, descending = false): Tensor => sort(input.detach(), dim, descending).indices,
  { argsort: SELF },
);

export interface TopkOptions {
  dim?: number;
  /** The k largest (default) or the k smallest. */
  largest?: boolean;
  /** Accepted for PyTorch's signature; the result is always sorted (largest first, or smallest first). */
  sorted?: boolean;
}

/** The k largest (or smallest) values along dim and their int32 indices; gradient through the values. */
export const topk = defineOp(
  (input: Tensor, k: number, dim: number | TopkOptions = -1, largest = true, sorted = true): ValuesIndices => {
    const opts: TopkOptions = typeof dim === 'number' ? { dim, largest, sorted } : dim;
    checkSortable('topk', input);
    const x = input.ndim === 0 ? reshape(input, [1]) : input;
    const d = normalizeDim('topk', opts.dim ?? -1, x.ndim);
    const n = x.shape[d]!;
    if (!Number.isInteger(k) || k < 0 || k > n) {
      throw new IndexError(`topk: k = ${k} is out of range for dim ${d} of size ${n} (shape ${fmtShape(input.shape)}; valid: 0 to ${n})`);
    }
    const indices = narrow(sortOrder(x, d, opts.largest ?? true), d, 0, k).contiguous();
    const values = gather(x, d, indices);
    if (input.ndim === 0) return valuesIndices(reshape(values, []), reshape(indices, []));
    return valuesIndices(values, indices);
  },
  { topk: SELF },
);

/**
 * Running product along dim. The gradient is right with zeros in the input too (see the rule
 * in rules/scan.ts). Bool inputs multiply as int32 (PyTorch: int64).
 */
export const cumprod = defineOp(
  (input: Tensor, dim: number): Tensor => {
    const d = normalizeDim('cumprod', dim, Math.max(input.ndim, 1));
    const t = input.dtype === 'bool' ? input.to('int32') : input;
    return apply('cumprod', [t], { dim: input.ndim === 0 ? 0 : d });
  },
  { cumprod: SELF },
);

