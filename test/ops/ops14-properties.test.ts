import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { einsum, tensor, type Tensor } from '../../src/index.js';

/**
 * Property tests for sort / topk / cumsum / einsum: random shapes, values (with ties) and
 * arguments, each checked against a naive reference written out here on plain arrays.
 */

const RUNS = { numRuns: 80, seed: 20261203 };

/** A shape of 1-3 dims (sizes 1-5), a dim in it, and values drawn from a few integers so that ties occur. */
const shapeDimValues = fc
  .array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 })
  .chain((shape) =>
    fc.tuple(
      fc.constant(shape),
      fc.integer({ min: 0, max: shape.length - 1 }),
      fc.array(fc.integer({ min: -4, max: 4 }), { minLength: shape.reduce((a, b) => a * b, 1), maxLength: shape.reduce((a, b) => a * b, 1) }),
      fc.boolean(),
    ),
  );

/** The slices of a row-major array along dim: [positions...] for each slice. */
function slices(shape: number[], dim: number): number[][] {
  const size = shape[dim]!;
  const inner = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
  const outer = shape.slice(0, dim).reduce((a, b) => a * b, 1);
  const out: number[][] = [];
  for (let o = 0; o < outer; o++) for (let k = 0; k < inner; k++) out.push(Array.from({ length: size }, (_, r) => o * size * inner + r * inner + k));
  return out;
}

const f64 = (values: number[], shape: number[]) => tensor(Float64Array.from(values), { shape, dtype: 'float64' });
const arr = (t: Tensor) => Array.from(t.dataSync() as ArrayLike<number>);

describe('properties against naive references', () => {
  it('sort: a stable sort of each slice (indices give the values; ties keep input order)', () => {
    fc.assert(
      fc.property(shapeDimValues, ([shape, dim, values, descending]) => {
        const { values: v, indices: i } = f64(values, shape).sort(dim, descending);
        const vs = arr(v);
        const is = arr(i);
        for (const pos of slices(shape, dim)) {
          const ref = pos.map((p, r) => [values[p]!, r] as const).sort((a, b) => (descending ? b[0] - a[0] : a[0] - b[0]) || a[1] - b[1]);
          expect(pos.map((p) => is[p])).toEqual(ref.map((e) => e[1]));
          expect(pos.map((p) => vs[p])).toEqual(ref.map((e) => e[0]));
        }
      }),
      RUNS,
    );
  });

  it('topk: the k largest (smallest) values, sorted, each at its index', () => {
    fc.assert(
      fc.property(shapeDimValues, fc.integer({ min: 0, max: 5 }), ([shape, dim, values, largest], kRaw) => {
        const k = kRaw % (shape[dim]! + 1);
        const { values: v, indices: i } = f64(values, shape).topk(k, dim, largest);
        const outShape = shape.map((s, d) => (d === dim ? k : s));
        expect(v.shape).toEqual(outShape);
        const vs = arr(v);
        const is = arr(i);
        const outSlices = slices(outShape, dim);
        slices(shape, dim).forEach((pos, sIdx) => {
          const sorted = pos.map((p) => values[p]!).sort((a, b) => (largest ? b - a : a - b));
          const got = outSlices[sIdx]!;
          expect(got.map((p) => vs[p])).toEqual(sorted.slice(0, k));
          got.forEach((p) => expect(values[pos[is[p]!]!]).toBe(vs[p]));
          expect(new Set(got.map((p) => is[p])).size).toBe(k);
        });
      }),
      RUNS,
    );
  });

  it('cumsum: each element is the sum of the slice up to it', () => {
    fc.assert(
      fc.property(shapeDimValues, ([shape, dim, values]) => {
        const out = arr(f64(values, shape).cumsum(dim));
        for (const pos of slices(shape, dim)) {
          let acc = 0;
          for (const p of pos) {
            acc += values[p]!;
            expect(out[p]).toBe(acc);
          }
        }
      }),
      RUNS,
    );
  });

  it('cumprod: each element is the product of the slice up to it', () => {
    fc.assert(
      fc.property(shapeDimValues, ([shape, dim, values]) => {
        const out = arr(f64(values, shape).cumprod(dim));
        for (const pos of slices(shape, dim)) {
          let acc = 1;
          for (const p of pos) {
            acc *= values[p]!;
            expect(out[p]).toBe(acc);
          }
        }
      }),
      RUNS,
    );
  });

  it('einsum: random equations against a sum over every index assignment', () => {
    const letters = 'abcd';
    const equation = fc
      .tuple(
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 4, maxLength: 4 }),
        fc.array(fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 0, maxLength: 3 }), { minLength: 3, maxLength: 3 }),
        fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
        fc.integer({ min: 0, max: 1000 }),
      )
      .map(([nOps, sizes, terms, inOut, seed]) => {
        const ts = terms.slice(0, nOps).map((t) => t.map((i) => letters[i]!));
        const used = [...new Set(ts.flat())].sort();
        const out = used.filter((l) => inOut[letters.indexOf(l)]);
        return { ts, out, sizes, seed };
      });
    fc.assert(
      fc.property(equation, ({ ts, out, sizes, seed }) => {
        const size = (l: string) => sizes[letters.indexOf(l)]!;
        let s = seed;
        const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
        const data = ts.map((t) => Array.from({ length: t.reduce((n, l) => n * size(l), 1) }, rnd));
        const eq = `${ts.map((t) => t.join('')).join(',')}->${out.join('')}`;
        const got = arr(einsum(eq, ...ts.map((t, k) => f64(data[k]!, t.map(size)))));
        // Naive: every assignment of every letter, multiply the operands' entries, add into the output.
        const all = [...new Set(ts.flat())];
        const want = new Array<number>(out.reduce((n, l) => n * size(l), 1)).fill(0);
        const assign = new Map<string, number>();
        const flatAt = (t: string[]) => t.reduce((o, l) => o * size(l) + assign.get(l)!, 0);
        const visit = (k: number): void => {
          if (k === all.length) {
            want[flatAt(out)]! += ts.reduce((p, t, j) => p * data[j]![flatAt(t)]!, 1);
            return;
          }
          for (let v = 0; v < size(all[k]!); v++) {
            assign.set(all[k]!, v);
            visit(k + 1);
          }
        };
        visit(0);
        expect(got.length).toBe(want.length);
        got.forEach((g, i) => expect(Math.abs(g - want[i]!)).toBeLessThan(1e-12 * Math.max(1, Math.abs(want[i]!))));
      }),
      RUNS,
    );
  });
});
