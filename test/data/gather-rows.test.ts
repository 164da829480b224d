import { describe, expect, it } from 'vitest';
import { tensor, Tensor } from '../../src/index.js';
import { createNativeBackend } from '../../src/backend/native/index.js';
import { getKernel } from '../../src/backend/registry.js';

function table(rows: number, cols: number): Float32Array {
  return Float32Array.from({ length: rows * cols }, (_, i) => Math.fround(Math.sin(i * 0.37) * 100));
}

function naive(src: Float32Array, cols: number, rows: Int32Array): number[] {
  const out: number[] = [];
  for (const r of rows) for (let j = 0; j < cols; j++) out.push(src[r * cols + j]!);
  return out;
}

describe('gathering rows of a float32 table', () => {
  const native = createNativeBackend();
  const gather = native ? getKernel('gatherRowsF32', native.name)!.fn : null;

  it('the native kernel copies the rows asked for, repeats included, on one or two threads', () => {
    if (!gather) return; // no addon here: the reference kernel is what runs
    // 13 floats a row (not a vector multiple); 784 (an image) with enough rows for two threads.
    for (const [nRows, cols, count] of [[50, 13, 7], [600, 784, 128], [600, 784, 3]] as const) {
      const src = table(nRows, cols);
      const rows = Int32Array.from({ length: count }, (_, i) => (i * 7919 + (i % 3 === 0 ? 0 : 11)) % nRows);
      rows[count - 1] = rows[0]!; // a repeated row
      const out = new Float32Array(count * cols).fill(NaN);
      expect(gather(src, cols, rows, out)).not.toBe(false);
      const want = naive(src, cols, rows);
      const k = want.findIndex((v, i) => out[i] !== v); // the first difference (a full diff of 100k floats is slow to print)
      expect(k, `at ${k}: got ${out[k]}, want ${want[k]}`).toBe(-1);
    }
  });

  it('the native kernel refuses a row out of range instead of reading past the table', () => {
    if (!gather) return;
    const src = table(4, 8);
    const out = new Float32Array(16);
    expect(() => gather(src, 8, Int32Array.from([0, 4]), out)).toThrow('gatherRowsF32 row out of range');
    expect(() => gather(src, 8, Int32Array.from([-1, 0]), out)).toThrow('gatherRowsF32 row out of range');
  });

  it('indexSelect along dim 0 of a large float32 table gives the rows, as for float64 and small tables', () => {
    const src = table(300, 784);
    const rows = Int32Array.from({ length: 128 }, (_, i) => (i * 37) % 300);
    const big = new Tensor(src, [300, 784], 'float32').indexSelect(0, new Tensor(rows, [128], 'int32'));
    expect(big.shape).toEqual([128, 784]);
    const want = naive(src, 784, rows);
    expect(want.findIndex((v, i) => big.typedData[i] !== v)).toBe(-1);
    const f64 = new Tensor(Float64Array.from(src), [300, 784], 'float64').indexSelect(0, new Tensor(rows, [128], 'int32'));
    expect(want.findIndex((v, i) => f64.typedData[i] !== v)).toBe(-1);
    expect(big.typedData.length).toBe(want.length);
    const small = tensor([[1, 2], [3, 4], [5, 6]]).indexSelect(0, new Tensor(Int32Array.from([2, 0, 2]), [3], 'int32'));
    expect(small.toArray()).toEqual([[5, 6], [1, 2], [5, 6]]);
  });
});
