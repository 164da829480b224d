import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Generator, ShapeError, cat, gather, scatterAdd, tensor, zeros, type Tensor } from '../../src/index.js';

/**
 * Property-based tests for broadcasting and the shape ops: random shapes and data, checked
 * against index arithmetic written out here (not chainrule's own broadcasting helpers).
 */

const RUNS = { numRuns: 60, seed: 20240611 };

function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Every multi-index of shape, row-major. */
function* indices(shape: readonly number[]): IterableIterator<number[]> {
  const n = numel(shape);
  const idx = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    yield [...idx];
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
}

const offset = (shape: readonly number[], idx: readonly number[]) => idx.reduce((o, v, i) => o + v * strides(shape)[i]!, 0);

/** A float64 tensor of shape with data from the seed. */
function filled(shape: readonly number[], seed: number, requiresGrad = false): Tensor {
  const g = new Generator(seed);
  return tensor(Float64Array.from({ length: numel(shape) }, () => g.normal()), { shape, dtype: 'float64', requiresGrad });
}

/** NumPy's rule, written out: align from the right; sizes must match or one must be 1. */
function numpyBroadcast(a: readonly number[], b: readonly number[]): number[] | null {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)]!;
    const db = i < n - b.length ? 1 : b[i - (n - b.length)]!;
    if (da !== db && da !== 1 && db !== 1) return null;
    out.push(da === 1 ? db : da);
  }
  return out;
}

const dimSize = fc.integer({ min: 1, max: 4 });
const shapeArb = fc.array(dimSize, { minLength: 0, maxLength: 4 });
const seedArb = fc.integer({ min: 0, max: 2 ** 31 - 1 });

/** Two shapes that broadcast: both cut from one target, with dims dropped or set to 1. */
const broadcastPair = shapeArb.chain((out) =>
  fc.tuple(
    fc.constant(out),
    fc.integer({ min: 0, max: out.length }),
    fc.integer({ min: 0, max: out.length }),
    fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
    fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
  ).map(([o, dropA, dropB, onesA, onesB]) => ({
    a: o.map((s, i) => (onesA[i] ? 1 : s)).slice(dropA),
    b: o.map((s, i) => (onesB[i] ? 1 : s)).slice(dropB),
  })),
);

/** Where idx (in the broadcast result) reads from an input of shape `shape`. */
const sourceIndex = (shape: readonly number[], outIdx: readonly number[]) =>
  shape.map((s, i) => (s === 1 ? 0 : outIdx[outIdx.length - shape.length + i]!));

describe('broadcasting', () => {
  it('the result shape follows NumPy; incompatible shapes throw a ShapeError', () => {
    fc.assert(
      fc.property(shapeArb, shapeArb, (a, b) => {
        const expected = numpyBroadcast(a, b);
        const run = () => zeros(a, { dtype: 'float64' }).add(zeros(b, { dtype: 'float64' }));
        if (expected === null) expect(run).toThrow(ShapeError);
        else expect([...run().shape]).toEqual(expected);
      }),
      RUNS,
    );
  });

  it('a + b equals explicit expansion then add, element by element', () => {
    fc.assert(
      fc.property(broadcastPair, seedArb, ({ a, b }, seed) => {
        const x = filled(a, seed);
        const y = filled(b, seed + 1);
        const out = numpyBroadcast(a, b)!;
        const sum = x.add(y);
        expect(sum.tolist()).toEqual(x.expand(out).add(y.expand(out)).tolist());
        for (const idx of indices(out)) {
          const want = x.typedData[offset(a, sourceIndex(a, idx))]! + y.typedData[offset(b, sourceIndex(b, idx))]!;
          expect(sum.typedData[offset(out, idx)]).toBe(want);
        }
      }),
      RUNS,
    );
  });

  it('the gradient of a broadcast input sums over its broadcast dims', () => {
    fc.assert(
      fc.property(broadcastPair, seedArb, ({ a, b }, seed) => {
        const x = filled(a, seed, true);
        const y = filled(b, seed + 1, true);
        const out = numpyBroadcast(a, b)!;
        const up = filled(out, seed + 2);
        x.mul(y).backward(up);
        const gx = new Float64Array(numel(a));
        const gy = new Float64Array(numel(b));
        for (const idx of indices(out)) {
          const ia = offset(a, sourceIndex(a, idx));
          const ib = offset(b, sourceIndex(b, idx));
          const u = up.typedData[offset(out, idx)]!;
          gx[ia] += u * y.typedData[ib]!;
          gy[ib] += u * x.typedData[ia]!;
        }
        expect([...x.grad!.shape]).toEqual(a);
        expect([...y.grad!.shape]).toEqual(b);
        x.grad!.tolist().forEach((v, i) => expect(v).toBeCloseTo(gx[i]!, 12));
        y.grad!.tolist().forEach((v, i) => expect(v).toBeCloseTo(gy[i]!, 12));
      }),
      RUNS,
    );
  });
});

const nonEmptyShape = fc.array(dimSize, { minLength: 1, maxLength: 4 });
/** A shape and a valid dim of it. */
const shapeAndDim = nonEmptyShape.chain((s) => fc.tuple(fc.constant(s), fc.integer({ min: 0, max: s.length - 1 })));

describe('shape ops', () => {
  it('reshape to another factorisation and back is the identity, keeping row-major order', () => {
    // Another shape with the same element count: the dims shuffled, two merged, one left as -1.
    const arb = shapeArb.chain((s) =>
      fc.tuple(fc.constant(s), fc.shuffledSubarray(s, { minLength: s.length, maxLength: s.length }), fc.boolean(), fc.boolean()),
    );
    fc.assert(
      fc.property(arb, seedArb, ([s, shuffled, merge, infer], seed) => {
        let target = merge && shuffled.length >= 2 ? [shuffled[0]! * shuffled[1]!, ...shuffled.slice(2)] : shuffled;
        if (infer && target.length > 0) target = [-1, ...target.slice(1)];
        const x = filled(s, seed);
        const y = x.reshape(target);
        expect(y.numel()).toBe(x.numel());
        expect(y.tolist()).toEqual(x.tolist());
        expect(y.reshape(s).toArray()).toEqual(x.toArray());
      }),
      RUNS,
    );
  });

  it('permute moves element [i0, i1, ...] to its permuted place; the inverse permutation undoes it', () => {
    const arb = nonEmptyShape.chain((s) => fc.tuple(fc.constant(s), fc.shuffledSubarray(s.map((_, i) => i), { minLength: s.length, maxLength: s.length })));
    fc.assert(
      fc.property(arb, seedArb, ([s, perm], seed) => {
        const x = filled(s, seed);
        const y = x.permute(perm);
        expect([...y.shape]).toEqual(perm.map((p) => s[p]));
        for (const idx of indices(s)) {
          expect(y.dataSync()[offset(y.shape, perm.map((p) => idx[p]!))]).toBe(x.typedData[offset(s, idx)]);
        }
        const inverse = perm.map((_, i) => perm.indexOf(i));
        expect(y.permute(inverse).toArray()).toEqual(x.toArray());
      }),
      RUNS,
    );
  });

  it('transpose twice is the identity; transpose is a permute that swaps two dims', () => {
    const arb = nonEmptyShape.chain((s) => fc.tuple(fc.constant(s), fc.nat(s.length - 1), fc.nat(s.length - 1)));
    fc.assert(
      fc.property(arb, seedArb, ([s, a, b], seed) => {
        const x = filled(s, seed);
        const perm = s.map((_, i) => (i === a ? b : i === b ? a : i));
        expect(x.transpose(a, b).toArray()).toEqual(x.permute(perm).toArray());
        expect(x.transpose(a, b).transpose(b - s.length, a).toArray()).toEqual(x.toArray());
      }),
      RUNS,
    );
  });

  it('cat of split is the identity, and the pieces have the requested sizes', () => {
    const arb = shapeAndDim.chain(([s, d]) =>
      fc.tuple(fc.constant(s), fc.constant(d), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 4 })),
    );
    fc.assert(
      fc.property(arb, seedArb, ([s, d, sizes], seed) => {
        const shape = [...s];
        shape[d] = sizes.reduce((a, b) => a + b, 0);
        const x = filled(shape, seed);
        const pieces = x.split(sizes, d);
        expect(pieces.map((p) => p.shape[d])).toEqual(sizes);
        expect(cat(pieces, d).toArray()).toEqual(x.toArray());
      }),
      RUNS,
    );
  });

  it('unsqueeze then squeeze of the same dim is the identity; squeeze() drops exactly the size-1 dims', () => {
    const arb = shapeArb.chain((s) => fc.tuple(fc.constant(s), fc.integer({ min: -s.length - 1, max: s.length })));
    fc.assert(
      fc.property(arb, seedArb, ([s, d], seed) => {
        const x = filled(s, seed);
        const u = x.unsqueeze(d);
        const at = d < 0 ? d + s.length + 1 : d;
        expect(u.shape[at]).toBe(1);
        expect(u.ndim).toBe(s.length + 1);
        expect(u.squeeze(d).toArray()).toEqual(x.toArray());
        const sq = u.squeeze();
        expect([...sq.shape]).toEqual(s.filter((v) => v !== 1));
        expect(sq.tolist()).toEqual(x.tolist());
      }),
      RUNS,
    );
  });

  it('narrow and select agree with slices and with direct indexing', () => {
    const arb = shapeAndDim.chain(([s, d]) =>
      fc.tuple(fc.constant(s), fc.constant(d), fc.nat(s[d]! - 1)).chain(([s2, d2, start]) =>
        fc.tuple(fc.constant(s2), fc.constant(d2), fc.constant(start), fc.integer({ min: 0, max: s2[d2]! - start })),
      ),
    );
    fc.assert(
      fc.property(arb, seedArb, ([s, d, start, length], seed) => {
        const x = filled(s, seed);
        const n = x.narrow(d, start, length);
        expect(n.toArray()).toEqual(x.slice(d, start, start + length).toArray());
        for (const idx of indices(n.shape)) {
          const src = idx.map((v, i) => (i === d ? v + start : v));
          expect(n.dataSync()[offset(n.shape, idx)]).toBe(x.typedData[offset(s, src)]);
        }
        const sel = x.select(d, start);
        expect(sel.toArray()).toEqual(x.slice(d, start, start + 1).squeeze(d).toArray());
        expect(x.select(d, start - s[d]!).toArray()).toEqual(sel.toArray());
      }),
      RUNS,
    );
  });

  it('gather and scatterAdd are adjoint: ⟨gather(x, d, i), y⟩ = ⟨x, scatterAdd(0, d, i, y)⟩', () => {
    const arb = shapeAndDim.chain(([s, d]) =>
      fc.tuple(
        fc.constant(s),
        fc.constant(d),
        // index shape: at most s outside d, any size 1..5 along d
        fc.tuple(...s.map((v, i) => (i === d ? fc.integer({ min: 1, max: 5 }) : fc.integer({ min: 1, max: v })))),
      ),
    );
    fc.assert(
      fc.property(arb, seedArb, ([s, d, idxShape], seed) => {
        const g = new Generator(seed + 3);
        const index = tensor(Int32Array.from({ length: numel(idxShape) }, () => g.integer(0, s[d]!)), { shape: idxShape });
        const x = filled(s, seed);
        const y = filled(idxShape, seed + 1);
        const lhs = gather(x, d, index).mul(y).sum().item();
        const rhs = x.mul(scatterAdd(zeros(s, { dtype: 'float64' }), d, index, y)).sum().item();
        expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(lhs)));
      }),
      RUNS,
    );
  });
});
