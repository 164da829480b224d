import { binaryK, compareK, fullK, unaryK, whereK, asDType } from '../kernels.js';
import type { OpAttrs, OpRule } from '../registry.js';
import { unbroadcast } from '../unbroadcast.js';
import { where } from '../functional.js';
import { powScalarGrad, reluGrad, sigmoidGrad, tanhGrad } from './activation-grads.js';
import { broadcastShapes } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { isFloat } from '../../tensor/dtype.js';

type Rules<K extends keyof OpAttrs> = { [P in K]: OpRule<OpAttrs[P]> };

/** A constant (no grad) of x's dtype, for use inside backward formulas. */
function scalar(x: Tensor, v: number): Tensor {
  return fullK([], v, x.dtype);
}

/** A 0/1 mask of x's dtype (a constant in the graph). */
function mask(b: Tensor, like: Tensor): Tensor {
  return asDType(b, like.dtype);
}

export const elementwiseRules: Rules<
  | 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum'
  | 'neg' | 'exp' | 'log' | 'sqrt' | 'abs' | 'sin' | 'cos' | 'tanh' | 'sigmoid' | 'relu'
  | 'erf' | 'log1p' | 'expm1' | 'powScalar' | 'clamp' | 'where' | 'cast'
> = {
  add: {
    forward: (_c, [a, b]) => binaryK('add', 'add', a!, b!),
    backward: (c, g) => [unbroadcast(g, c.inputShapes[0]!), unbroadcast(g, c.inputShapes[1]!)],
  },
  sub: {
    forward: (_c, [a, b]) => binaryK('sub', 'sub', a!, b!),
    backward: (c, g) => [unbroadcast(g, c.inputShapes[0]!), c.needsInputGrad[1] ? unbroadcast(g.neg(), c.inputShapes[1]!) : null],
  },
  mul: {
    forward: (c, [a, b]) => {
      c.save(a!, b!);
      return binaryK('mul', 'mul', a!, b!);
    },
    backward: (c, g) => {
      const [a, b] = c.saved as [Tensor, Tensor];
      return [
        c.needsInputGrad[0] ? unbroadcast(g.mul(b), c.inputShapes[0]!) : null,
        c.needsInputGrad[1] ? unbroadcast(g.mul(a), c.inputShapes[1]!) : null,
      ];
    },
  },
  div: {
    forward: (c, [a, b]) => {
      c.save(a!, b!);
      return binaryK('div', 'div', a!, b!);
    },
    backward: (c, g) => {
      const [a, b] = c.saved as [Tensor, Tensor];
      return [
        c.needsInputGrad[0] ? unbroadcast(g.div(b), c.inputShapes[0]!) : null,
        c.needsInputGrad[1] ? unbroadcast(g.neg().mul(a).div(b.mul(b)), c.inputShapes[1]!) : null,
      ];
    },
  },
  pow: {
    forward: (c, [a, b]) => {
      const out = binaryK('pow', 'pow', a!, b!);
      c.save(a!, b!, out);
      return out;
    },
    backward: (c, g) => {
      const [a, b, out] = c.saved as [Tensor, Tensor, Tensor];
      let ga: Tensor | null = null;
      let gb: Tensor | null = null;
      if (c.needsInputGrad[0]) {
        // d/da a^b = b·a^(b−1); where b == 0 the term is 0 even at a == 0 (0·0^−1 would be NaN).
        const term = b.mul(a.pow(b.sub(scalar(b, 1))));
        const zero = compareK('eq', 'pow', b, scalar(b, 0));
        ga = unbroadcast(g.mul(where(zero, scalar(term, 0), term)), c.inputShapes[0]!);
      }
      if (c.needsInputGrad[1]) {
        // d/db a^b = a^b·log a, taken as 0 where a == 0 and b >= 0, as PyTorch does.
        const term = out.mul(a.log());
        const zeroBase = compareK('eq', 'pow', a, scalar(a, 0));
        const nonNegExp = compareK('ge', 'pow', b, scalar(b, 0));
        const both = binaryK('mul', 'pow', asDType(zeroBase, 'int32'), asDType(nonNegExp, 'int32'));
        gb = unbroadcast(g.mul(where(asDType(both, 'bool'), scalar(term, 0), term)), c.inputShapes[1]!);
      }
      return [ga, gb];
    },
  },
  maximum: minMaxRule('maximum', 'lt'),
  minimum: minMaxRule('minimum', 'gt'),
  neg: {
    forward: (_c, [x]) => unaryK('neg', x!),
    backward: (_c, g) => [g.neg()],
  },
  exp: {
    forward: (c, [x]) => {
      const out = unaryK('exp', x!);
      c.save(out);
      return out;
    },
    backward: (c, g) => [g.mul(c.saved[0]!)],
  },
  log: {
    forward: (c, [x]) => {
      c.save(x!);
      return unaryK('log', x!);
    },
    backward: (c, g) => [g.div(c.saved[0]!)],
  },
  sqrt: {
    forward: (c, [x]) => {
      const out = unaryK('sqrt', x!);
      c.save(out);
      return out;
    },
    backward: (c, g) => [g.div(c.saved[0]!.mul(scalar(g, 2)))],
  },
  abs: {
    forward: (c, [x]) => {
      c.save(x!);
      return unaryK('abs', x!);
    },
    backward: (c, g) => [g.mul(unaryK('sign', c.saved[0]!))],
  },
  sin: {
    forward: (c, [x]) => {
      c.save(x!);
      return unaryK('sin', x!);
    },
    backward: (c, g) => [g.mul(c.saved[0]!.cos())],
  },
  cos: {
    forward: (c, [x]) => {
      c.save(x!);
      return unaryK('cos', x!);
    },
    backward: (c, g) => [g.mul(c.saved[0]!.sin()).neg()],
  },
  tanh: {
    forward: (c, [x]) => {
      const out = unaryK('tanh', x!);
      c.save(out);
      return out;
    },
    backward: (c, g) => [tanhGrad(g, c.saved[0]!)],
  },
  sigmoid: {
    forward: (c, [x]) => {
      const out = unaryK('sigmoid', x!);
      c.save(out);
      return out;
    },
    backward: (c, g) => [sigmoidGrad(g, c.saved[0]!)],
  },
  relu: {
    forward: (c, [x]) => {
      const out = unaryK('relu', x!);
      c.save(out);
      return out;
    },
    // Gradient 0 at x == 0, as PyTorch: pass g where the output is positive.
    backward: (c, g) => [reluGrad(g, c.saved[0]!)],
  },
  erf: {
    forward: (c, [x]) => {
      c.save(x!);
      return unaryK('erf', x!);
    },
    backward: (c, g) => {
      const x = c.saved[0]!;
      return [g.mul(x.mul(x).neg().exp().mul(scalar(x, 2 / Math.sqrt(Math.PI))))];
    },
  },
  log1p: {
    forward: (c, [x]) => {
      c.save(x!);
      return unaryK('log1p', x!);
    },
    backward: (c, g) => [g.div(c.saved[0]!.add(scalar(g, 1)))],
  },
  expm1: {
    forward: (c, [x]) => {
      const out = unaryK('expm1', x!);
      c.save(out);
      return out;
    },
    backward: (c, g) => [g.mul(c.saved[0]!.add(scalar(g, 1)))],
  },
  powScalar: {
    forward: (c, [x], { exponent }) => {
      c.save(x!);
      if (exponent === 2) return unaryK('square', x!);
      return binaryK('pow', 'pow', x!, scalar(x!, exponent));
    },
    backward: (c, g, { exponent }) => {
      if (exponent === 0) return [g.mul(scalar(g, 0))];
      return [powScalarGrad(g, c.saved[0]!, exponent)];
    },
  },
  clamp: {
    forward: (c, [x], { min, max }) => {
      c.save(x!);
      let out = x!;
      if (min !== null) out = binaryK('maximum', 'clamp', out, scalar(x!, min));
      if (max !== null) out = binaryK('minimum', 'clamp', out, scalar(x!, max));
      return out === x ? binaryK('add', 'clamp', x!, scalar(x!, 0)) : out;
    },
    // The gradient passes where min <= x <= max (inclusive), as PyTorch.
    backward: (c, g, { min, max }) => {
      const x = c.saved[0]!;
      let keep = fullK(x.shape, 1, g.dtype, g);
      if (min !== null) keep = binaryK('mul', 'clamp', keep, mask(compareK('ge', 'clamp', x, scalar(x, min)), g));
      if (max !== null) keep = binaryK('mul', 'clamp', keep, mask(compareK('le', 'clamp', x, scalar(x, max)), g));
      return [g.mul(keep)];
    },
  },
  where: {
    forward: (c, [cond, a, b]) => {
      c.save(cond!);
      const shape = broadcastShapes('where', broadcastShapes('where', cond!.shape, a!.shape), b!.shape);
      return whereK(cond!, a!, b!, shape);
    },
    backward: (c, g) => {
      const cond = c.saved[0]!;
      const zero = scalar(g, 0);
      return [
        null,
        c.needsInputGrad[1] ? unbroadcast(where(cond, g, zero), c.inputShapes[1]!) : null,
        c.needsInputGrad[2] ? unbroadcast(where(cond, zero, g), c.inputShapes[2]!) : null,
      ];
    },
  },
  cast: {
    forward: (_c, [x], { dtype }) => (x!.dtype === dtype ? binaryK('add', 'clone', x!, fullK([], 0, dtype)) : asDType(x!, dtype)),
    backward: (c, g) => [isFloat(c.inputDtypes[0]!) ? g.to(c.inputDtypes[0]!) : null],
  },
};

/** maximum/minimum: the gradient goes to the larger (smaller) input, split half-half on ties, as PyTorch. */
function minMaxRule(op: 'maximum' | 'minimum', loses: 'lt' | 'gt'): OpRule<{}> {
  const wins = loses === 'lt' ? 'gt' : 'lt';
  return {
    forward: (c, [a, b]) => {
      c.save(a!, b!);
      return binaryK(op, op, a!, b!);
    },
    backward: (c, g) => {
      const [a, b] = c.saved as [Tensor, Tensor];
      const half = scalar(g, 0.5);
      const tie = mask(compareK('eq', op, a, b), g);
      const share = (winMask: Tensor) => binaryK('add', op, mask(winMask, g), binaryK('mul', op, tie, half));
      return [
        c.needsInputGrad[0] ? unbroadcast(g.mul(share(compareK(wins, op, a, b))), c.inputShapes[0]!) : null,
        c.needsInputGrad[1] ? unbroadcast(g.mul(share(compareK(loses, op, a, b))), c.inputShapes[1]!) : null,
      ];
    },
  };
}
