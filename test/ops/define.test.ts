import { describe, expect, expectTypeOf, it } from 'vitest';
import { Tensor, amax, exp, max, nn, sum, tensor, type Dims, type TensorLike, type VarOptions } from '../../src/index.js';
import { defineMethods, defineOp, SELF } from '../../src/ops/define.js';

/**
 * One defineOp entry gives an op's function, its Tensor method(s) and its export (see
 * src/ops/define.ts). The method types are derived from the function's: these pin them to the
 * signatures the methods had when they were written out by hand (the typecheck of `npm test`
 * runs over this file, so a drift fails there).
 */

describe('method types derived from the definitions', () => {
  it('keep their signatures', () => {
    const x = tensor([1, 2]);
    expectTypeOf(x.add).toEqualTypeOf<(this: Tensor, other: TensorLike, alpha?: number) => Tensor>();
    expectTypeOf(x.exp).toEqualTypeOf<() => Tensor>();
    expectTypeOf(x.sum).toEqualTypeOf<(dim?: Dims, keepdim?: boolean) => Tensor>();
    expectTypeOf(x.max).toEqualTypeOf<(dim?: Dims, keepdim?: boolean) => Tensor>();
    expectTypeOf(x.var).toEqualTypeOf<(dim?: Dims, options?: VarOptions) => Tensor>();
    expectTypeOf(x.clamp).toEqualTypeOf<(min?: number | null, max?: number | null) => Tensor>();
    expectTypeOf(x.split).returns.toEqualTypeOf<Tensor[]>();
    expectTypeOf(x.reshape).parameters.toEqualTypeOf<(number | readonly number[])[]>();
    // In-place methods return the receiver's own type, as `this` did.
    const p = new nn.Parameter(x, false);
    expectTypeOf(p.add_(1)).toEqualTypeOf<nn.Parameter>();
    expectTypeOf(p.zero_()).toEqualTypeOf<nn.Parameter>();
    expectTypeOf(p.backward).returns.toEqualTypeOf<void>();
    // Never run: the compiler must reject these calls.
    const rejected = () => [
      // @ts-expect-error exp takes no argument
      x.exp(1),
      // @ts-expect-error sum's dim is a number or a list of numbers
      x.sum('0'),
      // @ts-expect-error where's condition is a Tensor
      x.where(true, 0),
    ];
    expect(typeof rejected).toBe('function');
  });
});

describe('defineOp', () => {
  it('a SELF method is the function with the tensor first', () => {
    const x = tensor([[1, 5], [3, 2]]);
    expect(x.exp().tolist()).toEqual(exp(x).tolist());
    expect(x.sum(1, true).tolist()).toEqual(sum(x, 1, true).tolist());
    expect(x.max(0).tolist()).toEqual([3, 5]);
    expect(max).toBe(amax); // the alias is the same function
    expect(Tensor.prototype.max).not.toBe(Tensor.prototype.amax); // ...with a method of each name
  });

  it('returns the function itself, and refuses a method name defined twice', () => {
    const f = (x: Tensor): Tensor => x;
    expect(defineOp(f)).toBe(f);
    expect(() => defineOp((x: Tensor): Tensor => x, { exp: SELF })).toThrow("Tensor method 'exp' is defined twice");
    expect(() => defineMethods({ add_(this: Tensor) {} })).toThrow("Tensor method 'add_' is defined twice");
  });
});
