import { describe, expect, it } from 'vitest';
import { parseEnv } from '../../src/backend/env.js';
import { loadAddon } from '../../src/backend/native/index.js';
import { initBackend, selectBackendSync } from '../../src/backend/select.js';

describe('initBackend', () => {
  it('returns the backend asked for', async () => {
    expect((await initBackend('reference')).name).toBe('reference');
    expect((await initBackend('wasm')).name).toMatch(/^wasm/);
  });

  it('prefers native, then wasm, when left to choose', async () => {
    const name = (await initBackend('auto', parseEnv({}))).name;
    expect(name).toMatch(loadAddon() ? /^native/ : /^wasm/);
  });

  it('honours CHAINRULE_BACKEND and CHAINRULE_NATIVE=0', async () => {
    expect((await initBackend('auto', parseEnv({ CHAINRULE_BACKEND: 'reference' }))).name).toBe('reference');
    expect((await initBackend('auto', parseEnv({ CHAINRULE_BACKEND: 'wasm' }))).name).toMatch(/^wasm/);
    expect((await initBackend('auto', parseEnv({ CHAINRULE_BACKEND: 'native', CHAINRULE_NATIVE: '0' }))).name).toMatch(/^wasm/);
    expect(selectBackendSync('auto', parseEnv({ CHAINRULE_BACKEND: 'reference' })).name).toBe('reference');
  });

  it('an explicit choice wins over the environment', async () => {
    expect((await initBackend('reference', parseEnv({ CHAINRULE_BACKEND: 'wasm' }))).name).toBe('reference');
  });
});

describe('parseEnv', () => {
  it('reads every setting, with defaults for unset and malformed values', () => {
    expect(parseEnv({})).toEqual({
      backend: undefined, native: true, nativeThreads: undefined, thresholds: true, wasmThreads: undefined, wasmSpin: 50_000, wasmRelaxed: true,
    });
    expect(parseEnv({
      CHAINRULE_BACKEND: 'native', CHAINRULE_NATIVE: '0', CHAINRULE_NATIVE_THREADS: '3', CHAINRULE_KERNEL_THRESHOLDS: '0',
      CHAINRULE_WASM_THREADS: '1', CHAINRULE_WASM_SPIN: '10', CHAINRULE_WASM_RELAXED: '0',
    })).toEqual({ backend: 'native', native: false, nativeThreads: 3, thresholds: false, wasmThreads: 1, wasmSpin: 10, wasmRelaxed: false });
    const odd = parseEnv({ CHAINRULE_BACKEND: 'gpu', CHAINRULE_NATIVE_THREADS: '0', CHAINRULE_WASM_THREADS: 'two', CHAINRULE_WASM_SPIN: '-5' });
    expect([odd.backend, odd.nativeThreads, odd.wasmThreads, odd.wasmSpin]).toEqual([undefined, undefined, undefined, 50_000]);
  });
});
