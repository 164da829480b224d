import { DTypeError, ShapeError, ValueError, fmtShape } from '../errors.js';
import { isFloat } from '../tensor/dtype.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { SELF, defineOp } from './define.js';

/**
 * torch.multinomial: numSamples int32 category indices per row of non-negative weights (1-D
 * input: one row), drawn with or without replacement from a Generator (the global one by
 * default, seeded with manualSeed). Without replacement each drawn category's weight is set to
 * 0 before the next draw (sequential sampling, PyTorch's definition). Not differentiable.
 */
export const multinomial = defineOp(
  (input: Tensor, numSamples: number, replacement = false, generator: Generator = defaultGenerator): Tensor => {
    if (input.ndim !== 1 && input.ndim !== 2) {
      throw new ShapeError(`multinomial: input must be 1-D or 2-D (rows of weights), got shape ${fmtShape(input.shape)}`);
    }
    if (!isFloat(input.dtype)) throw new DTypeError(`multinomial: weights must be a floating-point tensor, got ${input.dtype}`);
    if (!Number.isInteger(numSamples) || numSamples < 0) {
      throw new ValueError(`multinomial: numSamples must be a non-negative integer, got ${numSamples}`);
    }
    const rows = input.ndim === 1 ? 1 : input.shape[0]!;
    const n = input.shape[input.ndim - 1]!;
    if (n === 0) throw new ShapeError(`multinomial: no categories (input shape ${fmtShape(input.shape)})`);
    const w = Float64Array.from(input.dataSync() as ArrayLike<number>);
    const out = new Int32Array(rows * numSamples);
    const cum = new Float64Array(n);
    for (let r = 0; r < rows; r++) {
      const row = w.subarray(r * n, (r + 1) * n);
      let positive = 0;
      for (let j = 0; j < n; j++) {
        const v = row[j]!;
        if (!(v >= 0) || v === Infinity) {
          throw new ValueError(`multinomial: row ${r} has weight ${v} at category ${j}; weights must be finite and non-negative`);
        }
        if (v > 0) positive++;
      }
      if (positive === 0) throw new ValueError(`multinomial: row ${r} has all-zero weights (input shape ${fmtShape(input.shape)}); at least one must be positive`);
      if (!replacement && numSamples > positive) {
        throw new ValueError(
          `multinomial: cannot draw ${numSamples} samples without replacement from row ${r}, which has only ${positive} categories of positive weight`,
        );
      }
      const draw = (): number => {
        let total = 0;
        for (let j = 0; j < n; j++) cum[j] = total += row[j]!;
        const u = generator.random() * total;
        // The first category whose running total exceeds u (binary search), skipping zero weights.
        let lo = 0;
        let hi = n - 1;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (cum[mid]! > u) hi = mid;
          else lo = mid + 1;
        }
        while (row[lo] === 0 && lo > 0) lo--; // u at the very top of the range (rounding)
        return lo;
      };
      for (let s = 0; s < numSamples; s++) {
        const j = draw();
        out[r * numSamples + s] = j;
        if (!replacement) row[j] = 0;
      }
    }
    return new Tensor(out, input.ndim === 1 ? [numSamples] : [rows, numSamples], 'int32');
  },
  { multinomial: SELF },
);
