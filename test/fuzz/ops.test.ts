import fc from 'fast-check';
import { describe, it } from 'vitest';
import {
  F, IndexError, ShapeError, add, amax, cat, div, expand, gather, gradcheck, index, indexSelect, matmul, maximum, mean, mul,
  narrow, permute, reshape, squeeze, stack, sub, sum, tensor, transpose, type Tensor,
} from '../../src/index.js';
import { expectClose, expectRefused, filled, fuzz, indices, numel, offsetOf, values } from './helpers.js';

/**
 * Random shapes and values for the op families: forward against a naive reference written here,
 * backward by a random-direction gradcheck in float64 (the directional derivative of <v, f(x)>
 * against a centered finite difference), and invalid combinations refused with chainrule's
 * error class. Runs on the `auto` project only (test/fuzz is not among the per-backend suites).
 */

const size = fc.integer({ min: 1, max: 4 });
const shapeArb = (min = 0, max = 4) => fc.array(size, { minLength: min, maxLength: max });
const seedArb = fc.integer({ min: 0, max: 2 ** 31 - 1 });

/** Directional gradcheck of fn at inputs (float64 leaves). */
function checkGrad(fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], seed: number): void {
  gradcheck(fn, inputs, { mode: 'random', directions: 2, seed, eps: 1e-6, atol: 1e-6, rtol: 1e-4 });
}

/** b broadcastable against a: a suffix of a's dims, each kept or made 1. */
const broadcastPair = shapeArb(0, 4).chain((a) =>
  fc.tuple(fc.constant(a), fc.integer({ min: 0, max: a.length }), fc.array(fc.boolean(), { minLength: a.length, maxLength: a.length }), fc.boolean()).map(
    ([a, drop, ones, swap]) => {
      const b = a.slice(drop).map((d, i) => (ones[i + drop] ? 1 : d));
      return swap ? ([b, a] as const) : ([a, b] as const);
    },
  ),
);

function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  return Array.from({ length: n }, (_, i) => {
    const da = a[i - (n - a.length)] ?? 1;
    const db = b[i - (n - b.length)] ?? 1;
    return da === 1 ? db : da;
  });
}

/** The element of shape `s` that index `idx` of the broadcast result reads. */
function broadcastRead(s: readonly number[], idx: readonly number[]): number {
  const lead = idx.length - s.length;
  return offsetOf(s, s.map((d, i) => (d === 1 ? 0 : idx[i + lead]!)));
}

const BINARY: [string, (a: Tensor, b: Tensor) => Tensor, (x: number, y: number) => number][] = [
  ['add', add, (x, y) => x + y],
  ['sub', sub, (x, y) => x - y],
  ['mul', mul, (x, y) => x * y],
  ['div', div, (x, y) => x / y],
  ['maximum', maximum, (x, y) => Math.max(x, y)],
];

describe('fuzz: broadcasting binary ops', () => {
  for (const [name, op, ref] of BINARY) {
    it(`${name}: forward as the written-out broadcast, gradient by gradcheck`, () => {
      fc.assert(
        fc.property(broadcastPair, seedArb, ([sa, sb], seed) => {
          // div: the divisor kept away from 0; maximum: distinct values almost surely (no ties)
          const a = filled(sa, seed, true);
          const b = filled(sb, seed + 1, true, name === 'div' ? 3 : 0);
          const out = broadcastShape(sa, sb);
          const av = values(a);
          const bv = values(b);
          const expected = [...indices(out)].map((idx) => ref(av[broadcastRead(sa, idx)]!, bv[broadcastRead(sb, idx)]!));
          expectClose(op(a, b), out, expected);
          checkGrad(op, [a, b], seed);
        }),
        fuzz(),
      );
    });
  }

  it('shapes that do not broadcast are a ShapeError, for every op', () => {
    fc.assert(
      fc.property(shapeArb(1, 4), fc.nat(), fc.integer({ min: 2, max: 4 }), (sa, at, extra) => {
        const d = at % sa.length;
        const sb = [...sa];
        sb[d] = sa[d]! === 1 ? extra : sa[d]! + 1; // neither equal nor 1 on one side
        if (sa[d] === 1) return; // 1 broadcasts: make the clash on a dim of a that is not 1
        for (const [, op] of BINARY) expectRefused(() => op(filled(sa, 0), filled(sb, 1)), ShapeError);
      }),
      fuzz(),
    );
  });
});

/** Reduction over `dims` of shape, by index arithmetic. */
function reduceRef(x: number[], shape: number[], dims: number[], keepdim: boolean, f: (xs: number[]) => number): { shape: number[]; data: number[] } {
  const outKeep = shape.map((d, i) => (dims.includes(i) ? 1 : d));
  const groups = new Map<number, number[]>();
  for (const idx of indices(shape)) {
    const o = offsetOf(outKeep, idx.map((v, i) => (dims.includes(i) ? 0 : v)));
    (groups.get(o) ?? groups.set(o, []).get(o)!).push(x[offsetOf(shape, idx)]!);
  }
  const data = Array.from({ length: numel(outKeep) }, (_, o) => f(groups.get(o)!));
  return { shape: keepdim ? outKeep : shape.filter((_, i) => !dims.includes(i)), data };
}

const REDUCTIONS: [string, (x: Tensor, d: number[], k: boolean) => Tensor, (xs: number[]) => number][] = [
  ['sum', (x, d, k) => sum(x, d, k), (xs) => xs.reduce((a, b) => a + b, 0)],
  ['mean', (x, d, k) => mean(x, d, k), (xs) => xs.reduce((a, b) => a + b, 0) / xs.length],
  ['max', (x, d, k) => amax(x, d, k), (xs) => Math.max(...xs)],
];

describe('fuzz: reductions', () => {
  const caseArb = shapeArb(1, 4).chain((shape) =>
    fc.tuple(fc.constant(shape), fc.subarray(shape.map((_, i) => i), { minLength: 1 }), fc.boolean(), fc.boolean(), seedArb),
  );
  for (const [name, op, ref] of REDUCTIONS) {
    it(`${name} over random dims (negative too), keepdim or not`, () => {
      fc.assert(
        fc.property(caseArb, ([shape, dims, keepdim, negative, seed]) => {
          const x = filled(shape, seed, true);
          const given = negative ? dims.map((d) => d - shape.length) : dims;
          const r = reduceRef(values(x), shape, dims, keepdim, ref);
          expectClose(op(x, given, keepdim), r.shape, r.data);
          checkGrad((t) => op(t, given, keepdim), [x], seed);
        }),
        fuzz(),
      );
    });
  }

  it('a dim out of range is an IndexError; a repeated dim an error of chainrule', () => {
    fc.assert(
      fc.property(shapeArb(1, 4), fc.integer({ min: 0, max: 3 }), fc.boolean(), (shape, past, neg) => {
        const bad = neg ? -shape.length - 1 - past : shape.length + past;
        for (const [, op] of REDUCTIONS) {
          expectRefused(() => op(filled(shape, 0), [bad], false), IndexError);
          expectRefused(() => op(filled(shape, 0), [0, 0], false));
          expectRefused(() => op(filled(shape, 0), [0.5], false));
        }
      }),
      fuzz(0.5),
    );
  });
});

/** A random permutation of 0..n-1 from a seed. */
function permutation(n: number, seed: number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  let s = seed;
  for (let i = n - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

describe('fuzz: shape ops', () => {
  it('reshape to a random regrouping of the same elements (one size as -1)', () => {
    fc.assert(
      fc.property(shapeArb(0, 4), shapeArb(0, 3), seedArb, fc.boolean(), (shape, pick, seed, infer) => {
        // the new shape: the sizes of `shape` multiplied into a random grouping
        const n = numel(shape);
        const target: number[] = [];
        let rest = n;
        for (const k of pick) if (rest % k === 0) {
          target.push(k);
          rest /= k;
        }
        target.push(rest);
        const x = filled(shape, seed, true);
        const given = infer ? target.map((d, i) => (i === target.length - 1 ? -1 : d)) : target;
        expectClose(reshape(x, given), target, values(x));
        // through a strided view too (a transpose first), where reshape copies
        if (shape.length >= 2) {
          const t = transpose(x, 0, shape.length - 1);
          expectClose(reshape(t, given), target, values(t.contiguous()));
        }
        checkGrad((a) => reshape(a.mul(2), given), [x], seed);
        expectRefused(() => reshape(x, [...target, 2]), ShapeError);
        expectRefused(() => reshape(x, [-1, -1]));
      }),
      fuzz(),
    );
  });

  it('permute and transpose move each element where the written-out index map says', () => {
    fc.assert(
      fc.property(shapeArb(1, 4), seedArb, (shape, seed) => {
        const x = filled(shape, seed, true);
        const perm = permutation(shape.length, seed);
        const out = perm.map((p) => shape[p]!);
        const xv = values(x);
        const expected = [...indices(out)].map((idx) => {
          const src = new Array<number>(shape.length);
          perm.forEach((p, i) => (src[p] = idx[i]!));
          return xv[offsetOf(shape, src)]!;
        });
        expectClose(permute(x, perm), out, expected);
        checkGrad((a) => permute(a, perm).mul(a.sum()), [x], seed);
        const [d0, d1] = [perm[0]!, perm[perm.length - 1]!];
        const swapped = [...shape];
        [swapped[d0], swapped[d1]] = [shape[d1]!, shape[d0]!];
        expect_(transpose(x, d0, d1).shape, swapped);
        expectRefused(() => permute(x, [...perm, perm.length]));
        if (shape.length >= 2) expectRefused(() => permute(x, perm.map(() => 0)));
        expectRefused(() => transpose(x, 0, shape.length), IndexError);
      }),
      fuzz(),
    );
  });

  it('narrow: a valid window reads the right elements; any window outside the dim is an IndexError', () => {
    fc.assert(
      fc.property(shapeArb(1, 4), fc.nat(), fc.nat(), fc.nat(), seedArb, (shape, dRaw, sRaw, lRaw, seed) => {
        const d = dRaw % shape.length;
        const start = sRaw % shape[d]!;
        const length = lRaw % (shape[d]! - start + 1);
        const x = filled(shape, seed, true);
        const out = shape.map((s, i) => (i === d ? length : s));
        const xv = values(x);
        const expected = [...indices(out)].map((idx) => xv[offsetOf(shape, idx.map((v, i) => (i === d ? v + start : v)))]!);
        expectClose(narrow(x, d, start, length), out, expected);
        if (length > 0) checkGrad((a) => narrow(a, d, start, length).mul(a.sum()), [x], seed);
        expectRefused(() => narrow(x, d, start, shape[d]! - start + 1), IndexError);
        expectRefused(() => narrow(x, d, shape[d]! + 1, 0), IndexError);
        expectRefused(() => narrow(x, d, start, -1));
        expectRefused(() => narrow(x, d, start + 0.5, 0));
        expectRefused(() => narrow(x, shape.length, 0, 0), IndexError);
      }),
      fuzz(),
    );
  });

  it('expand: size-1 dims and new leading dims repeat; any other size is a ShapeError', () => {
    fc.assert(
      fc.property(broadcastPair, seedArb, ([sa, sb], seed) => {
        const out = broadcastShape(sa, sb);
        const x = filled(sb, seed, true);
        const xv = values(x);
        expectClose(expand(x, out), out, [...indices(out)].map((idx) => xv[broadcastRead(sb, idx)]!));
        checkGrad((a) => expand(a, out).mul(filled(out, seed + 1)), [x], seed);
        const bad = sb.findIndex((d) => d > 1);
        if (bad >= 0) {
          const wrong = [...sb];
          wrong[bad] = sb[bad]! + 1;
          expectRefused(() => expand(x, wrong), ShapeError);
        }
        expectRefused(() => expand(x, out.slice(1).length < sb.length ? out.slice(1) : [-2, ...out]));
      }),
      fuzz(),
    );
  });

  it('cat and stack: parts laid out along the dim; mismatched parts are a ShapeError', () => {
    fc.assert(
      fc.property(shapeArb(1, 3), fc.nat(), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 3 }), seedArb, (shape, dRaw, lens, seed) => {
        const d = dRaw % shape.length;
        const parts = lens.map((l, k) => filled(shape.map((s, i) => (i === d ? l : s)), seed + k, true));
        const total = lens.reduce((a, b) => a + b, 0);
        const out = shape.map((s, i) => (i === d ? total : s));
        const expected = [...indices(out)].map((idx) => {
          let at = idx[d]!;
          let k = 0;
          while (at >= lens[k]!) at -= lens[k++]!;
          return values(parts[k]!)[offsetOf(parts[k]!.shape, idx.map((v, i) => (i === d ? at : v)))]!;
        });
        expectClose(cat(parts, d), out, expected);
        if (total > 0) checkGrad((...ps) => cat(ps, d).mul(filled(out, seed)), parts, seed);
        const same = lens.map((_, k) => filled(shape, seed + k, true));
        const st = stack(same, d);
        const sOut = [...shape.slice(0, d), same.length, ...shape.slice(d)];
        expectClose(st, sOut, [...indices(sOut)].map((idx) => values(same[idx[d]!]!)[offsetOf(shape, idx.filter((_, i) => i !== d))]!));
        checkGrad((...ps) => stack(ps, d).mul(filled(sOut, seed)), same, seed);
        const other = (d + 1) % shape.length;
        if (other !== d) {
          const off = filled(shape.map((s, i) => (i === other ? s + 1 : s)), seed);
          expectRefused(() => cat([same[0]!, off], d), ShapeError);
          expectRefused(() => stack([same[0]!, off], d), ShapeError);
        }
        expectRefused(() => cat(parts, shape.length), IndexError);
        expectRefused(() => cat([same[0]!, filled([...shape, 2], seed)], d), ShapeError);
        expectRefused(() => stack([], 0));
      }),
      fuzz(),
    );
  });

  it('squeeze drops size-1 dims (all, or the one named); naming another dim keeps it', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 5 }), fc.nat(), seedArb, (shape, dRaw, seed) => {
        const x = filled(shape, seed, true);
        expectClose(squeeze(x), shape.filter((s) => s !== 1), values(x));
        const d = dRaw % shape.length;
        expectClose(squeeze(x, d), shape[d] === 1 ? shape.filter((_, i) => i !== d) : shape, values(x));
        checkGrad((a) => squeeze(a, d).mul(2), [x], seed);
        expectRefused(() => squeeze(x, shape.length), IndexError);
      }),
      fuzz(),
    );
  });
});

function expect_(got: readonly number[], want: readonly number[]): void {
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`shape ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
}

describe('fuzz: indexing', () => {
  const caseArb = shapeArb(1, 3).chain((shape) =>
    fc.tuple(
      fc.constant(shape),
      fc.integer({ min: 0, max: shape.length - 1 }),
      fc.array(fc.nat(), { minLength: 0, maxLength: 5 }),
      seedArb,
    ),
  );

  it('indexSelect picks whole slices (repeats allowed); an index outside the dim is an IndexError', () => {
    fc.assert(
      fc.property(caseArb, fc.integer({ min: 0, max: 5 }), ([shape, d, raw, seed], past) => {
        const picks = raw.map((r) => r % shape[d]!);
        const x = filled(shape, seed, true);
        const idx = tensor(picks, { dtype: 'int32' });
        const out = shape.map((s, i) => (i === d ? picks.length : s));
        const xv = values(x);
        expectClose(indexSelect(x, d, idx), out, [...indices(out)].map((ix) => xv[offsetOf(shape, ix.map((v, i) => (i === d ? picks[v]! : v)))]!));
        if (picks.length > 0) checkGrad((a) => indexSelect(a, d, idx).mul(filled(out, seed)), [x], seed);
        expectRefused(() => indexSelect(x, d, tensor([shape[d]! + past], { dtype: 'int32' })), IndexError);
        expectRefused(() => indexSelect(x, d, tensor([-shape[d]! - 1 - past], { dtype: 'int32' })), IndexError);
        expectRefused(() => indexSelect(x, d, tensor([[0]], { dtype: 'int32' })));
        expectRefused(() => indexSelect(x, d, tensor([0.5])));
      }),
      fuzz(),
    );
  });

  it('gather reads x at the index along dim; an index or a shape that does not fit is refused', () => {
    fc.assert(
      fc.property(caseArb, fc.integer({ min: 1, max: 3 }), ([shape, d, raw, seed], k) => {
        const ishape = shape.map((s, i) => (i === d ? k : s));
        const n = numel(ishape);
        const picks = Array.from({ length: n }, (_, i) => (raw[i % Math.max(raw.length, 1)] ?? i) % shape[d]!);
        const x = filled(shape, seed, true);
        const idx = tensor(picks, { dtype: 'int32', shape: ishape });
        const xv = values(x);
        const expected = [...indices(ishape)].map((ix, j) => xv[offsetOf(shape, ix.map((v, i) => (i === d ? picks[j]! : v)))]!);
        expectClose(gather(x, d, idx), ishape, expected);
        checkGrad((a) => gather(a, d, idx).mul(filled(ishape, seed)), [x], seed);
        const bad = [...picks];
        bad[0] = shape[d]!;
        expectRefused(() => gather(x, d, tensor(bad, { dtype: 'int32', shape: ishape })), IndexError);
        expectRefused(() => gather(x, d, tensor([0], { dtype: 'int32', shape: [1, 1, 1, 1, 1].slice(0, shape.length + 1) })));
      }),
      fuzz(),
    );
  });

  it('index with one index tensor per leading dim (and null for a whole dim)', () => {
    fc.assert(
      fc.property(shapeArb(2, 3), fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), fc.boolean(), seedArb, (shape, raw, skipFirst, seed) => {
        const x = filled(shape, seed, true);
        const xv = values(x);
        const i0 = raw.map((r) => r % shape[0]!);
        const i1 = raw.map((r) => (r * 7 + 1) % shape[1]!);
        if (skipFirst) {
          // x[:, i1]: dim 0 whole, dim 1 picked
          const out = [shape[0]!, i1.length, ...shape.slice(2)];
          const expected = [...indices(out)].map((ix) => xv[offsetOf(shape, [ix[0]!, i1[ix[1]!]!, ...ix.slice(2)])]!);
          expectClose(index(x, [null, tensor(i1, { dtype: 'int32' })]), out, expected);
          checkGrad((a) => index(a, [null, tensor(i1, { dtype: 'int32' })]).mul(filled(out, seed)), [x], seed);
        } else {
          // x[i0, i1]: pairs of indices
          const out = [raw.length, ...shape.slice(2)];
          const expected = [...indices(out)].map((ix) => xv[offsetOf(shape, [i0[ix[0]!]!, i1[ix[0]!]!, ...ix.slice(1)])]!);
          expectClose(index(x, [tensor(i0, { dtype: 'int32' }), tensor(i1, { dtype: 'int32' })]), out, expected);
          checkGrad((a) => index(a, [tensor(i0, { dtype: 'int32' }), tensor(i1, { dtype: 'int32' })]).mul(filled(out, seed)), [x], seed);
        }
        expectRefused(() => index(x, [tensor([shape[0]!], { dtype: 'int32' })]), IndexError);
        expectRefused(() => index(x, shape.map(() => tensor([0], { dtype: 'int32' })).concat([tensor([0], { dtype: 'int32' })])));
        if (raw.length > 1) expectRefused(() => index(x, [tensor(i0, { dtype: 'int32' }), tensor(i1.slice(1).concat([0, 0]), { dtype: 'int32' })]), ShapeError);
      }),
      fuzz(),
    );
  });
});

describe('fuzz: matmul', () => {
  const caseArb = fc.tuple(
    fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }),
    broadcastPair.filter(([a, b]) => a.length <= 2 && b.length <= 2),
    fc.integer({ min: 0, max: 3 }), seedArb,
  );

  it('batched and broadcast products against the triple loop; mismatched inner sizes are a ShapeError', () => {
    fc.assert(
      fc.property(caseArb, ([m, k, n, [ba, bb], vec, seed]) => {
        // vec: 1 = a is a vector, 2 = b is a vector, else matrices with batch dims ba / bb
        const aShape = vec === 1 ? [k] : [...ba, m, k];
        const bShape = vec === 2 ? [k] : [...bb, k, n];
        const a = filled(aShape, seed, true);
        const b = filled(bShape, seed + 1, true);
        const batch = vec === 1 ? bb : vec === 2 ? ba : broadcastShape(ba, bb);
        const aB = vec === 1 ? [] : ba;
        const bB = vec === 2 ? [] : bb;
        const mm = vec === 1 ? 1 : m;
        const nn = vec === 2 ? 1 : n;
        const av = values(a);
        const bv = values(b);
        const data: number[] = [];
        for (const bi of indices(batch)) {
          const ao = broadcastRead(aB, bi) * mm * k;
          const bo = broadcastRead(bB, bi) * k * nn;
          for (let i = 0; i < mm; i++) for (let j = 0; j < nn; j++) {
            let s = 0;
            for (let p = 0; p < k; p++) s += av[ao + i * k + p]! * bv[bo + p * nn + j]!;
            data.push(s);
          }
        }
        const out = [...batch, ...(vec === 1 ? [] : [m]), ...(vec === 2 ? [] : [n])];
        expectClose(matmul(a, b), out, data);
        checkGrad(matmul, [a, b], seed);
        expectRefused(() => matmul(a, filled(vec === 2 ? [k + 1] : [...bb, k + 1, n], seed)), ShapeError);
        expectRefused(() => matmul(tensor(1), b));
      }),
      fuzz(),
    );
  });
});

describe('fuzz: conv2d', () => {
  const caseArb = fc.record({
    n: fc.integer({ min: 1, max: 2 }),
    groups: fc.integer({ min: 1, max: 2 }),
    cPer: fc.integer({ min: 1, max: 2 }),
    oPer: fc.integer({ min: 1, max: 2 }),
    h: fc.integer({ min: 1, max: 6 }),
    w: fc.integer({ min: 1, max: 6 }),
    kh: fc.integer({ min: 1, max: 3 }),
    kw: fc.integer({ min: 1, max: 3 }),
    stride: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    padding: fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })),
    dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    bias: fc.boolean(),
    seed: seedArb,
  });

  it('against the written-out sum over the window (stride, padding, dilation, groups, bias)', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const C = c.cPer * c.groups;
        const O = c.oPer * c.groups;
        const oh = Math.floor((c.h + 2 * c.padding[0] - c.dilation[0] * (c.kh - 1) - 1) / c.stride[0]) + 1;
        const ow = Math.floor((c.w + 2 * c.padding[1] - c.dilation[1] * (c.kw - 1) - 1) / c.stride[1]) + 1;
        const x = filled([c.n, C, c.h, c.w], c.seed, true);
        const wt = filled([O, c.cPer, c.kh, c.kw], c.seed + 1, true);
        const b = c.bias ? filled([O], c.seed + 2, true) : null;
        const opts = { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups };
        if (oh < 1 || ow < 1) {
          expectRefused(() => F.conv2d(x, wt, b, opts), ShapeError);
          return;
        }
        const xv = values(x);
        const wv = values(wt);
        const bv = b ? values(b) : null;
        const data: number[] = [];
        for (let ni = 0; ni < c.n; ni++) for (let o = 0; o < O; o++) for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) {
          const g = Math.floor(o / c.oPer);
          let s = bv ? bv[o]! : 0;
          for (let ci = 0; ci < c.cPer; ci++) for (let p = 0; p < c.kh; p++) for (let q = 0; q < c.kw; q++) {
            const y = i * c.stride[0] - c.padding[0] + p * c.dilation[0];
            const z = j * c.stride[1] - c.padding[1] + q * c.dilation[1];
            if (y < 0 || y >= c.h || z < 0 || z >= c.w) continue;
            s += xv[offsetOf([c.n, C, c.h, c.w], [ni, g * c.cPer + ci, y, z])]! * wv[offsetOf([O, c.cPer, c.kh, c.kw], [o, ci, p, q])]!;
          }
          data.push(s);
        }
        expectClose(F.conv2d(x, wt, b, opts), [c.n, O, oh, ow], data);
        checkGrad((...ts) => F.conv2d(ts[0]!, ts[1]!, ts[2] ?? null, opts), b ? [x, wt, b] : [x, wt], c.seed);
        // refused: channels that do not match the weight, a bias of the wrong size, bad options
        expectRefused(() => F.conv2d(filled([c.n, C + c.groups, c.h, c.w], 0), wt, b, opts), ShapeError);
        expectRefused(() => F.conv2d(x, wt, filled([O + 1], 0), opts), ShapeError);
        expectRefused(() => F.conv2d(filled([C, c.h, c.w, 1, 1], 0), wt, b, opts));
        expectRefused(() => F.conv2d(x, wt, b, { ...opts, stride: 0 }));
        expectRefused(() => F.conv2d(x, wt, b, { ...opts, padding: -1 }));
        expectRefused(() => F.conv2d(x, wt, b, { ...opts, stride: 1.5 }));
      }),
      fuzz(0.75),
    );
  });
});

describe('fuzz: numbers no op can take', () => {
  const bad = fc.constantFrom(NaN, Infinity, -Infinity, 0.5, -1.5, 2 ** 53, 1e12, -(2 ** 31));
  const x = filled([2, 3], 0, true);
  const idx = tensor([0, 1], { dtype: 'int32' });
  const gidx = tensor([[0, 1, 0], [1, 0, 1]], { dtype: 'int32' });
  const img = filled([1, 2, 4, 4], 1);
  const wt = filled([2, 2, 2, 2], 2);
  const CALLS: [string, (v: number) => unknown][] = [
    ['reshape', (v) => reshape(x, [v, 3])],
    ['permute', (v) => permute(x, [v, 0])],
    ['transpose', (v) => transpose(x, v, 0)],
    ['narrow start', (v) => narrow(x, 1, v, 1)],
    ['narrow length', (v) => narrow(x, 1, 0, v)],
    ['narrow dim', (v) => narrow(x, v, 0, 1)],
    ['expand', (v) => expand(x, [v, 2, 3])],
    ['sum', (v) => sum(x, v)],
    ['mean', (v) => mean(x, [v], true)],
    ['max', (v) => amax(x, v)],
    ['squeeze', (v) => squeeze(x, v)],
    ['cat', (v) => cat([x, x], v)],
    ['stack', (v) => stack([x, x], v)],
    ['indexSelect', (v) => indexSelect(x, v, idx)],
    ['gather', (v) => gather(x, v, gidx)],
    // (a huge stride is valid: one output position)
    ['conv2d stride', (v) => F.conv2d(img, wt, null, { stride: v > 1e6 ? -v : v })],
    ['conv2d padding', (v) => F.conv2d(img, wt, null, { padding: v })],
    ['conv2d dilation', (v) => F.conv2d(img, wt, null, { dilation: v })],
    ['conv2d groups', (v) => F.conv2d(img, wt, null, { groups: v })],
  ];
  for (const [name, call] of CALLS) {
    it(`${name}: NaN, ±∞, fractions and huge values are a chainrule error`, () => {
      fc.assert(fc.property(bad, (v) => expectRefused(() => call(v))), fuzz(0.5));
    });
  }
});
