import { describe, expect, it } from 'vitest';
import { F, manualSeed, nn, optim, randint, randn, tensor, type Tensor } from '../../src/index.js';
import { resetWebGPUFallbacks, webgpuFallbacks } from '../../src/backend/webgpu/index.js';
import { expectClose, unavailable } from './setup.js';

/** gather / indexSelect / scatterAdd / indexAdd and embedding on the GPU against the CPU, forward and backward. */
const g = (t: Tensor): Tensor => t.to('webgpu');

describe.skipIf(unavailable !== null)('webgpu indexing kernels match the CPU', () => {
  manualSeed(21);

  it('gather and scatterAdd along each dim, an index smaller than the table and src, repeated targets', async () => {
    resetWebGPUFallbacks();
    const x = randn([4, 5, 3]);
    for (const dim of [0, 1, 2]) {
      const ishape = [3, 4, 2];
      const index = randint(0, x.shape[dim]!, ishape);
      await expectClose(g(x).gather(dim, g(index)), x.gather(dim, index), 0, 0, `gather dim ${dim}`);
      const self = randn([4, 5, 3]);
      const src = randn([4, 5, 3]);
      await expectClose(g(self).scatterAdd(dim, g(index), g(src)), self.scatterAdd(dim, index, src), 1e-6, 1e-6, `scatterAdd dim ${dim}`);
    }
    // Every element adds into one target: 64 contended float adds, and int32 exactly.
    const same = tensor(new Array(64).fill(2), { dtype: 'int32' });
    const vals = randn([64]);
    await expectClose(g(randn([5]).mul(0)).scatterAdd(0, g(same), g(vals)), randn([5]).mul(0).scatterAdd(0, same, vals), 1e-5, 1e-5);
    const ints = randint(-50, 50, [64]);
    const zi = tensor([0, 0, 0, 0, 0], { dtype: 'int32' });
    await expectClose(g(zi).scatterAdd(0, g(same), g(ints)), zi.scatterAdd(0, same, ints), 0, 0);
    await expectClose(g(ints).gather(0, g(same)), ints.gather(0, same), 0, 0);
    expect(webgpuFallbacks()).toEqual({});
  });

  it('indexSelect and indexAdd along each dim, through a transposed view, int32 too', async () => {
    resetWebGPUFallbacks();
    const x = randn([4, 6, 3]);
    for (const dim of [0, 1, 2]) {
      const index = randint(0, x.shape[dim]!, [7]);
      await expectClose(g(x).indexSelect(dim, g(index)), x.indexSelect(dim, index), 0, 0, `indexSelect dim ${dim}`);
      const srcShape = x.shape.map((s, i) => (i === dim ? 7 : s));
      const src = randn(srcShape);
      await expectClose(g(x).indexAdd(dim, g(index), g(src)), x.indexAdd(dim, index, src), 1e-6, 1e-6, `indexAdd dim ${dim}`);
    }
    const index = tensor([2, 0, 2, 1], { dtype: 'int32' });
    await expectClose(g(x).transpose(0, 2).indexSelect(1, g(index)), x.transpose(0, 2).indexSelect(1, index), 0, 0);
    const ints = randint(-9, 9, [5, 4]);
    await expectClose(g(ints).indexSelect(1, g(index)), ints.indexSelect(1, index), 0, 0);
    await expectClose(g(ints).indexAdd(1, g(index), g(ints)), ints.indexAdd(1, index, ints), 0, 0);
    expect(webgpuFallbacks()).toEqual({});
  });

  it('gradients of gather, indexSelect, scatterAdd and indexAdd', async () => {
    resetWebGPUFallbacks();
    const run = (dev: (t: Tensor) => Tensor): Tensor[] => {
      manualSeed(5);
      const x = dev(randn([4, 5])).requiresGrad_();
      const s = dev(randn([4, 5])).requiresGrad_();
      const gi = dev(randint(0, 4, [3, 5]));
      const ii = dev(tensor([4, 1, 1, 0, 4, 2], { dtype: 'int32' }));
      const src = dev(randn([4, 6])).requiresGrad_();
      const y = x.gather(0, gi).sum(0).mul(dev(randn([5])))
        .add(x.indexSelect(1, ii).sum(1).sum())
        .sum()
        .add(s.scatterAdd(0, gi, x.gather(0, gi).mul(2)).mul(dev(randn([4, 5]))).sum())
        .add(s.indexAdd(1, ii, src).square().sum());
      y.backward();
      return [y, x.grad!, s.grad!, src.grad!];
    };
    const cpu = run((t) => t);
    const gpu = run(g);
    for (let i = 0; i < cpu.length; i++) await expectClose(gpu[i]!, cpu[i]!, 1e-5, 1e-5, `result ${i}`);
    expect(webgpuFallbacks()).toEqual({});
  });

  it('embedding (with paddingIdx) forward and backward', async () => {
    resetWebGPUFallbacks();
    const w = randn([10, 4]);
    const index = tensor([[1, 3, 3], [0, 9, 1]], { dtype: 'int32' });
    const up = randn([2, 3, 4]);
    for (const pad of [null, 3]) {
      const wc = w.clone().requiresGrad_();
      const wg = g(w).requiresGrad_();
      const yc = F.embedding(index, wc, pad);
      const yg = F.embedding(g(index), wg, pad);
      await expectClose(yg, yc, 0, 0);
      yc.backward(up);
      yg.backward(g(up));
      await expectClose(wg.grad!, wc.grad!, 1e-6, 1e-6);
    }
    expect(webgpuFallbacks()).toEqual({});
  });

  it('an Embedding + Linear training step (Adam): the same parameters as on the CPU, no fallback', async () => {
    const make = (): nn.Sequential => {
      manualSeed(3);
      return new nn.Sequential(new nn.Embedding(20, 8), new nn.Flatten(), new nn.Linear(5 * 8, 4));
    };
    const cpu = make();
    const gpu = make().to('webgpu');
    const oc = new optim.Adam(cpu.parameters(), { lr: 1e-2 });
    const og = new optim.Adam(gpu.parameters(), { lr: 1e-2 });
    const x = randint(0, 20, [6, 5]);
    const y = randint(0, 4, [6]);
    const xg = g(x);
    const yg = g(y);
    for (let step = 0; step < 3; step++) {
      if (step === 1) resetWebGPUFallbacks();
      oc.zeroGrad();
      og.zeroGrad();
      F.crossEntropy(cpu.call(x), y).backward();
      F.crossEntropy(gpu.call(xg), yg).backward();
      oc.step();
      og.step();
    }
    const pc = cpu.parameters();
    const pg = gpu.parameters();
    for (let i = 0; i < pc.length; i++) await expectClose(pg[i]!, pc[i]!, 1e-4, 1e-5, `parameter ${i}`);
    expect(webgpuFallbacks()).toEqual({});
  });
});
