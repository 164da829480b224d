import { afterEach, beforeEach, type TestContext } from 'vitest';
import { initWebGPU, webgpuCheckResults } from '../../src/backend/webgpu/index.js';
import { WebGpuDevice } from '../../src/backend/webgpu/device.js';
import './setup.js';

/**
 * The setup of the 'webgpu' project (vitest.config.ts): the op, layer, optimizer and autograd
 * suites with 'webgpu' as the default device, so that their tensors are made on the GPU and every
 * op with a WebGPU kernel runs there. The suites read values synchronously (item(), toArray(),
 * .data), which GPU memory cannot do, so the device runs in its checking mode: each op the GPU
 * computes is computed on the host as well, the host's values are what the synchronous reads see,
 * and after each test every GPU result of it is compared with the host's (float32 rounding). A
 * test thus fails when its own assertions fail or when a GPU kernel disagreed with the host.
 *
 * WGSL has no 64-bit floats, so a test that puts a float64 tensor on the device (the float64
 * fixtures and gradchecks) is skipped at that point, with that reason.
 */
await initWebGPU({ setDefault: true, check: true });

let running: TestContext | null = null;
beforeEach((context) => {
  running = context;
});

const upload = WebGpuDevice.prototype.upload;
WebGpuDevice.prototype.upload = function (this: WebGpuDevice, array, dtype) {
  if (dtype === 'float64' && running !== null) running.skip('float64: WGSL has no 64-bit floats (host-only on webgpu)');
  return upload.call(this, array, dtype);
};

afterEach(async () => {
  running = null;
  const bad = await webgpuCheckResults();
  if (bad.length > 0) {
    throw new Error(`${bad.length} GPU result(s) differ from the host's:\n  ${bad.slice(0, 10).join('\n  ')}`);
  }
});
