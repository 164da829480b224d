import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

/**
 * Every test runs once on the backend chainrule picks by itself (native addon > WebAssembly >
 * reference). The op, layer, optimizer and autograd suites then run again on each other
 * backend, with the small-size thresholds off (CHAINRULE_KERNEL_THRESHOLDS=0) so that even
 * their tiny tensors go through the fast kernels — one spec for all backends, as TF.js does.
 */
const suites = ['test/ops/**/*.test.ts', 'test/nn/**/*.test.ts', 'test/optim/**/*.test.ts', 'test/autograd/**/*.test.ts'];
const nativeBuilt = existsSync(new URL('./native/build/Release/chainrule_native.node', import.meta.url));
const nativeOff = process.env.CHAINRULE_NATIVE === '0';

function onBackend(name: 'reference' | 'wasm' | 'native') {
  return {
    extends: true as const,
    test: {
      name,
      include: suites,
      env: { CHAINRULE_BACKEND: name, CHAINRULE_KERNEL_THRESHOLDS: '0' },
    },
  };
}

/**
 * The same suites on the WebGPU device (test/webgpu/suites-setup.ts: 'webgpu' the default device,
 * each GPU result checked against the host's), where Dawn can run: a GPU, or SwiftShader's ICD
 * from Debian's chromium. SwiftShader is slow, so CI runs the files of WEBGPU_SUITES, a subset
 * that keeps the project to a few minutes; CHAINRULE_WEBGPU_SUITES=all runs every suite file.
 */
const WEBGPU_SUITES = [
  'test/ops/pytorch.test.ts',
  'test/nn/layers-fixtures.test.ts',
  'test/nn/losses-fixtures.test.ts',
  'test/optim/optimizers.test.ts',
  'test/autograd/semantics.test.ts',
];
const webgpuUsable =
  process.env.CHAINRULE_WEBGPU_SUITES !== '0' &&
  existsSync(new URL('./node_modules/webgpu/package.json', import.meta.url)) &&
  (process.env.VK_ICD_FILENAMES !== undefined || existsSync('/usr/lib/chromium/vk_swiftshader_icd.json'));

export default defineConfig({
  test: {
    testTimeout: 60_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'auto', include: ['test/**/*.test.ts'] } },
      onBackend('reference'),
      onBackend('wasm'),
      ...(nativeBuilt && !nativeOff ? [onBackend('native')] : []),
      ...(webgpuUsable
        ? [{
            extends: true as const,
            test: {
              name: 'webgpu',
              include: process.env.CHAINRULE_WEBGPU_SUITES === 'all' ? suites : WEBGPU_SUITES,
              setupFiles: ['test/webgpu/suites-setup.ts'],
            },
          }]
        : []),
    ],
  },
});
