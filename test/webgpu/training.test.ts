import { describe, expect, it } from 'vitest';
import { AutogradError, DeviceError, F, getDefaultDevice, manualSeed, nn, optim, randint, randn, setDefaultDevice, tensor, zeros, zerosLike, type Tensor } from '../../src/index.js';
import { resetWebGPUFallbacks, webgpuFallbacks, webgpuMemory } from '../../src/backend/webgpu/index.js';
import { expectClose, unavailable } from './setup.js';

/** The same small MLP twice from one seed: one stays on the CPU, one goes to the GPU. */
function pair(sizes: number[]): [nn.Sequential, nn.Sequential] {
  const make = (): nn.Sequential => {
    manualSeed(11);
    const layers: nn.Module[] = [];
    for (let i = 0; i + 1 < sizes.length; i++) {
      layers.push(new nn.Linear(sizes[i]!, sizes[i + 1]!));
      if (i + 2 < sizes.length) layers.push(new nn.ReLU());
    }
    return new nn.Sequential(...layers);
  };
  return [make(), make().to('webgpu')];
}

async function sameGrads(cpu: nn.Sequential, gpu: nn.Sequential): Promise<void> {
  const a = cpu.parameters();
  const b = gpu.parameters();
  expect(b.length).toBe(a.length);
  for (let i = 0; i < a.length; i++) {
    expect(b[i]!.device).toBe('webgpu');
    await expectClose(b[i]!.grad!, a[i]!.grad!, 1e-5, 1e-5);
  }
}

describe.skipIf(unavailable !== null)('autograd and training on webgpu', () => {
  const x = randn([16, 12]);
  const labels = randint(0, 4, [16]);
  const targets = randn([16, 4]);

  it('an MLP with crossEntropy: the same loss and gradients as on the CPU, with no fallback', async () => {
    resetWebGPUFallbacks();
    const [cpu, gpu] = pair([12, 20, 10, 4]);
    const lc = F.crossEntropy(cpu.call(x), labels);
    const lg = F.crossEntropy(gpu.call(x.to('webgpu')), labels.to('webgpu'));
    expect(Math.abs((await lg.itemAsync()) - lc.item())).toBeLessThan(1e-5);
    lc.backward();
    lg.backward();
    await sameGrads(cpu, gpu);
    expect(webgpuFallbacks()).toEqual({});
  });

  it('an MLP with MSE (tanh and sigmoid too): the same loss and gradients', async () => {
    resetWebGPUFallbacks();
    const [cpu, gpu] = pair([12, 8, 4]);
    const run = (net: nn.Sequential, input: Tensor, y: Tensor): Tensor => F.mseLoss(net.call(input).tanh().add(net.call(input).sigmoid()), y);
    const lc = run(cpu, x, targets);
    const lg = run(gpu, x.to('webgpu'), targets.to('webgpu'));
    expect(Math.abs((await lg.itemAsync()) - lc.item())).toBeLessThan(1e-5);
    lc.backward();
    lg.backward();
    await sameGrads(cpu, gpu);
    expect(webgpuFallbacks()).toEqual({});
  });

  it('SGD with momentum and weight decay: five steps give the same parameters', async () => {
    resetWebGPUFallbacks();
    const [cpu, gpu] = pair([12, 16, 4]);
    const oc = new optim.SGD(cpu.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 1e-3 });
    const og = new optim.SGD(gpu.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 1e-3 });
    const xg = x.to('webgpu');
    const tg = labels.to('webgpu');
    const losses: number[][] = [[], []];
    for (let step = 0; step < 5; step++) {
      oc.zeroGrad();
      og.zeroGrad();
      const lc = F.crossEntropy(cpu.call(x), labels);
      const lg = F.crossEntropy(gpu.call(xg), tg);
      lc.backward();
      lg.backward();
      oc.step();
      og.step();
      losses[0]!.push(lc.item());
      losses[1]!.push(lg as unknown as number);
    }
    const gpuLosses = await Promise.all((losses[1] as unknown as Tensor[]).map((l) => l.itemAsync()));
    for (let i = 0; i < 5; i++) expect(Math.abs(gpuLosses[i]! - losses[0]![i]!)).toBeLessThan(1e-5);
    expect(gpuLosses[4]!).toBeLessThan(gpuLosses[0]!);
    const a = cpu.parameters();
    const b = gpu.parameters();
    for (let i = 0; i < a.length; i++) await expectClose(b[i]!, a[i]!, 1e-5, 1e-5);
    expect(webgpuFallbacks()).toEqual({});
  });

  for (const [name, make] of [
    ['Adam', (ps: Tensor[]) => new optim.Adam(ps, { lr: 0.01, weightDecay: 1e-2 })],
    ['Adam amsgrad maximize', (ps: Tensor[]) => new optim.Adam(ps, { lr: 0.01, amsgrad: true, maximize: true })],
    ['AdamW', (ps: Tensor[]) => new optim.AdamW(ps, { lr: 0.01, weightDecay: 0.1 })],
  ] as const) {
    it(`${name}: four steps give the same parameters as on the CPU`, async () => {
      resetWebGPUFallbacks();
      const [cpu, gpu] = pair([12, 16, 4]);
      const oc = make(cpu.parameters());
      const og = make(gpu.parameters());
      const xg = x.to('webgpu');
      const tg = labels.to('webgpu');
      for (let step = 0; step < 4; step++) {
        for (const [net, opt, input, t] of [[cpu, oc, x, labels], [gpu, og, xg, tg]] as const) {
          opt.zeroGrad();
          F.crossEntropy(net.call(input), t).backward();
          opt.step();
        }
      }
      const a = cpu.parameters();
      const b = gpu.parameters();
      for (let i = 0; i < a.length; i++) await expectClose(b[i]!, a[i]!, 1e-5, 1e-6);
      expect(webgpuFallbacks()).toEqual({});
    });
  }

  it('a training loop reuses pooled GPU buffers instead of creating new ones each step', async () => {
    const [, gpu] = pair([12, 16, 4]);
    const opt = new optim.SGD(gpu.parameters(), { lr: 0.05 });
    const xg = x.to('webgpu');
    const tg = labels.to('webgpu');
    const step = (): Tensor => {
      opt.zeroGrad();
      const loss = F.crossEntropy(gpu.call(xg), tg);
      loss.backward();
      opt.step();
      return loss;
    };
    for (let i = 0; i < 5; i++) step();
    await step().itemAsync();
    const before = webgpuMemory().created;
    for (let i = 0; i < 20; i++) step();
    await step().itemAsync();
    const after = webgpuMemory().created;
    // Without collection between steps the pool cannot refill, so allow some growth, but far
    // below the ~60 buffers a step would create without any reuse.
    expect(after - before).toBeLessThan(21 * 60);
    expect(webgpuMemory().liveBytes).toBeGreaterThan(0);
  });
});

describe.skipIf(unavailable !== null)('the device API', () => {
  it('x.device, to(), cpu(), creation { device }, the default device, *Like keep the device', async () => {
    const x = tensor([[1, 2], [3, 4]]);
    expect(x.device).toBe('cpu');
    const y = x.to('webgpu');
    expect(y.device).toBe('webgpu');
    expect(y.to('webgpu')).toBe(y);
    expect(y.cpu().toArray()).toEqual([[1, 2], [3, 4]]); // uploaded values: the host still has them
    expect(await y.mul(2).toArrayAsync()).toEqual([[2, 4], [6, 8]]);
    expect((await y.mul(2).cpuAsync()).toArray()).toEqual([[2, 4], [6, 8]]);
    const z = zeros([3], { device: 'webgpu' });
    expect(z.device).toBe('webgpu');
    expect(zerosLike(z).device).toBe('webgpu');
    expect(randn([2], { device: 'webgpu', requiresGrad: true }).requiresGrad).toBe(true);
    expect(getDefaultDevice()).toBe('cpu');
    const previous = setDefaultDevice('webgpu');
    try {
      expect(tensor([1, 2]).device).toBe('webgpu');
    } finally {
      setDefaultDevice(previous);
    }
    expect(tensor([1, 2]).device).toBe('cpu');
    expect(await tensor([true, false]).to('webgpu').toArrayAsync()).toEqual([true, false]);
    expect(await tensor([3.5]).to('webgpu').itemAsync()).toBe(3.5);
  });

  it('synchronous reads of GPU-computed values throw an error naming the async method; toString says where it is', () => {
    const y = tensor([1, 2, 3]).to('webgpu').mul(2);
    expect(() => y.sum().item()).toThrow(DeviceError);
    expect(() => y.sum().item()).toThrow(/item: .*lives on webgpu.*await x\.itemAsync\(\)/);
    expect(() => y.toArray()).toThrow(/await x\.toArrayAsync\(\)/);
    expect(() => y.typedData).toThrow(/await x\.dataAsync\(\)/);
    expect(() => y.cpu()).toThrow(/await x\.cpuAsync\(\)/);
    expect(String(y)).toBe("tensor(<on webgpu>, shape=[3], dtype=float32, device='webgpu')");
  });

  it('inputs on two devices are an error naming both; 0-d host scalars are allowed', async () => {
    const a = randn([2, 3]).to('webgpu');
    const b = randn([2, 3]);
    expect(() => a.add(b)).toThrow(DeviceError);
    expect(() => a.add(b)).toThrow(/add: expected all tensors to be on the same device, but input 0 \(shape \[2,3\]\) is on webgpu and input 1 \(shape \[2,3\]\) is on cpu/);
    expect(() => b.matmul(a.t())).toThrow(/matmul: .*on cpu.*on webgpu/);
    expect(await a.mul(tensor(2)).sub(a).sub(a).abs().sum().itemAsync()).toBe(0);
  });

  it('float64 is refused on the GPU; moving a tensor with history is an error', () => {
    expect(() => randn([2], { dtype: 'float64' }).to('webgpu')).toThrow(/float64 is not supported|dtype float64 is not supported/);
    const w = randn([2]).requiresGrad_();
    expect(() => w.mul(2).to('webgpu')).toThrow(AutogradError);
  });
});
