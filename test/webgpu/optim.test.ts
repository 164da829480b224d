import { afterEach, describe, expect, it, vi } from 'vitest';
import { manualSeed, optim, randn, type Tensor } from '../../src/index.js';
import { resetWebGPUFallbacks, webgpuFallbacks } from '../../src/backend/webgpu/index.js';
import { WebGpuDevice } from '../../src/backend/webgpu/device.js';
import { expectClose, unavailable } from './setup.js';

/**
 * The fused optimizer updates (one WGSL dispatch per parameter) against the CPU's adamStep /
 * sgdStep kernels: the same parameters and state after several steps from the same gradients.
 */
type Make = (ps: Tensor[]) => optim.Optimizer;

async function compare(make: Make, steps = 5): Promise<void> {
  manualSeed(9);
  const shapes = [[7, 5], [300]];
  const cpu = shapes.map((s) => randn(s).requiresGrad_());
  const gpu = cpu.map((p) => p.detach().to('webgpu').requiresGrad_());
  const oc = make(cpu);
  const og = make(gpu);
  for (let step = 0; step < steps; step++) {
    cpu.forEach((p, i) => {
      const grad = randn(p.shape);
      p.grad = grad;
      gpu[i]!.grad = grad.to('webgpu');
    });
    oc.step();
    og.step();
  }
  for (let i = 0; i < cpu.length; i++) await expectClose(gpu[i]!.detach(), cpu[i]!.detach(), 1e-5, 1e-6, `parameter ${i}`);
  // The state too (moments, momentum buffers).
  for (let i = 0; i < cpu.length; i++) {
    const sc = oc.state.get(cpu[i]!) as Record<string, unknown> | undefined;
    const sg = og.state.get(gpu[i]!) as Record<string, unknown> | undefined;
    expect(sg === undefined).toBe(sc === undefined);
    for (const [k, v] of Object.entries(sc ?? {})) {
      if (typeof v === 'number') expect(sg![k]).toBe(v);
      else await expectClose(sg![k] as Tensor, v as Tensor, 1e-5, 1e-7, `state ${k} of parameter ${i}`);
    }
  }
}

describe.skipIf(unavailable !== null)('webgpu fused optimizer updates match the CPU kernels', () => {
  afterEach(() => vi.restoreAllMocks());

  it('Adam (plain, weight decay, amsgrad, maximize) and AdamW: one adamStep dispatch per parameter', async () => {
    const fused = vi.spyOn(WebGpuDevice.prototype, 'adamStep');
    resetWebGPUFallbacks();
    await compare((ps) => new optim.Adam(ps, { lr: 1e-2 }));
    await compare((ps) => new optim.Adam(ps, { lr: 1e-2, weightDecay: 0.1, amsgrad: true }));
    await compare((ps) => new optim.Adam(ps, { lr: 3e-3, betas: [0.8, 0.99], eps: 1e-6, maximize: true }));
    await compare((ps) => new optim.AdamW(ps, { lr: 1e-2, weightDecay: 0.05 }));
    await compare((ps) => new optim.AdamW(ps, { lr: 1e-2, weightDecay: 0.05, amsgrad: true }));
    expect(fused).toHaveBeenCalledTimes(5 * 5 * 2);
    for (const r of fused.mock.results) expect(r.value).toBe(true);
    expect(webgpuFallbacks()).toEqual({});
  });

  it('SGD (plain, momentum with dampening and weight decay, nesterov, maximize): one sgdStep dispatch per parameter', async () => {
    const fused = vi.spyOn(WebGpuDevice.prototype, 'sgdStep');
    resetWebGPUFallbacks();
    await compare((ps) => new optim.SGD(ps, { lr: 0.1 }));
    await compare((ps) => new optim.SGD(ps, { lr: 0.05, weightDecay: 0.01 }));
    await compare((ps) => new optim.SGD(ps, { lr: 0.05, momentum: 0.9, dampening: 0.3, weightDecay: 0.01 }));
    await compare((ps) => new optim.SGD(ps, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3 }));
    await compare((ps) => new optim.SGD(ps, { lr: 0.05, momentum: 0.5, maximize: true }));
    expect(fused).toHaveBeenCalledTimes(5 * 5 * 2);
    for (const r of fused.mock.results) expect(r.value).toBe(true);
    expect(webgpuFallbacks()).toEqual({});
  });
});
