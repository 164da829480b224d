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

export default defineConfig({
  test: {
    testTimeout: 60_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'auto', include: ['test/**/*.test.ts'] } },
      onBackend('reference'),
      onBackend('wasm'),
      ...(nativeBuilt && !nativeOff ? [onBackend('native')] : []),
    ],
  },
});
