import { describe, expect, it } from 'vitest';
import { DeviceError, F, manualSeed, where, randn, rand, randint, tensor, type Tensor } from '../../src/index.js';
import { resetWebGPUFallbacks, webgpuFallbacks } from '../../src/backend/webgpu/index.js';
import { expectClose, unavailable } from './setup.js';

/**
 * Each WebGPU kernel against the CPU backend on small random tensors (SwiftShader is slow: the
 * sizes stay small but cross the kernels' tile and workgroup edges).
 */
const g = (t: Tensor): Tensor => t.to('webgpu');

describe.skipIf(unavailable !== null)('webgpu kernels match the CPU', () => {
  manualSeed(7);

  it('unary ops from the table, contiguous and through a transposed view', async () => {
    resetWebGPUFallbacks();
    const x = randn([5, 7]);
    const pos = rand([5, 7]).add(0.1);
    const small = randn([5, 7]).mul(1e-3);
    for (const op of ['neg', 'exp', 'abs', 'sin', 'cos', 'tanh', 'sigmoid', 'relu', 'expm1', 'square', 'reciprocal'] as const) {
      const f = (t: Tensor): Tensor => (t as unknown as Record<string, () => Tensor>)[op]!.call(t);
      await expectClose(f(g(x)), f(x), 1e-5, 1e-6, op);
      await expectClose(f(g(x).t()), f(x.t()));
    }
    for (const op of ['log', 'sqrt', 'log1p'] as const) {
      const f = (t: Tensor): Tensor => (t as unknown as Record<string, () => Tensor>)[op]!.call(t);
      await expectClose(f(g(pos)), f(pos), 1e-5, 1e-6, op);
    }
    await expectClose(g(small).log1p(), small.log1p());
    await expectClose(g(small).expm1(), small.expm1());
    await expectClose(g(x.mul(20)).tanh(), x.mul(20).tanh());
    expect(webgpuFallbacks()).toEqual({});
  });

  it('NaN propagates through max, min, maximum, softmax and compares as on the CPU', async () => {
    resetWebGPUFallbacks();
    const x = tensor([[1, NaN, 3], [4, 5, 6]]);
    const y = tensor([[2, 2, 2], [NaN, 9, 0]]);
    await expectClose(g(x).amax(1), x.amax(1));
    await expectClose(g(x).amin(1), x.amin(1));
    await expectClose(g(x).max(), x.max());
    await expectClose(g(x).maximum(g(y)), x.maximum(y));
    await expectClose(g(x).minimum(g(y)), x.minimum(y));
    await expectClose(g(x).softmax(1), x.softmax(1));
    for (const op of ['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const) {
      const f = (a: Tensor, b: Tensor): Tensor => (a as unknown as Record<string, (o: Tensor) => Tensor>)[op]!.call(a, b);
      await expectClose(f(g(x), g(y)), f(x, y), 0, 0, op);
      await expectClose(f(g(x), g(x)), f(x, x), 0, 0, op);
    }
    expect(webgpuFallbacks()).toEqual({});
  });

  it('conv2d, its two gradients, max and avg pooling, with stride, padding and dilation', async () => {
    resetWebGPUFallbacks();
    const cases = [
      { x: [2, 3, 9, 8], w: [4, 3, 3, 3], opts: { padding: 1 }, pool: { kernelSize: 2 } },
      { x: [1, 2, 11, 10], w: [3, 2, 3, 2], opts: { stride: [2, 1] as [number, number], padding: [1, 0] as [number, number], dilation: [1, 2] as [number, number] }, pool: { kernelSize: 3, stride: 2, padding: 1 } },
    ];
    for (const { x: xs, w: ws, opts, pool } of cases) {
      const x = randn(xs, { requiresGrad: true });
      const w = randn(ws, { requiresGrad: true });
      const b = randn([ws[0]!], { requiresGrad: true });
      const xg = x.detach().to('webgpu').requiresGrad_(true);
      const wg = w.detach().to('webgpu').requiresGrad_(true);
      const bg = b.detach().to('webgpu').requiresGrad_(true);
      const run = (xi: Tensor, wi: Tensor, bi: Tensor): [Tensor, Tensor] => {
        const y = F.relu(F.conv2d(xi, wi, bi, opts));
        return [y, F.maxPool2d(y, pool.kernelSize, pool).add(F.avgPool2d(y, pool.kernelSize, pool))];
      };
      const [yc, pc] = run(x, w, b);
      const [yg, pg] = run(xg, wg, bg);
      await expectClose(yg, yc, 1e-5, 1e-5, 'conv2d');
      await expectClose(pg, pc, 1e-5, 1e-5, 'pooling');
      const up = randn(pc.shape);
      pc.backward(up);
      pg.backward(up.to('webgpu'));
      await expectClose(xg.grad!, x.grad!, 1e-4, 1e-5, 'input gradient');
      await expectClose(wg.grad!, w.grad!, 1e-4, 1e-5, 'weight gradient');
      await expectClose(bg.grad!, b.grad!, 1e-4, 1e-5, 'bias gradient');
    }
    // A NaN wins its window, as on the CPU (PyTorch's scan).
    const z = randn([1, 1, 4, 4]);
    z.writeRowMajor('test', Float32Array.from(z.dataSync(), (v, i) => (i === 5 ? NaN : v)));
    await expectClose(F.maxPool2d(g(z), 2), F.maxPool2d(z, 2));
    expect(webgpuFallbacks()).toEqual({});
  });

  it('binary ops with broadcasting and strided operands', async () => {
    resetWebGPUFallbacks();
    const a = randn([3, 1, 4]);
    const b = randn([2, 4]);
    const pos = rand([3, 1, 4]).add(0.5);
    for (const op of ['add', 'sub', 'mul', 'div', 'maximum', 'minimum'] as const) {
      const f = (x: Tensor, y: Tensor): Tensor => (x as unknown as Record<string, (o: Tensor) => Tensor>)[op]!.call(x, y);
      await expectClose(f(g(a), g(b)), f(a, b));
      await expectClose(f(g(b).t(), g(a).transpose(1, 2)), f(b.t(), a.transpose(1, 2)));
    }
    await expectClose(g(pos).pow(g(b)), pos.pow(b));
    await expectClose(g(a).pow(2), a.pow(2));
    await expectClose(g(a).pow(3), a.pow(3));
    await expectClose(g(a).add(2.5).mul(-1), a.add(2.5).mul(-1));
    await expectClose(g(a).clamp(-0.5, 0.5), a.clamp(-0.5, 0.5));
    const i = randint(-5, 5, [4, 3]);
    const j = randint(-5, 5, [3]);
    await expectClose(g(i).add(g(j)), i.add(j));
    await expectClose(g(i).mul(g(j)), i.mul(j));
    await expectClose(g(i).maximum(g(j)), i.maximum(j));
    expect(webgpuFallbacks()).toEqual({});
  });

  it('comparisons, where and casts', async () => {
    const a = randn([4, 5]);
    const b = randn([5]);
    for (const op of ['gt', 'ge', 'lt', 'le', 'eq', 'ne'] as const) {
      const f = (x: Tensor, y: Tensor | number): Tensor => (x as unknown as Record<string, (o: Tensor | number) => Tensor>)[op]!.call(x, y);
      await expectClose(f(g(a), g(b)), f(a, b));
      await expectClose(f(g(a), 0), f(a, 0));
    }
    const cond = a.gt(0);
    await expectClose(F.relu(g(a)), F.relu(a));
    await expectClose(where(g(cond), g(a), g(b)), where(cond, a, b));
    await expectClose(g(a.mul(3)).to('int32'), a.mul(3).to('int32'));
    await expectClose(g(a).to('bool'), a.to('bool'));
    await expectClose(g(cond).to('float32'), cond.to('float32'));
    const ints = randint(-3, 3, [6]);
    await expectClose(g(ints).to('float32').mul(0.5), ints.to('float32').mul(0.5));
  });

  it('matmul: every transpose layout, sizes off the 32×32 tile, batched and broadcast', async () => {
    resetWebGPUFallbacks();
    const a = randn([37, 45]);
    const b = randn([45, 29]);
    await expectClose(g(a).matmul(g(b)), a.matmul(b), 1e-5, 1e-5);
    await expectClose(g(a.t().contiguous()).t().matmul(g(b)), a.matmul(b), 1e-5, 1e-5);
    await expectClose(g(a).matmul(g(b.t().contiguous()).t()), a.matmul(b), 1e-5, 1e-5);
    await expectClose(g(b).t().matmul(g(a).t()), b.t().matmul(a.t()), 1e-5, 1e-5);
    const x = randn([2, 3, 5]);
    const y = randn([5, 4]);
    await expectClose(g(x).matmul(g(y)), x.matmul(y), 1e-5, 1e-5);
    const p = randn([2, 1, 3, 5]);
    const q = randn([4, 5, 6]);
    await expectClose(g(p).matmul(g(q)), p.matmul(q), 1e-5, 1e-5);
    // a matrix neither row- nor column-major (a narrowed one) is copied first
    await expectClose(g(a).narrow(1, 3, 20).matmul(g(b).narrow(0, 5, 20)), a.narrow(1, 3, 20).matmul(b.narrow(0, 5, 20)), 1e-5, 1e-5);
    const w = randn([6, 45]);
    const bias = randn([6]);
    await expectClose(F.linear(g(a), g(w), g(bias)), F.linear(a, w, bias), 1e-5, 1e-5);
    await expectClose(F.linear(g(a), g(w)), F.linear(a, w), 1e-5, 1e-5);
    expect(webgpuFallbacks()).toEqual({});
  });

  it('sum, mean, amax, amin over any dims; softmax and logSoftmax', async () => {
    resetWebGPUFallbacks();
    const x = randn([3, 70, 5]);
    for (const dims of [[0], [1], [2], [0, 2], [0, 1, 2], [1, 2]]) {
      for (const keepdim of [false, true]) {
        await expectClose(g(x).sum(dims, keepdim), x.sum(dims, keepdim), 1e-5, 1e-5);
        await expectClose(g(x).mean(dims, keepdim), x.mean(dims, keepdim), 1e-5, 1e-6);
        await expectClose(g(x).amax(dims, keepdim), x.amax(dims, keepdim));
        await expectClose(g(x).amin(dims, keepdim), x.amin(dims, keepdim));
      }
    }
    await expectClose(g(x).sum(), x.sum(), 1e-5, 1e-5);
    await expectClose(g(x).transpose(0, 2).sum(1), x.transpose(0, 2).sum(1), 1e-5, 1e-5);
    const i = randint(-100, 100, [4, 6]);
    await expectClose(g(i).sum(1), i.sum(1));
    for (const dim of [0, 1, 2]) {
      await expectClose(g(x).softmax(dim), x.softmax(dim));
      await expectClose(g(x).logSoftmax(dim), x.logSoftmax(dim), 1e-5, 1e-5);
    }
    expect(webgpuFallbacks()).toEqual({});
  });

  it('crossEntropy (mean, sum, none; ignored targets) and its gradient', async () => {
    resetWebGPUFallbacks();
    const x = randn([6, 10]);
    const t = tensor([1, 0, 9, 3, 3, 7], { dtype: 'int32' });
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      await expectClose(F.crossEntropy(g(x), g(t), { reduction }), F.crossEntropy(x, t, { reduction }), 1e-5, 1e-6);
    }
    const ignored = tensor([1, -100, 9, 3, -100, 7], { dtype: 'int32' });
    await expectClose(F.crossEntropy(g(x), g(ignored)), F.crossEntropy(x, ignored), 1e-5, 1e-6);
    const xc = x.clone().requiresGrad_();
    const xg = g(x).requiresGrad_();
    F.crossEntropy(xc, t).backward();
    F.crossEntropy(xg, g(t)).backward();
    await expectClose(xg.grad!, xc.grad!, 1e-5, 1e-7);
    expect(webgpuFallbacks()).toEqual({});
  });
});

describe.skipIf(unavailable !== null)('webgpu ops without a kernel', () => {
  it('run through the host on uploaded values, and are counted', async () => {
    resetWebGPUFallbacks();
    const x = randn([4, 5]);
    await expectClose(g(x).cumsum(1), x.cumsum(1));
    await expectClose(g(x).erf(), x.erf());
    expect(webgpuFallbacks()).toEqual({ cumsum: 1, erf: 1 });
  });

  it('on values that exist only in GPU memory: an error naming the op and the async read', () => {
    const x = g(randn([4, 5])).mul(2);
    expect(() => x.cumsum(1)).toThrow(DeviceError);
    expect(() => x.cumsum(1)).toThrow(/cumsum: has no webgpu kernel.*await x\.cpuAsync\(\)/);
  });
});
