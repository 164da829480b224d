import { describe, expect, it } from 'vitest';
import {
  DTypeError, IndexError, ShapeError, ValueError, cat, stack, sub, tensor, where, zeros, type Tensor,
} from '../../src/index.js';

/** Error messages name the op and the shapes (or dims, indices, dtypes) involved. */

const z = (...shape: number[]) => zeros(shape);
const idx = (values: number[], shape = [values.length]) => tensor(Int32Array.from(values), { shape });

/** The call throws `type` with exactly `message`. */
function throwsExactly(fn: () => unknown, type: new (m: string) => Error, message: string): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(type);
  expect((error as Error).message).toBe(message);
}

describe('matmul', () => {
  it('names both shapes and the inner dimensions that differ', () => {
    throwsExactly(() => z(2, 3).matmul(z(4, 5)), ShapeError, 'matmul: [2,3] @ [4,5]: inner dimensions 3 and 4 differ');
    throwsExactly(() => z(3).matmul(z(4)), ShapeError, 'matmul: [3] @ [4]: inner dimensions 3 and 4 differ');
    throwsExactly(() => z(2, 5, 3).matmul(z(2)), ShapeError, 'matmul: [2,5,3] @ [2]: inner dimensions 3 and 2 differ');
  });

  it('batch dims that do not broadcast, 0-d operands, integer operands', () => {
    expect(() => z(2, 3, 4).matmul(z(3, 4, 5))).toThrow(/matmul \(batch dims\): shapes \[2\] and \[3\] cannot be broadcast/);
    expect(() => tensor(1).matmul(z(2))).toThrow(new ShapeError('matmul: both arguments need at least 1 dim, got [] @ [2]'));
    const i = zeros([2, 2], { dtype: 'int32' });
    expect(() => i.matmul(i)).toThrow(new DTypeError('matmul: needs floating-point tensors, got int32 @ int32'));
  });
});

describe('broadcasting', () => {
  it.each([
    ['add', () => z(2, 3).add(z(4)), 'add: shapes [2,3] and [4] cannot be broadcast: dim 1 (from the right: 1) is 3 against 4'],
    ['mul', () => z(2, 3, 4).mul(z(3, 3)), 'mul: shapes [2,3,4] and [3,3] cannot be broadcast: dim 2 (from the right: 1) is 4 against 3'],
    ['sub', () => sub(z(5, 1), z(2, 7)), 'sub: shapes [5,1] and [2,7] cannot be broadcast: dim 0 (from the right: 2) is 5 against 2'],
    ['where', () => where(z(2).gt(0), z(3), 1), 'where: shapes [2] and [3] cannot be broadcast: dim 0 (from the right: 1) is 2 against 3'],
  ] as const)('%s names the op, both shapes and the dim', (_, fn, message) => throwsExactly(fn, ShapeError, message));

  it('expand names the dim, the sizes and both shapes', () => {
    throwsExactly(() => z(2, 3).expand(4, 3, 3), ShapeError, 'expand: the size of dim 0 (2) must match the target 3 or be 1; tensor [2,3] to [4,3,3]');
  });
});

describe('shape mismatches', () => {
  it('cat, stack, reshape, split, permute', () => {
    throwsExactly(() => cat([z(2, 3), z(3, 3)], 1), ShapeError, "cat: tensor 1 has shape [3,3], which does not match tensor 0's [2,3] outside dim 1");
    throwsExactly(() => stack([z(2), z(3)]), ShapeError, 'stack: tensor 1 has shape [3], but tensor 0 has [2]; all must be equal');
    throwsExactly(() => z(2, 3).reshape(4, 2), ShapeError, 'reshape: shape [4,2] is invalid for input of shape [2,3] (6 elements)');
    throwsExactly(() => z(2, 3).view(-1, -1), ShapeError, 'view: only one dim can be -1, got [-1,-1]');
    throwsExactly(() => z(5).split([2, 2]), ShapeError, 'split: sizes [2,2] add up to 4, but dim 0 has size 5');
    throwsExactly(() => z(2, 3).permute(0), ShapeError, 'permute: got 1 dims [0] for a tensor of shape [2,3] (2 dims)');
    throwsExactly(() => z(2, 3).gather(0, idx([0, 1])), ShapeError, 'gather: index has 1 dims (shape [2]) but the tensor has 2 (shape [2,3])');
    throwsExactly(() => z(2, 3).indexSelect(0, idx([0, 1], [1, 2])), ShapeError, 'indexSelect: index must be 0-D or 1-D, got shape [1,2]');
  });

  it('0-d tensors where a dim to pick along is needed', () => {
    throwsExactly(() => cat([tensor(1), tensor(2)]), ShapeError, 'cat: tensor 0 is 0-d and cannot be concatenated; stack() or unsqueeze() it first');
    for (const [op, fn] of [
      ['select', (t: Tensor) => t.select(0, 0)],
      ['narrow', (t: Tensor) => t.narrow(0, 0, 1)],
      ['slice', (t: Tensor) => t.slice(0, 0, 1)],
      ['split', (t: Tensor) => t.split(1)],
      ['chunk', (t: Tensor) => t.chunk(1)],
    ] as const) {
      throwsExactly(() => fn(tensor(1)), IndexError, `${op}: cannot be applied to a 0-d tensor`);
    }
  });
});

describe('dims out of range say the valid range', () => {
  it.each([
    ['sum', () => z(2, 3).sum(5), 'sum: dim 5 is out of range for a tensor with 2 dims (valid: -2 to 1)'],
    ['softmax', () => z(2, 3).softmax(-3), 'softmax: dim -3 is out of range for a tensor with 2 dims (valid: -2 to 1)'],
    ['transpose', () => z(2, 3).transpose(0, 2), 'transpose: dim 2 is out of range for a tensor with 2 dims (valid: -2 to 1)'],
    ['unsqueeze', () => z(2, 3).unsqueeze(4), 'unsqueeze: dim 4 is out of range for a tensor with 3 dims (valid: -3 to 2)'],
    ['cat', () => cat([z(2, 3), z(2, 3)], 2), 'cat: dim 2 is out of range for a tensor with 2 dims (valid: -2 to 1)'],
    ['squeeze', () => z(2, 3).squeeze(3), 'squeeze: dim 3 is out of range for a tensor with 2 dims (valid: -2 to 1)'],
    ['argmax', () => z(2, 3).argmax(2), 'argmax: dim 2 is out of range for a tensor with 2 dims (valid: -2 to 1)'],
    ['gather', () => z(2, 3).gather(2, idx([0], [1, 1])), 'gather: dim 2 is out of range for a tensor with 2 dims (valid: -2 to 1)'],
    ['sum of 0-d', () => tensor(2).sum(1), 'sum: dim 1 is out of range for a tensor with 0 dims (valid: -1 to 0)'],
  ] as const)('%s', (_, fn, message) => throwsExactly(fn, IndexError, message));

  it('a repeated dim is refused', () => {
    throwsExactly(() => z(2, 3).sum([0, -2]), IndexError, 'sum: dim list [0,-2] repeats a dim');
    throwsExactly(() => z(2, 3).permute(0, 0), IndexError, 'permute: dims [0,0] repeat a dim');
  });
});

describe('indices out of range', () => {
  it.each([
    ['gather', () => z(2, 3).gather(1, idx([0, 3], [2, 1])), 'gather: index 3 (at position 1) is out of range for dim 1 of size 3 (valid: 0 to 2)'],
    ['gather (negative)', () => z(2, 3).gather(1, idx([-1, 0], [2, 1])), 'gather: index -1 (at position 0) is out of range for dim 1 of size 3 (valid: 0 to 2)'],
    ['indexSelect', () => z(2, 3).indexSelect(0, idx([0, 2])), 'indexSelect: index 2 (at position 1) is out of range for dim 0 of size 2 (valid: 0 to 1)'],
    ['scatterAdd', () => z(2, 3).scatterAdd(0, idx([0, 5], [1, 2]), z(1, 2)), 'scatterAdd: index 5 (at position 1) is out of range for dim 0 of size 2 (valid: 0 to 1)'],
    ['select', () => z(2, 3).select(1, 3), 'select: index 3 is out of range for dim 1 of size 3 (valid: -3 to 2)'],
    ['select (negative)', () => z(2, 3).select(1, -4), 'select: index -4 is out of range for dim 1 of size 3 (valid: -3 to 2)'],
    ['narrow', () => z(2, 3).narrow(1, 2, 2), 'narrow: start 2 and length 2 go outside dim 1 of size 3 (shape [2,3])'],
  ] as const)('%s', (_, fn, message) => throwsExactly(fn, IndexError, message));

  it('index tensors must be int32', () => {
    throwsExactly(() => z(2, 3).gather(1, z(2, 1)), DTypeError, 'gather: index must be an int32 tensor, got float32');
  });
});

describe('dtype rules', () => {
  const i32 = zeros([2], { dtype: 'int32' });
  const f64 = zeros([2], { dtype: 'float64' });

  it('float32 with float64 promotes to float64', () => {
    expect(z(2).add(f64).dtype).toBe('float64');
    expect(f64.mul(z(2)).dtype).toBe('float64');
    expect(cat([z(1), zeros([1], { dtype: 'float64' })]).dtype).toBe('float64');
  });

  it('a number only lifts the category: int32 + 1.5 is float32, int32 + 2 stays int32, float64 · 1.5 stays float64', () => {
    expect(i32.add(1.5).dtype).toBe('float32');
    expect(sub(1.5, i32).dtype).toBe('float32');
    expect(i32.add(2).dtype).toBe('int32');
    expect(f64.mul(1.5).dtype).toBe('float64');
    expect(i32.add(z(2)).dtype).toBe('float32');
  });

  it('true division and float functions of int32 give float32', () => {
    expect(i32.div(2).dtype).toBe('float32');
    expect(i32.exp().dtype).toBe('float32');
    expect(tensor([2], { dtype: 'int32' }).pow(-1).tolist()).toEqual([0.5]);
  });

  it('requiresGrad on an int32 tensor is refused, naming the dtype', () => {
    const message = 'requiresGrad: only floating-point tensors can require gradients, got dtype int32';
    throwsExactly(() => tensor([1, 2], { dtype: 'int32', requiresGrad: true }), DTypeError, message);
    throwsExactly(() => zeros([2], { dtype: 'int32' }).requiresGrad_(), DTypeError, message);
    expect(() => tensor([true]).requiresGrad_()).toThrow(DTypeError);
  });

  it('mean of an int32 tensor asks for a conversion', () => {
    throwsExactly(() => i32.mean(), DTypeError, 'mean: needs a floating-point tensor, got int32; convert with .float() first');
  });
});

describe('tensor() of bad data', () => {
  it('ragged arrays say where and what was expected', () => {
    throwsExactly(() => tensor([[1, 2], [3]]), ValueError, 'tensor: ragged nested array: expected 2 elements at [1] (dim 1), got 1');
    throwsExactly(() => tensor([[1, 2], 3] as unknown as number[][]), ValueError, 'tensor: ragged nested array: expected 2 elements at [1] (dim 1), got number');
    throwsExactly(() => tensor([[[1], [2]], [[3], [4, 5]]]), ValueError, 'tensor: ragged nested array: expected 1 elements at [1][1] (dim 2), got 2');
  });

  it('values that are not numbers', () => {
    throwsExactly(() => tensor([[1, 2], [3, [4]]] as unknown as number[][]), ValueError, 'tensor: expected a number at [1][1], got an array');
  });
});

describe('arguments', () => {
  it('clamp bounds, slice steps, split and chunk sizes', () => {
    throwsExactly(() => z(2).clamp(2, 1), ValueError, 'clamp: min 2 is greater than max 1');
    throwsExactly(() => z(2).clamp(), ValueError, 'clamp: at least one of min and max must be given');
    throwsExactly(() => z(4).slice(0, 0, 4, 0), ValueError, 'slice: step must be a positive integer, got 0');
    throwsExactly(() => z(4).split(0), ValueError, 'split: split size must be a positive integer, got 0');
    throwsExactly(() => z(4).chunk(0), ValueError, 'chunk: chunks must be a positive integer, got 0');
  });

  it('reductions over an empty dim', () => {
    throwsExactly(() => z(0, 3).max(0), ShapeError, 'max: cannot reduce over dim 0 of size 0 (shape [0,3])');
  });
});
