import { describe, expect, it } from 'vitest';
import {
  Generator, cat, gradcheck, stack, tensor, where, type Tensor,
} from '../../src/index.js';

/**
 * Every differentiable op against centered finite differences in float64 (chainrule's own
 * gradcheck), over shapes with broadcasting and size-1 dims. Inputs are seeded and kept away
 * from kinks, ties and domain edges, where finite differences mean nothing.
 */

type Kind = 'normal' | 'pos' | 'nonzero' | 'clampable';
type Spec = number[] | [number[], Kind] | Tensor;

const gen = new Generator(7);

function away(v: number, points: number[], gap: number): number {
  for (const p of points) if (Math.abs(v - p) < gap) v = p + (v >= p ? gap : -gap);
  return v;
}

const draw: Record<Kind, () => number> = {
  normal: () => gen.normal(),
  pos: () => 0.5 + 1.5 * gen.random(),
  nonzero: () => away(gen.normal(), [0], 0.2),
  clampable: () => away(gen.normal(), [-0.5, 0.5], 0.1),
};

function input(spec: Spec): Tensor {
  if (!Array.isArray(spec)) return spec;
  const [shape, kind] = Array.isArray(spec[0]) ? (spec as [number[], Kind]) : [spec as number[], 'normal' as Kind];
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(Float64Array.from({ length: n }, draw[kind]), { shape, dtype: 'float64', requiresGrad: true });
}

const idx = (values: number[], shape = [values.length]) => tensor(Int32Array.from(values), { shape });
const mask = (values: number[], shape: number[]) => tensor(Uint8Array.from(values), { shape, dtype: 'bool' });

type Fn = (...xs: Tensor[]) => Tensor | Tensor[];
const CASES: [string, Fn, Spec[]][] = [];
/** One op, several shape sets: one line each. */
const check = (name: string, fn: Fn, ...shapeSets: Spec[][]) => shapeSets.forEach((s) => CASES.push([name, fn, s]));

const bcast: Spec[][] = [[[3, 4], [3, 4]], [[2, 3, 4], [4]], [[2, 1, 4], [3, 1]], [[1], [5]], [[], [2, 3]]];
const nz = (specs: Spec[][]): Spec[][] => specs.map(([a, b]) => [a!, [b as number[], 'nonzero']]);
const posBase = (specs: Spec[][]): Spec[][] => specs.map(([a, b]) => [[a as number[], 'pos'], b!]);
const unary: Spec[][] = [[[5]], [[2, 1, 3]], [[]]];
const of = (kind: Kind, specs: Spec[][]): Spec[][] => specs.map(([s]) => [[s as number[], kind]]);

// elementwise
check('add', (a, b) => a!.add(b!), ...bcast);
check('sub', (a, b) => a!.sub(b!), ...bcast);
check('mul', (a, b) => a!.mul(b!), ...bcast);
check('div', (a, b) => a!.div(b!), ...nz(bcast));
check('pow', (a, b) => a!.pow(b!), ...posBase(bcast));
check('maximum', (a, b) => a!.maximum(b!), ...bcast);
check('minimum', (a, b) => a!.minimum(b!), ...bcast);
check('mul by a number', (a) => a!.mul(2.5).add(1).sub(0.5).div(3), ...unary);
check('neg', (x) => x!.neg(), ...unary);
check('exp', (x) => x!.exp(), ...unary);
check('log', (x) => x!.log(), ...of('pos', unary));
check('sqrt', (x) => x!.sqrt(), ...of('pos', unary));
check('abs', (x) => x!.abs(), ...of('nonzero', unary));
check('sin', (x) => x!.sin(), ...unary);
check('cos', (x) => x!.cos(), ...unary);
check('pow 3', (x) => x!.pow(3), ...unary);
check('pow 2', (x) => x!.pow(2), ...unary);
check('pow -1.5', (x) => x!.pow(-1.5), ...of('pos', unary));
check('pow 0.5', (x) => x!.pow(0.5), ...of('pos', unary));
check('clamp min', (x) => x!.clamp(-0.5), ...of('clampable', unary));
check('clamp max', (x) => x!.clamp(null, 0.5), ...of('clampable', unary));
check('clamp both', (x) => x!.clamp(-0.5, 0.5), ...of('clampable', unary));
check('where', (a, b) => where(mask([1, 0, 1], [3, 1]), a!, b!), [[3, 4], [4]], [[1, 4], []]);
// matmul
check('matmul', (a, b) => a!.matmul(b!), [[4], [4]], [[4], [4, 3]], [[3, 4], [4]], [[3, 4], [4, 2]], [[2, 1, 3, 4], [5, 4, 2]], [[1, 4], [2, 4, 1]]);
// reductions
const r3: Spec[] = [[3, 4, 5]];
const r1: Spec[] = [[3, 1, 4]];
check('sum', (x) => x!.sum(), r3, r1);
check('sum dim', (x) => x!.sum(1), r3, r1);
check('sum dims keepdim', (x) => x!.sum([0, 2], true), r3, r1);
check('mean', (x) => x!.mean([0, -1]), r3, r1);
check('mean all', (x) => x!.mean(), r3);
check('max', (x) => x!.max(1), r3, r1);
check('max all', (x) => x!.max(), r3);
check('min', (x) => x!.min([0, 2], true), r3, r1);
check('var unbiased', (x) => x!.var(2), r3, r1);
check('var correction 0', (x) => x!.var([0, 1], { correction: 0, keepdim: true }), r3, r1);
check('var all', (x) => x!.var(), r3);
check('std unbiased', (x) => x!.std(-1), r3, r1);
check('std correction 0', (x) => x!.std(undefined, { unbiased: false }), r3, r1);
check('logsumexp', (x) => x!.logsumexp(1), r3, r1);
check('logsumexp dims', (x) => x!.logsumexp([0, 2], true), r3, r1);
check('cumsum', (x) => x!.cumsum(1), r3, [[2, 5]]);
check('cumsum last dim', (x) => x!.cumsum(-1), r3, [[]]);
// shape
check('reshape', (x) => x!.reshape([4, -1]), [[2, 3, 2]]);
check('view', (x) => x!.view(6, 2), [[2, 1, 6]]);
check('flatten', (x) => x!.flatten(1), [[2, 3, 4]]);
check('squeeze', (x) => x!.squeeze(), [[1, 3, 1, 2]]);
check('squeeze dim', (x) => x!.squeeze(2), [[1, 3, 1, 2]]);
check('unsqueeze', (x) => x!.unsqueeze(-1), [[3, 2]]);
check('transpose', (x) => x!.transpose(0, 2), [[2, 3, 4]]);
check('permute', (x) => x!.permute(2, 0, 1), [[2, 3, 4]]);
check('expand', (x) => x!.expand(2, 3, 4), [[3, 1]], [[1]]);
check('cat', (a, b, c) => cat([a!, b!, c!], 1), [[2, 1], [2, 3], [2, 2]]);
check('stack', (a, b) => stack([a!, b!], -1), [[2, 3], [2, 3]]);
check('split', (x) => x!.split([1, 3], 1), [[3, 4]]);
check('chunk', (x) => x!.chunk(3, 0), [[5, 2]]);
check('narrow', (x) => x!.narrow(1, 1, 2), [[3, 4]]);
check('select', (x) => x!.select(1, -1), [[3, 4, 2]]);
check('slice with step', (x) => x!.slice(0, 1, 6, 2), [[7, 2]]);
check('indexSelect', (x) => x!.indexSelect(0, idx([2, 0, 2, 3])), [[4, 3]]);
check('gather', (x) => x!.gather(1, idx([0, 3, 3, 1, 2, 0], [3, 2])), [[3, 4]]);
check('scatterAdd', (s, x) => s!.scatterAdd(0, idx([0, 2, 2, 0, 1, 1], [2, 3]), x!), [[3, 4], [2, 3]], [[3, 4], [3, 5]]);
check('indexAdd', (s, x) => s!.indexAdd(1, idx([0, 2, 0]), x!), [[2, 4], [2, 3]]);
// activations
check('sigmoid', (x) => x!.sigmoid(), ...unary);
check('tanh', (x) => x!.tanh(), ...unary);
check('relu', (x) => x!.relu(), ...of('nonzero', unary));
check('leakyRelu', (x) => x!.leakyRelu(0.2), ...of('nonzero', unary));
check('elu', (x) => x!.elu(0.5), ...of('nonzero', unary));
check('gelu', (x) => x!.gelu(), ...unary);
check('gelu tanh', (x) => x!.gelu('tanh'), ...unary);
check('softplus', (x) => x!.softplus(2, 1), ...of('nonzero', unary));
check('softmax', (x) => x!.softmax(-1), [[3, 4]], [[2, 1, 3]], [[1]]);
check('logSoftmax', (x) => x!.logSoftmax(0), [[3, 4]], [[1, 3]]);

describe('gradcheck (float64, finite differences)', () => {
  it.each(CASES.map(([name, fn, specs]) => [`${name} ${specs.map((s) => (Array.isArray(s) ? JSON.stringify(Array.isArray(s[0]) ? s[0] : s) : 'const')).join(' ')}`, fn, specs] as const))(
    '%s',
    (_, fn, specs) => {
      const result = gradcheck(fn, specs.map(input));
      expect(result.ok).toBe(true);
      expect(result.checked).toBeGreaterThan(0);
    },
  );

  it("'random' mode checks a large input along a few random directions", () => {
    const a = input([64, 96]);
    const b = input([96, 48]);
    const fn = (x: Tensor, y: Tensor) => x.matmul(y).tanh().logSoftmax(1);
    const result = gradcheck(fn, [a, b], { mode: 'random', directions: 4 });
    expect(result.ok).toBe(true);
    expect(result.checked).toBe(4);
  });

  it('gradcheck fails on a wrong gradient (the check can fail)', () => {
    const x = input([4]);
    const wrong = (t: Tensor) => t.mul(t.detach()); // d/dx x·x is 2x, this gives x
    expect(gradcheck(wrong, [x], { raiseException: false }).ok).toBe(false);
  });
});
