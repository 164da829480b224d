import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { arange, tensor, zeros, type DType } from '../../src/index.js';
import { decode } from '../ops/helpers.js';

/**
 * toString prints as PyTorch's repr: stored reprs from PyTorch 1.13 (test/fixtures/gen_ops.py
 * writes test/fixtures/format.json), with chainrule's spelling of the suffixes: `dtype=float64`
 * for `dtype=torch.float64`, `size=[2, 0]` for `size=(2, 0)`.
 */
interface PrintCase {
  shape: number[];
  dtype: DType;
  data: (number | string)[];
  repr: string;
}

const file = new URL('../fixtures/format.json', import.meta.url);
const cases = (JSON.parse(readFileSync(file, 'utf8')) as { cases: PrintCase[] }).cases;

const ours = (torchRepr: string) =>
  torchRepr.replace(/dtype=torch\./g, 'dtype=').replace(/size=\(([^)]*)\)/, (_, dims: string) => `size=[${dims}]`);

describe('toString matches PyTorch repr', () => {
  it.each(cases.map((c) => [`${c.dtype} [${c.shape.join(',')}] ${c.repr.slice(0, 40).replace(/\n/g, ' ')}`, c] as const))(
    '%s',
    (_, c) => {
      expect(decode(c).toString()).toBe(ours(c.repr));
    },
  );
});

describe('toString examples', () => {
  it('integers print as `1.`, others with 4 decimals, rows indented under `tensor(`', () => {
    expect(tensor([1, 2, 3]).toString()).toBe('tensor([1., 2., 3.])');
    expect(tensor([[1.5, 2], [3, 4]]).toString()).toBe('tensor([[1.5000, 2.0000],\n        [3.0000, 4.0000]])');
    expect(tensor(3.5).toString()).toBe('tensor(3.5000)');
  });

  it('switches to scientific notation when magnitudes span more than 1000', () => {
    expect(tensor([0.5, 100]).toString()).toBe('tensor([  0.5000, 100.0000])');
    expect(tensor([0.5, 1000]).toString()).toBe('tensor([5.0000e-01, 1.0000e+03])');
    expect(tensor([1, 2000]).toString()).toBe('tensor([1.0000e+00, 2.0000e+03])');
  });

  it('int32 and bool tensors', () => {
    expect(tensor([1, -20, 3], { dtype: 'int32' }).toString()).toBe('tensor([  1, -20,   3], dtype=int32)');
    expect(arange(3).toString()).toBe('tensor([0, 1, 2], dtype=int32)');
    expect(tensor([true, false]).toString()).toBe('tensor([ True, False])');
  });

  it('requiresGrad and gradFn suffixes', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    expect(x.toString()).toBe('tensor([1., 2.], requiresGrad=true)');
    expect(x.mul(2).toString()).toBe('tensor([2., 4.], gradFn=<MulBackward>)');
    const d = tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    expect(d.toString()).toBe('tensor([1., 2.], dtype=float64, requiresGrad=true)');
    expect(x.detach().toString()).toBe('tensor([1., 2.])');
  });

  it('empty tensors show their size unless 1-D', () => {
    expect(zeros([0]).toString()).toBe('tensor([])');
    expect(zeros([3, 0]).toString()).toBe('tensor([], size=[3, 0])');
  });

  it('String(t) and template literals use the same text', () => {
    const t = tensor([1, 2]);
    expect(`${t}`).toBe(t.toString());
  });
});
