import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AutogradError, ShapeError, ValueError, autogradGrad, noGrad, tensor, type Tensor } from '../../src/index.js';
import { observeAllocations } from '../../src/memory/ownership.js';
import { expectClose, TOLERANCE } from './helpers.js';

/**
 * Strided views against PyTorch (test/fixtures/gen_views.py): the same small programs over
 * transpose, permute, expand, narrow, select, stepped slices, diagonal and contiguous, with
 * their values and gradients; in-place ops written through views; and saved tensors modified
 * through a view before backward, which must raise the version error.
 */

interface Enc {
  shape: number[];
  data: number[];
}
interface ViewCase {
  name: string;
  kind: 'grad' | 'inplace' | 'raises';
  inputs: Enc[];
  upstream?: Enc;
  output?: Enc;
  grads?: Enc[];
}

const cases = (
  JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'views.json'), 'utf8')) as { cases: ViewCase[] }
).cases;

const f64 = (e: Enc, requiresGrad = false): Tensor => tensor(Float64Array.from(e.data), { shape: e.shape, requiresGrad });
const encoded = (e: Enc) => ({ ...e, dtype: 'float64' as const });

type Prog = (...xs: Tensor[]) => Tensor;

/** The programs of gen_views.py's GRAD table, line for line. */
const GRAD: Record<string, Prog> = {
  t_matmul: (a, b) => a!.t().matmul(b!),
  matmul_t: (a, b) => a!.matmul(b!.t()),
  t_matmul_t: (a, b) => a!.t().matmul(b!.t()),
  batched_transpose_matmul: (a, b) => a!.transpose(1, 2).matmul(b!),
  broadcast_batch_transpose_matmul: (a, b) => a!.matmul(b!.transpose(-1, -2)),
  permuted_batch_matmul: (a, b) => a!.permute(1, 0, 2).matmul(b!),
  narrowed_matmul: (a, b) => a!.narrow(1, 1, 3).matmul(b!.narrow(0, 0, 3)),
  transpose_narrow_expand: (x, w) => x!.t().narrow(0, 1, 3).unsqueeze(0).expand(2, 3, 4).mul(w!),
  permute_select_exp: (x) => x!.permute(2, 0, 1).select(1, 1).exp(),
  slice_step_transpose: (x) => x!.slice(0, 1, 6, 2).t().mul(2),
  diagonal_above: (x) => x!.diagonal(1).sin(),
  diagonal_below: (x) => x!.diagonal(-2).mul(3),
  diagonal_batched: (x) => x!.diagonal(0, 1, 2).pow(2),
  transpose_unsqueeze_squeeze: (x) => x!.t().unsqueeze(1).squeeze(1).tanh(),
  transpose_reshape: (x) => x!.t().reshape(12).mul(x!.t().reshape(12)),
  expand_then_sum: (x) => x!.expand(3, 4).sum(0),
  contiguous_round_trip: (x) => x!.t().contiguous().view(2, 6).t(),
  view_reused_twice: (x) => x!.t().mul(x!),
};

/** gen_views.py's INPLACE table: in-place ops through views of y (a copy of input 0). */
const INPLACE: Record<string, (y: Tensor, z: Tensor) => void> = {
  inplace_narrow: (y) => {
    y.narrow(0, 1, 2).mul_(2);
    y.t().narrow(0, 0, 1).add_(1);
  },
  inplace_select_fill: (y) => {
    y.select(1, 2).fill_(7);
    y.slice(0, 0, undefined, 2).sub_(0.5);
  },
  inplace_transpose_copy: (y, z) => {
    y.t().copy_(z);
  },
  inplace_diagonal: (y, z) => {
    y.diagonal().zero_();
    y.diagonal(1).add_(z.diagonal(1));
  },
  inplace_view_of_view: (y) => {
    const v = y.t().narrow(1, 1, 2);
    v.select(0, 0).mul_(10);
    v.div_(2);
  },
};

/** gen_views.py's RAISES table: a saved tensor written through a view before backward. */
const RAISES: Record<string, Prog> = {
  saved_output_via_detached_view: (x) => {
    const y = x!.exp();
    y.detach().narrow(0, 0, 1).mul_(2);
    return y;
  },
  saved_input_via_transposed_view: (x) => {
    const y = x!.mul(x!);
    x!.detach().t().narrow(0, 1, 1).mul_(3);
    return y;
  },
  saved_view_input_via_base: (x) => {
    const base = x!.mul(1);
    const y = base.t().mul(2).add(base.t().sin());
    base.detach().select(0, 0).add_(1);
    return y;
  },
};

describe('strided views against PyTorch (gen_views.py)', () => {
  it('every fixture case has its program here, and every program a case', () => {
    const programs = { ...GRAD, ...INPLACE, ...RAISES };
    expect(cases.map((c) => c.name).sort()).toEqual(Object.keys(programs).sort());
  });

  for (const c of cases) {
    it(`${c.kind}: ${c.name}`, () => {
      if (c.kind === 'grad') {
        const xs = c.inputs.map((e) => f64(e, true));
        const out = GRAD[c.name]!(...xs);
        expectClose(out, encoded(c.output!), TOLERANCE.float64, 'output');
        out.backward(f64(c.upstream!));
        xs.forEach((x, i) => expectClose(x.grad!, encoded(c.grads![i]!), TOLERANCE.float64, `gradient of input ${i}`));
      } else if (c.kind === 'inplace') {
        const y = f64(c.inputs[0]!);
        const z = f64(c.inputs[1]!);
        INPLACE[c.name]!(y, z);
        expect(y.isContiguous()).toBe(true);
        expectClose(y, encoded(c.output!), TOLERANCE.float64, 'after the in-place ops');
      } else {
        const x = f64(c.inputs[0]!, true);
        const y = RAISES[c.name]!(x);
        expect(() => y.sum().backward()).toThrow(AutogradError);
        expect(() => RAISES[c.name]!(f64(c.inputs[0]!, true)).sum().backward()).toThrow(/modified in place/);
      }
    });
  }
});

describe('views share storage', () => {
  const base = () => tensor([[1, 2, 3], [4, 5, 6]]);

  it('transpose, permute, expand, narrow, select, diagonal, unsqueeze and view share the input storage', () => {
    const x = base();
    const views = [
      x.t(), x.transpose(0, 1), x.permute(1, 0), x.unsqueeze(0).expand(4, 2, 3), x.narrow(1, 1, 2), x.select(1, 0),
      x.diagonal(), x.unsqueeze(1), x.view(3, 2), x.slice(1, 0, 3, 2), x.t().unsqueeze(0).squeeze(0),
    ];
    for (const v of views) expect(v.storage).toBe(x.storage);
    expect(x.t().stride()).toEqual([1, 3]);
    expect(x.t().isContiguous()).toBe(false);
    expect(x.narrow(0, 1, 1).storageOffset()).toBe(3);
    expect(x.narrow(0, 1, 1).isContiguous()).toBe(true);
    expect(x.unsqueeze(0).expand(4, 2, 3).stride()).toEqual([0, 3, 1]);
    expect(x.diagonal().stride()).toEqual([4]);
  });

  it('a write to the base shows in its views, and a write through a view shows in the base', () => {
    const x = base();
    const t = x.t();
    x.select(0, 1).fill_(0);
    expect(t.toArray()).toEqual([[1, 0], [2, 0], [3, 0]]);
    x.narrow(0, 0, 1).mul_(2);
    expect(x.toArray()).toEqual([[2, 4, 6], [0, 0, 0]]);
    t.select(0, 2).add_(1);
    expect(x.toArray()).toEqual([[2, 4, 7], [0, 0, 1]]);
  });

  it('one version counter per storage: a write through any view bumps it for all', () => {
    const x = base();
    const v = x.t();
    const d = x.detach();
    v.narrow(0, 0, 1).mul_(3);
    expect(x.version).toBe(1);
    expect(v.version).toBe(1);
    expect(d.version).toBe(1);
    expect(tensor([1]).version).toBe(0);
  });

  it('contiguous() of a view copies it row-major; of a contiguous tensor it is the tensor itself', () => {
    const x = base();
    const c = x.t().contiguous();
    expect(c.isContiguous()).toBe(true);
    expect(c.storage).not.toBe(x.storage);
    expect(Array.from(c.typedData)).toEqual([1, 4, 2, 5, 3, 6]);
    expect(x.contiguous()).toBe(x);
    expect(c.t().contiguous().toArray()).toEqual(x.toArray());
  });

  it('reshape of a view that strides cannot express copies; view() refuses with a message', () => {
    const x = base();
    const r = x.t().reshape(6);
    expect(r.storage).not.toBe(x.storage);
    expect(r.tolist()).toEqual([1, 4, 2, 5, 3, 6]);
    expect(() => x.t().view(6)).toThrow(ShapeError);
    expect(() => x.t().view(6)).toThrow(/cannot be viewed as \[6\] without copying.*use reshape\(\)/);
    // Splitting a dim of a transposed view is expressible: a view.
    expect(x.t().view(3, 2, 1).storage).toBe(x.storage);
  });

  it('.typedData of a strided view is refused with a message naming the way out; dataSync() and toArray() read it', () => {
    const x = base();
    expect(() => x.t().typedData).toThrow(ValueError);
    expect(() => x.t().typedData).toThrow(/strided view.*contiguous\(\)\.typedData/);
    expect(Array.from(x.t().dataSync())).toEqual([1, 4, 2, 5, 3, 6]);
    expect(x.t().item === undefined).toBe(false);
    expect(x.t().select(0, 1).select(0, 1).item()).toBe(5);
    expect(x.t().toString()).toBe(tensor([[1, 4], [2, 5], [3, 6]]).toString());
  });

  it('writing through an expanded view is refused (several elements share one memory location)', () => {
    const x = tensor([1, 2, 3]);
    expect(() => noGrad(() => x.expand(2, 3).mul_(2))).toThrow(/more than one element of the written-to tensor/);
    expect(x.tolist()).toEqual([1, 2, 3]);
  });
});

describe('matmul of transposed views: gemm flags, no copy', () => {
  /** Float buffers of 16 KB or more allocated while fn runs (the allocator's watcher sees those). */
  function bigAllocations(fn: () => void): number[] {
    const sizes: number[] = [];
    const prev = observeAllocations((b) => sizes.push(b.byteLength));
    try {
      fn();
    } finally {
      observeAllocations(prev);
    }
    return sizes;
  }

  it('x.t().matmul(y) allocates only its output, where a copied transpose would allocate x again', () => {
    const x = tensor(Float32Array.from({ length: 128 * 64 }, (_, i) => Math.sin(i)), { shape: [128, 64] });
    const y = tensor(Float32Array.from({ length: 128 * 96 }, (_, i) => Math.cos(i)), { shape: [128, 96] });
    const viaView = bigAllocations(() => x.t().matmul(y));
    expect(viaView).toEqual([64 * 96 * 4]);
    // The same product with a transposed copy allocates that copy (which is what the count would catch).
    const viaCopy = bigAllocations(() => x.t().contiguous().matmul(y));
    expect(viaCopy).toEqual([64 * 128 * 4, 64 * 96 * 4]);
    const a = x.t().matmul(y).dataSync();
    const b = x.t().contiguous().matmul(y).dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
  });

  it('the backward of x.t().matmul(y) allocates no transposed copy of x, y or the gradient', () => {
    const x = tensor(Float32Array.from({ length: 128 * 64 }, (_, i) => Math.sin(i)), { shape: [128, 64], requiresGrad: true });
    const y = tensor(Float32Array.from({ length: 128 * 96 }, (_, i) => Math.cos(i)), { shape: [128, 96], requiresGrad: true });
    const g = tensor(Float32Array.from({ length: 64 * 96 }, (_, i) => Math.sin(3 * i)), { shape: [64, 96] });
    let grads: (Tensor | null)[] = [];
    const out = x.t().matmul(y);
    const sizes = bigAllocations(() => (grads = autogradGrad(out, [x, y], { gradOutputs: [g] })));
    // One product for each input's gradient, nothing else of 16 KB or more.
    expect(sizes.sort((p, q) => p - q)).toEqual([128 * 64 * 4, 128 * 96 * 4]);
    expect(grads[0]!.isContiguous()).toBe(true);
    x.t().matmul(y).backward(g);
    // Values: the float64 product of materialised transposes, to float32 accuracy.
    const x64 = x.detach().double().t().contiguous();
    const y64 = y.detach().double();
    const g64 = g.double();
    const close = (actual: Tensor, want: Tensor) =>
      expectClose(actual, { shape: [...want.shape], dtype: 'float32', data: Array.from(want.dataSync()) }, TOLERANCE.float32, 'gradient');
    close(x.grad!, y64.matmul(g64.t().contiguous()));
    close(y.grad!, x64.t().contiguous().matmul(g64));
  });
});
