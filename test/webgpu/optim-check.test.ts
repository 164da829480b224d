import { describe, expect, it } from 'vitest';
import { manualSeed, optim, randn, type Tensor } from '../../src/index.js';
import { initWebGPU, webgpuCheckResults } from '../../src/backend/webgpu/index.js';
import { existsSync } from 'node:fs';

/**
 * The fused optimizer updates in the checking mode (what the webgpu suites run in): the host's
 * step runs on the host copies too, so synchronous reads of the parameters and state work after
 * a GPU step and give the host's values, and the GPU's agree with them.
 */
// Opened here in the checking mode only (not through ./setup.js, which opens a plain device
// first): a second device left open beside the first one crashed the worker at exit once in CI.
const ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (process.env.VK_ICD_FILENAMES === undefined && existsSync(ICD)) process.env.VK_ICD_FILENAMES = ICD;
const unavailable: string | null = await initWebGPU({ check: true }).then(
  () => null,
  (e: Error) => `WebGPU suite skipped: ${e.message}`,
);

describe.skipIf(unavailable !== null)('fused optimizer updates in the checking mode', () => {
  it('Adam (amsgrad), AdamW and SGD (nesterov): synchronous reads after the steps, GPU results equal to the host', async () => {
    const makers: ((ps: Tensor[]) => optim.Optimizer)[] = [
      (ps) => new optim.Adam(ps, { lr: 1e-2, amsgrad: true, weightDecay: 0.1 }),
      (ps) => new optim.AdamW(ps, { lr: 1e-2 }),
      (ps) => new optim.SGD(ps, { lr: 0.1, momentum: 0.9, nesterov: true }),
    ];
    for (const make of makers) {
      manualSeed(4);
      const cpu = randn([6, 9]).requiresGrad_();
      const gpu = cpu.detach().to('webgpu').requiresGrad_();
      const oc = make([cpu]);
      const og = make([gpu]);
      for (let step = 0; step < 4; step++) {
        const grad = randn([6, 9]);
        cpu.grad = grad;
        gpu.grad = grad.to('webgpu');
        oc.step();
        og.step();
        expect(gpu.device).toBe('webgpu');
        // The host copy is the host kernel's result on the same inputs: equal to the CPU's.
        expect(Array.from(gpu.detach().dataSync())).toEqual(Array.from(cpu.detach().dataSync()));
      }
      expect(await webgpuCheckResults()).toEqual([]);
    }
  });
});
