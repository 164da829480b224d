import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { F, allclose, baddbmm, bmm, clone, einsum, indexPut, isclose, linalg, norm, pad, tensor, type Tensor } from '../../src/index.js';
import { checkCase, type OpCall, type OpCase } from './helpers.js';

/**
 * The issue-14 tensor ops against PyTorch 1.13 (test/fixtures/gen_ops14.py → ops14.json):
 * forward values (and int32 indices) and input gradients, float64 to 1e-10, each case with
 * and without createGraph. One line per fixture op; coverage is checked both ways.
 */
const OPS: Record<string, OpCall> = {
  tril: ([x], a) => x!.tril(a.diagonal),
  triu: ([x], a) => x!.triu(a.diagonal),
  maskedFill: ([x, m], a) => x!.maskedFill(m!, a.value),
  maskedFillTensor: ([x, m, v]) => x!.maskedFill(m!, v!),
  clone: ([x]) => clone(x!),
  flip: ([x], a) => x!.flip(a.dims),
  roll: ([x], a) => x!.roll(a.shifts, a.dims),
  repeat: ([x], a) => x!.repeat(a.sizes),
  tile: ([x], a) => x!.tile(a.dims),
  pad: ([x], a) => pad(x!, a.pad, a.mode, a.value),
  repeatInterleave: ([x], a) => x!.repeatInterleave(typeof a.repeats === 'number' ? a.repeats : tensorOf(a.repeats), a.dim),
  sort: ([x], a) => [...x!.sort(a.dim, a.descending)],
  argsort: ([x], a) => x!.argsort(a.dim, a.descending),
  topk: ([x], a) => [...x!.topk(a.k, a.dim, a.largest)],
  cumprod: ([x], a) => x!.cumprod(a.dim),
  isnan: ([x]) => x!.isnan(),
  isinf: ([x]) => x!.isinf(),
  isfinite: ([x]) => x!.isfinite(),
  nanToNum: ([x], a) => x!.nanToNum(a.nan, a.posinf, a.neginf),
  isclose: ([x, y], a) => isclose(x!, y!, a),
  allclose: ([x, y], a) => tensor(allclose(x!, y!, a) ? 1 : 0, { dtype: 'bool' }),
  bmm: ([a, b]) => bmm(a!, b!),
  bmmTransposed: ([a, b]) => a!.transpose(1, 2).bmm(b!.transpose(1, 2)),
  baddbmm: ([i, a, b], o) => baddbmm(i!, a!, b!, { beta: o.beta, alpha: o.alpha }),
  vectorNorm: ([x], a) => linalg.vectorNorm(x!, ordOf(a.ord), a.dim, a.keepdim),
  norm: ([x], a) => norm(x!, a.p, a.dim, a.keepdim),
  einsum: (xs, a) => einsum(a.equation, ...xs),
  index: ([x, ...ix], a) => x!.index(entries(a.pattern, ix)),
  indexPut: ([x, v, ...ix], a) => indexPut(x!, entries(a.pattern, ix), v!, a.accumulate),
  oneHot: ([t], a) => F.oneHot(t!, a.numClasses),
};

/** The index list of a fixture: pattern entry 1 takes the next index input, null is ':'. */
function entries(pattern: (number | null)[], ix: Tensor[]): (Tensor | null)[] {
  let k = 0;
  return pattern.map((p) => (p ? ix[k++]! : null));
}

const ordOf = (o: number | string) => (o === 'inf' ? Infinity : o === '-inf' ? -Infinity : (o as number));

function tensorOf(values: number[]) {
  return tensor(Int32Array.from(values), { shape: [values.length] });
}

const FILE = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'ops14.json');
const cases = (JSON.parse(readFileSync(FILE, 'utf8')) as { cases: OpCase[] }).cases;

it('every fixture op has a chainrule call, and every call has fixtures', () => {
  const inFixtures = new Set(cases.map((c) => c.op));
  expect([...inFixtures].filter((op) => !(op in OPS))).toEqual([]);
  expect(Object.keys(OPS).filter((op) => !inFixtures.has(op))).toEqual([]);
});

for (const [op, call] of Object.entries(OPS)) {
  describe(op, () => {
    const mine = cases.filter((c) => c.op === op);
    const runs = mine.flatMap((c) => [[`${c.name}`, c, false], [`${c.name} createGraph`, c, true]] as const);
    it.each(runs)('%s', (_, c, createGraph) => checkCase(c, call, createGraph));
  });
}
